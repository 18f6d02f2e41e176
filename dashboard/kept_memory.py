"""The cluster memory every session keeps data in, so that one cannot take it all.

Explore keeps a view's columns in the cluster's memory for quick zooms. Each frame is
capped on its own (``explore.persist-fraction``); this ledger caps them together
(``explore.persist-total-fraction``): a session past it reads from the source instead,
and is told why. Counted as rows x columns x 8 bytes; two sessions keeping the same
columns are counted twice (Dask stores them once), which errs on the closed side.
"""
from __future__ import annotations

from weakref import WeakKeyDictionary


class KeptMemory:
    """Bytes held per owner (a view); an owner that is garbage collected holds none."""

    def __init__(self):
        self._held: WeakKeyDictionary = WeakKeyDictionary()

    def hold(self, owner, nbytes: int, memory: int, fraction: float) -> bool:
        """Hold ``nbytes`` for ``owner`` (replacing what it held) if every owner's
        bytes together stay within ``fraction`` of ``memory``; else hold nothing new."""
        others = sum(held for who, held in self._held.items() if who is not owner)
        if memory <= 0 or fraction <= 0 or others + nbytes > memory * fraction:
            return False
        self._held[owner] = nbytes
        return True

    def release(self, owner) -> None:
        self._held.pop(owner, None)

    def total(self) -> int:
        return sum(self._held.values())


KEPT = KeptMemory()
