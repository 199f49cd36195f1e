"""Defining actors: the `Actor` base class and the `action` decorator."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any
from typing import ClassVar
from typing import TypeVar
from typing import overload

__all__ = ['ActionInfo', 'Actor', 'action']

F = TypeVar('F', bound=Callable[..., Any])

_ACTION = '__proxystore_action__'
_SCHEDULE = '__proxystore_schedule__'


class ActionInfo:
    """What `action` records on a method.

    Attributes:
        name: The action's name (the method's).
        concurrent: Whether calls of it may run while other actions run
            (default: one action at a time, in mailbox order).
        is_async: Whether the method is a coroutine function.
        group: The concurrency group whose limit its calls share, if any.
    """

    __slots__ = ('concurrent', 'group', 'is_async', 'name')

    def __init__(
        self, name: str, concurrent: bool, is_async: bool, group: str | None = None
    ) -> None:
        self.name = name
        self.concurrent = concurrent or group is not None
        self.is_async = is_async
        self.group = group


@overload
def action(method: F, /) -> F: ...


@overload
def action(
    *, concurrent: bool = False, group: str | None = None
) -> Callable[[F], F]: ...


def action(
    method: F | None = None,
    /,
    *,
    concurrent: bool = False,
    group: str | None = None,
) -> F | Callable[[F], F]:
    """Mark a method of an `Actor` as an action other processes may call.

    Sync and async methods both work. Actions of one actor run one at a time,
    in the order their calls reached the mailbox, unless marked
    ``concurrent=True`` (then a call starts at once, beside the others; the
    method must then guard the state it shares) or given a ``group``: calls of
    the actions of one group run beside the others, at most the group's limit
    at once (`Actor.concurrency_groups`).

    Raises:
        TypeError: If what is decorated is not callable.
        ValueError: If both ``concurrent`` and ``group`` are given, or the
            group's name is empty.
    """
    if group is not None and (concurrent or not isinstance(group, str) or not group):
        raise ValueError(
            'An action is concurrent=True (no limit) or in a named group '
            f'(its limit), not both; group={group!r}'
        )

    def mark(function: F) -> F:
        if not callable(function):
            raise TypeError(f'@action decorates methods, not {type(function).__name__}')
        info = ActionInfo(
            function.__name__,
            concurrent,
            inspect.iscoroutinefunction(function),
            group,
        )
        setattr(function, _ACTION, info)
        return function

    return mark(method) if method is not None else mark


class _Schedule:
    """What `loop` and `timer` record on a method."""

    __slots__ = ('interval', 'name')

    def __init__(self, name: str, interval: float | None) -> None:
        self.name = name
        self.interval = interval


def loop(method: F) -> F:
    """Run an async method of an `Actor` from start to stop, beside its actions.

    The method takes no arguments; it is cancelled when the actor stops.

    Raises:
        TypeError: If the method is not a coroutine function.
    """
    if not inspect.iscoroutinefunction(method):
        raise TypeError(f'@loop runs async methods; {method.__name__} is not one')
    setattr(method, _SCHEDULE, _Schedule(method.__name__, None))
    return method


def timer(seconds: float) -> Callable[[F], F]:
    """Call a method of an `Actor` every ``seconds``, in turn with its actions.

    The method (sync or async) takes no arguments. Each tick waits in the
    actor's queue like a call, so it never runs beside a sequential action.

    Raises:
        ValueError: If ``seconds`` is not positive.
    """
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError(
            f'A timer interval is a positive number of seconds: {seconds!r}'
        )

    def mark(method: F) -> F:
        setattr(method, _SCHEDULE, _Schedule(method.__name__, float(seconds)))
        return method

    return mark


class Actor:
    """Base class of actors: state and the actions that change it.

    Subclasses define actions with `action`; ``on_start`` and ``on_stop`` run
    in the host before the first and after the last action. An actor's
    methods run in its host; callers hold an `ActorHandle`.
    """

    concurrency_groups: ClassVar[dict[str, int]] = {}
    """The limit of each concurrency group of the actions (`action`'s ``group``)."""

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
    def schedules(cls) -> dict[str, float | None]:
        """The `loop` methods (``None``) and `timer` methods (their interval)."""
        found: dict[str, float | None] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                schedule = getattr(value, _SCHEDULE, None)
                if isinstance(schedule, _Schedule):
                    found[name] = schedule.interval
                elif name in found:
                    del found[name]
        return found

    @classmethod
    def check(cls) -> None:
        """Check the class's declarations (done before it is spawned).

        Raises:
            ValueError: If an action names a group without a limit, or a limit
                is not a positive integer.
        """
        for name, limit in cls.concurrency_groups.items():
            if not isinstance(limit, int) or limit < 1:
                raise ValueError(
                    f'{cls.__name__}.concurrency_groups[{name!r}] must be a positive '
                    f'integer, not {limit!r}'
                )
        for info in cls.actions().values():
            if info.group is not None and info.group not in cls.concurrency_groups:
                raise ValueError(
                    f'Action {info.name!r} of {cls.__name__} is in group '
                    f'{info.group!r}, which has no limit in concurrency_groups'
                )

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
                'group': info.group,
                'async': info.is_async,
            }
        return described
