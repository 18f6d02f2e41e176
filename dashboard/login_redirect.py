"""Panel's login pages under ``--prefix``.

Outside a session, Panel's auth handlers send the user to ``state.base_url``: after a
wrong password (the retry has no ``next`` page), when ``/login`` is opened directly,
and in the OAuth ``redirect_uri``. That base is ``/`` unless ``--root-path`` is given,
so under ``--prefix /team/wb`` a user who logs in lands on a 404 outside the app.
Setting the process-wide base to the prefix (as ``--root-path`` does) sends them back
to the app. Each session still gets its own base from its request.
"""
from __future__ import annotations

import argparse

from panel.io.state import state
from panel.util import edit_readonly


def argument_from_argv(argv: list[str], option: str) -> str | None:
    """The value of ``option`` (``--prefix``...) on a ``panel serve`` command line, if any."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(option, dest="value")
    args, _ = parser.parse_known_args(argv)
    return args.value


def use_prefix_for_login(prefix: str | None) -> None:
    """Make ``/<prefix>/`` where Panel's login sends users; ``--root-path`` wins if given."""
    prefix = (prefix or "").strip("/")
    if not prefix or state.base_url != "/":  # called at start-up: no session yet
        return
    with edit_readonly(state):
        state.base_url = f"/{prefix}/"
