"""One login's share of a hosted server, across all of its tabs.

Each session has its own caps (one job of each kind, its panes), but one user can open
many tabs: on two cores, one user running the biggest queries in several tabs at once
took four times a neighbour's share (the neighbours benchmark, figure 10). When hosted,
a login gets at most ``jobs.max-running-per-user`` runs going at once and
``login.max-pages-per-user`` pages open, whichever tabs they are in; past that, a
sentence. Counted per server process; sessions without a login are not counted here
(without a login there is no one to count them against).
"""
from __future__ import annotations

from collections import Counter

from . import config


class Share:
    """How many of something each user holds now, against a limit read when asked."""

    def __init__(self, setting: str) -> None:
        self.setting = setting
        self._held: Counter[str] = Counter()

    def limit(self) -> int | None:
        """The limit; None where nothing is counted (not hosted, or no limit set)."""
        value = config.get(self.setting) if config.hosted() else None
        return None if value is None else int(value)

    def take(self, user: str | None) -> bool:
        """Hold one more for ``user``, if within the limit (always, where not counted)."""
        limit = self.limit()
        if user is None or limit is None:
            return True
        if self._held[user] >= limit:
            return False
        self._held[user] += 1
        return True

    def give_back(self, user: str | None) -> None:
        if user is not None and self._held[user] > 0:
            self._held[user] -= 1
            if not self._held[user]:
                del self._held[user]


RUNS = Share("jobs.max-running-per-user")
PAGES = Share("login.max-pages-per-user")


def runs_refused() -> str:
    return (f"You have {_count(RUNS.limit(), 'run')} going already, in this tab or your "
            "others: this server lets each user run that many at once so that everyone "
            "gets a share. Wait for one to end, or cancel one, then run again.")


def pages_refused() -> str:
    return (f"You have {_count(PAGES.limit(), 'page')} of the Workbench open already: this "
            "server lets each user open that many at once. Close one of them, then reload "
            "this page.")


def _count(n: int | None, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
