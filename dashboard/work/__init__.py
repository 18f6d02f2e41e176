"""What each tab's job does: the lazy results of ``compute`` run through a job's context.

``compute`` builds plain Dask graphs (no client, no job, no Panel): a notebook
calls ``.compute()`` on them. Here those graphs go through the session's one job
path (``JobContext``): live progress, Cancel, results brought back within bounds.
"""
