"""Defining actors: the `Actor` base class and the `action` decorator."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any
from typing import TypeVar
from typing import overload

__all__ = ['ActionInfo', 'Actor', 'action']

F = TypeVar('F', bound=Callable[..., Any])

_ACTION = '__proxystore_action__'


class ActionInfo:
    """What `action` records on a method.

    Attributes:
        name: The action's name (the method's).
        concurrent: Whether calls of it may run while other actions run
            (default: one action at a time, in mailbox order).
        is_async: Whether the method is a coroutine function.
    """

    __slots__ = ('concurrent', 'is_async', 'name')

    def __init__(self, name: str, concurrent: bool, is_async: bool) -> None:
        self.name = name
        self.concurrent = concurrent
        self.is_async = is_async


@overload
def action(method: F, /) -> F: ...


@overload
def action(*, concurrent: bool = False) -> Callable[[F], F]: ...


def action(
    method: F | None = None, /, *, concurrent: bool = False
) -> F | Callable[[F], F]:
    """Mark a method of an `Actor` as an action other processes may call.

    Sync and async methods both work. Actions of one actor run one at a time,
    in the order their calls reached the mailbox, unless marked
    ``concurrent=True`` (then a call starts at once, beside the others; the
    method must then guard the state it shares).
    """

    def mark(function: F) -> F:
        if not callable(function):
            raise TypeError(f'@action decorates methods, not {type(function).__name__}')
        info = ActionInfo(
            function.__name__, concurrent, inspect.iscoroutinefunction(function)
        )
        setattr(function, _ACTION, info)
        return function

    return mark(method) if method is not None else mark


class Actor:
    """Base class of actors: state and the actions that change it.

    Subclasses define actions with `action`; ``on_start`` and ``on_stop`` run
    in the host before the first and after the last action. An actor's
    methods run in its host; callers hold an `ActorHandle`.
    """

    def on_start(self) -> None:
        """Called in the host before the first action (override)."""

    def on_stop(self) -> None:
        """Called in the host after the last action (override)."""

    @classmethod
    def actions(cls) -> dict[str, ActionInfo]:
        """The actions of this class, by name."""
        found: dict[str, ActionInfo] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                info = getattr(value, _ACTION, None)
                if isinstance(info, ActionInfo):
                    found[name] = info
                elif name in found:  # overridden without @action
                    del found[name]
        return found

    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """Each action's signature (without ``self``), docstring and mode."""
        described = {}
        for name, info in sorted(cls.actions().items()):
            method = getattr(cls, name)
            try:  # annotations as objects, not the strings of postponed ones
                signature = inspect.signature(method, eval_str=True)
            except Exception:  # a name only known under TYPE_CHECKING
                signature = inspect.signature(method)
            parameters = list(signature.parameters.values())[1:]
            described[name] = {
                'signature': str(signature.replace(parameters=parameters)),
                'doc': inspect.getdoc(method) or '',
                'concurrent': info.concurrent,
                'async': info.is_async,
            }
        return described
