"""Task functions that reach the workers as code, not as a name to import.

A cluster's workers need not have this package (Coiled, a plain ``dask worker`` image).
``cloudpickle.register_pickle_by_value`` alone does not get a function there:
distributed pickles a graph with plain pickle, which names the function's module, and
turns to cloudpickle only for ``__main__``. ``ByValue`` pickles as
``cloudpickle.loads(<the function by value>)``, so the worker rebuilds the function
from its code with nothing of this package imported.

What is rebuilt is a ``ByValue`` again, holding the same bytes: the scheduler pickles
each task once more to send it to a worker, and a bare rebuilt function would be
pickled anew by cloudpickle there (7-20 ms for the Arrow group-by's, on every Run).
"""
from __future__ import annotations

import sys
from collections.abc import Callable

import cloudpickle


class ByValue:
    """``function``, callable as it is, that pickles by value (its module must be
    registered with ``cloudpickle.register_pickle_by_value``). Make one per function,
    at import: the code is pickled once per instance."""

    __slots__ = ("function", "__name__", "_payload")

    def __init__(self, function: Callable):
        self.function = function
        self.__name__ = function.__name__  # dask names tasks after it
        self._payload: bytes | None = None

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __reduce__(self):
        if self._payload is None:  # once: the code does not change
            self._payload = cloudpickle.dumps(_Build(type(self), self.function))
        # The state hands the rebuilt ByValue its bytes (pickle writes them once).
        return cloudpickle.loads, (self._payload,), (None, {"_payload": self._payload})

    def __dask_tokenize__(self):
        return ByValue.__name__, self.function.__module__, self.function.__qualname__

    def __repr__(self) -> str:
        return f"ByValue({self.function.__qualname__})"


class _Build:
    """Pickles as the call ``cls(function)``: both by value (this module is registered)."""

    def __init__(self, cls: type, function: Callable):
        self.cls, self.function = cls, function

    def __reduce__(self):
        return self.cls, (self.function,)


cloudpickle.register_pickle_by_value(sys.modules[__name__])
