"""Task functions that reach the workers as code, not as a name to import.

A cluster's workers need not have this package (Coiled, a plain ``dask worker`` image).
``cloudpickle.register_pickle_by_value`` alone does not get a function there:
distributed pickles a graph with plain pickle, which names the function's module, and
turns to cloudpickle only for ``__main__``. ``ByValue`` pickles as
``cloudpickle.loads(<the function by value>)``, so the worker rebuilds the function
from its code with nothing of this package imported.
"""
from __future__ import annotations

from collections.abc import Callable

import cloudpickle


class ByValue:
    """``function``, callable as it is, that pickles by value (its module must be
    registered with ``cloudpickle.register_pickle_by_value``)."""

    __slots__ = ("function", "__name__", "_payload")

    def __init__(self, function: Callable):
        self.function = function
        self.__name__ = function.__name__  # dask names tasks after it
        self._payload: bytes | None = None

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __reduce__(self):
        if self._payload is None:  # once per process: the code does not change
            self._payload = cloudpickle.dumps(self.function)
        return cloudpickle.loads, (self._payload,)

    def __dask_tokenize__(self):
        return ByValue.__name__, self.function.__module__, self.function.__qualname__

    def __repr__(self) -> str:
        return f"ByValue({self.function.__qualname__})"
