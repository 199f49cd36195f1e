"""Factories: callables that produce the target of a `proxystore.proxy.Proxy`.

Any callable without arguments can be a proxy's factory. The classes here name the
common cases and are picklable when their contents are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import Generic
from typing import TypeVar

__all__ = ['Factory', 'LambdaFactory', 'SimpleFactory']

T = TypeVar('T')


class Factory(Generic[T]):
    """Base of the factory classes: calling a factory returns `resolve()`.

    Subclasses implement ``__init__`` and `resolve`.
    """

    def __init__(self) -> None:
        raise NotImplementedError

    def __call__(self) -> T:
        """Produce the target object (calls `resolve`)."""
        return self.resolve()

    def resolve(self) -> T:
        """Produce the target object."""
        raise NotImplementedError


class SimpleFactory(Factory[T]):
    """Factory that holds the object itself (so pickling it pickles the object).

    Args:
        obj: The object to return.
    """

    def __init__(self, obj: T) -> None:
        self._obj = obj

    def resolve(self) -> T:
        """Return the held object."""
        return self._obj


class LambdaFactory(Factory[T]):
    """Factory that calls a function with fixed arguments on every resolve.

    Args:
        target: The function that produces the object.
        args: Positional arguments for ``target``.
        kwargs: Keyword arguments for ``target``.

    Raises:
        TypeError: If ``target`` is not callable.
    """

    def __init__(self, target: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        if not callable(target):
            name = type(target).__name__
            raise TypeError(f'LambdaFactory target must be callable, not {name!r}.')
        self._target = target
        self._args = args
        self._kwargs = kwargs

    def resolve(self) -> T:
        """Call the function and return its result."""
        return self._target(*self._args, **self._kwargs)
