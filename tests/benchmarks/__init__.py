"""Benchmarks (issue #8): measured figures, each beside an anchor measured in the same run.

``python -m tests.benchmarks [--size tiny|default|large] [--only NAME ...] [--out FILE]``
writes a Markdown table (``tests/artifacts/benchmarks.md`` by default) and prints it.
One module per figure group; each drives the app's own code paths (the views and
compute modules) against a real cluster, never a copy of them. Nothing here asserts
a time: ``test_benchmarks_run.py`` only checks that the tiny size runs and reports.
"""
