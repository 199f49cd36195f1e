"""Handles: how callers reach an actor, from any process that reaches its mailbox.

A handle pickles to its actor's address, name and mailbox config (never a
secret). A call sends one message and returns an `ActorFuture`, which sync
code waits on with ``result()`` and async code awaits. Each process has one
reply address per mailbox, read by one thread that completes the futures.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Generator
from typing import Any
from typing import Concatenate
from typing import Generic
from typing import ParamSpec
from typing import TypeVar
from typing import overload

from proxystore.actors import messages
from proxystore.actors.exceptions import ActionError
from proxystore.actors.exceptions import ActorError
from proxystore.actors.exceptions import ActorStoppedError
from proxystore.actors.exceptions import ActorTimeoutError
from proxystore.actors.exceptions import MailboxError
from proxystore.actors.exceptions import MessageError
from proxystore.actors.exceptions import UnknownActionError
from proxystore.actors.mailbox import Mailbox
from proxystore.actors.mailbox import mailbox_from_config
from proxystore.actors.mailbox import new_address
from proxystore.store import Store
from proxystore.store import StoreConfig
from proxystore.store import get_or_create_store
from proxystore.store.keyring import find_secret

__all__ = ['ActorFuture', 'ActorHandle']

T = TypeVar('T')
R = TypeVar('R')
P = ParamSpec('P')

DEFAULT_TIMEOUT = 60.0
"""Seconds a call waits for its answer unless told otherwise."""


class ActorFuture(concurrent.futures.Future[R]):
    """The answer of a call: ``result()`` in sync code, ``await`` in async code."""

    def __await__(self) -> Generator[Any, None, R]:
        return asyncio.wrap_future(self).__await__()


class _Caller:
    """This process's reply address on one mailbox and the thread that reads it."""

    def __init__(self, config: dict[str, Any], secret: bytes | None) -> None:
        self.mailbox: Mailbox = mailbox_from_config(config)
        self.secret = secret
        self.address = new_address('caller')
        self.mailbox.create(self.address)
        self.pending: dict[str, tuple[ActorFuture[Any], float, str, str]] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(
            target=self._read, name='proxystore-actors-replies', daemon=True
        )
        self.thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Delete this process's reply address (at exit)."""
        with contextlib.suppress(Exception):  # the server may be gone already
            self.mailbox.delete(self.address)

    def call(
        self,
        address: str,
        actor: str,
        header: dict[str, Any],
        frames: list[bytes],
        timeout: float | None,
        *,
        reply: bool = True,
    ) -> ActorFuture[Any] | None:
        call_id = uuid.uuid4().hex
        header = {**header, 'call': call_id}
        future: ActorFuture[Any] | None = None
        if reply:
            future = ActorFuture()
            header['reply_to'] = self.address
            deadline = time.monotonic() + (
                DEFAULT_TIMEOUT if timeout is None else timeout
            )
            with self.lock:
                self.pending[call_id] = (
                    future,
                    deadline,
                    actor,
                    str(header.get('action')),
                )
        try:
            self.mailbox.send(address, messages.encode(header, frames, self.secret))
        except MailboxError as error:
            with self.lock:
                self.pending.pop(call_id, None)
            raise ActorStoppedError(
                f'Actor {actor!r} is stopped (its mailbox address is gone): {error}'
            ) from None
        return future

    def _read(self) -> None:
        while True:
            try:
                envelopes = self.mailbox.receive(
                    [self.address], reader=self.address, count=64, timeout=0.05
                )
            except MailboxError:
                envelopes = []
                time.sleep(0.05)
            for envelope in envelopes:
                self._complete(envelope.data)
            if envelopes:
                self.mailbox.ack(envelopes)
            now = time.monotonic()
            with self.lock:
                late = [k for k, (_, d, _, _) in self.pending.items() if d < now]
                expired = [self.pending.pop(k) for k in late]
            for future, _, actor, action in expired:
                if future.set_running_or_notify_cancel():
                    future.set_exception(
                        ActorTimeoutError(
                            f'Actor {actor!r} did not answer {action!r} in time.'
                        )
                    )

    def _complete(self, data: bytes) -> None:
        try:
            message = messages.decode(data, self.secret)
        except MessageError:
            return
        header = message.header
        with self.lock:
            entry = self.pending.pop(str(header.get('call')), None)
        if entry is None:
            return  # timed out already
        future, _, actor, action = entry
        if not future.set_running_or_notify_cancel():
            return
        if header.get('ok'):
            try:
                future.set_result(messages.load_frames(message.frames))
            except Exception as problem:
                future.set_exception(problem)
            return
        error: ActorError
        text = str(header.get('message', ''))
        if header.get('unknown'):
            error = UnknownActionError(text)
        else:
            error = ActionError(actor, action, text, str(header.get('traceback', '')))
            if message.frames:
                # The class may not exist here: then the text only.
                with contextlib.suppress(Exception):
                    error.__cause__ = messages.load_frames(message.frames)
        future.set_exception(error)


_callers: dict[tuple[str, str | None], _Caller] = {}
_callers_lock = threading.Lock()


def _forget_callers() -> None:
    global _callers_lock
    _callers.clear()  # the reading threads are not in the child
    _callers_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_forget_callers)


def caller(config: dict[str, Any], secret_id: str | None) -> _Caller:
    """This process's caller on the mailbox of ``config``."""
    key = (repr(sorted(config.items())), secret_id)
    with _callers_lock:
        found = _callers.get(key)
        if found is None:
            found = _callers[key] = _Caller(config, secret_of(secret_id))
        return found


def secret_of(secret_id: str | None) -> bytes | None:
    """The secret of an actor system, by id (``None``: the system has none).

    Raises:
        ActorError: If this process does not know the secret.
    """
    if secret_id is None:
        return None
    secret = find_secret(secret_id)
    if secret is None:
        raise ActorError(
            f'The actor system authenticates its messages with a secret (id '
            f'{secret_id}) this process does not have: set PROXYSTORE_SECRET.'
        )
    return secret


def store_of(blob: bytes | None) -> Store[Any] | None:
    """The store of a compact config (made and registered here if needed)."""
    if blob is None:
        return None
    return get_or_create_store(StoreConfig.from_compact(blob))


def _action_name(action: Any) -> str:
    if isinstance(action, str):
        return action
    name = getattr(action, '__name__', None)
    if callable(action) and isinstance(name, str):
        return name
    raise TypeError(
        f'An action is named by a string or given as the method, not {action!r}'
    )


class _Method:
    """``handle.name``: calling it calls the action."""

    __slots__ = ('_handle', '_name', '_timeout')

    def __init__(
        self, handle: ActorHandle[Any], name: str, timeout: float | None
    ) -> None:
        self._handle = handle
        self._name = name
        self._timeout = timeout

    def __call__(self, *args: Any, **kwargs: Any) -> ActorFuture[Any]:
        return self._handle._send(self._name, args, kwargs, self._timeout)

    def options(self, *, timeout: float | None = None) -> _Method:
        """This action with another timeout (seconds; ``None``: the default)."""
        return _Method(self._handle, self._name, timeout)


class ActorHandle(Generic[T]):
    """A reference to an actor: calls its actions from any process.

    ``handle.action(*args)`` returns an `ActorFuture`. Handles pickle to a few
    hundred bytes and work wherever the mailbox can be reached: in tasks, in
    other actors.
    """

    def __init__(
        self,
        address: str,
        name: str,
        mailbox_config: dict[str, Any],
        secret_id: str | None = None,
        store: bytes | None = None,
        threshold: int = messages.DEFAULT_PROXY_THRESHOLD,
    ) -> None:
        self.address = address
        self.name = name
        self.mailbox_config = dict(mailbox_config)
        self.secret_id = secret_id
        self.store_config = store
        """The compact config of the store large arguments go through."""
        self.threshold = threshold
        self._timeout: float | None = None

    def __reduce__(self) -> Any:
        return (
            ActorHandle,
            (
                self.address,
                self.name,
                self.mailbox_config,
                self.secret_id,
                self.store_config,
                self.threshold,
            ),
        )

    def _dump(self, value: Any) -> list[bytes]:
        return messages.dump_frames(value, store_of(self.store_config), self.threshold)

    def __repr__(self) -> str:
        return f'ActorHandle({self.name!r}, {self.address!r})'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorHandle) and other.address == self.address

    def __hash__(self) -> int:
        return hash(self.address)

    def __getattr__(self, name: str) -> _Method:
        if name.startswith('_'):
            raise AttributeError(name)
        return _Method(self, name, None)

    def _caller(self) -> _Caller:
        return caller(self.mailbox_config, self.secret_id)

    def with_timeout(self, timeout: float | None) -> ActorHandle[T]:
        """This handle with another default call timeout (``None``: 60 s)."""
        copy: ActorHandle[T] = ActorHandle(
            self.address,
            self.name,
            self.mailbox_config,
            self.secret_id,
            self.store_config,
            self.threshold,
        )
        copy._timeout = timeout
        return copy

    @overload
    def call(
        self,
        action: Callable[Concatenate[T, P], Coroutine[Any, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> ActorFuture[R]: ...

    @overload
    def call(
        self,
        action: Callable[Concatenate[T, P], R],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> ActorFuture[R]: ...

    @overload
    def call(self, action: str, /, *args: Any, **kwargs: Any) -> ActorFuture[Any]: ...

    def call(self, action: Any, /, *args: Any, **kwargs: Any) -> ActorFuture[Any]:
        """Call ``action`` with the arguments; its future answer.

        ``action`` is the action's name, or the method itself
        (``handle.call(Counter.add, 1)``): then ``mypy`` checks the arguments
        against the method's and types the answer.

        Raises:
            ActorStoppedError: If the actor is stopped.
            TypeError: If ``action`` is neither a name nor a method.
        """
        return self._send(_action_name(action), args, kwargs, self._timeout)

    def _send(
        self,
        action: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
    ) -> ActorFuture[Any]:
        frames = self._dump((args, kwargs))
        header = {'kind': 'call', 'action': action}
        future = self._caller().call(self.address, self.name, header, frames, timeout)
        assert future is not None
        return future

    @overload
    def tell(
        self,
        action: Callable[Concatenate[T, P], Any],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None: ...

    @overload
    def tell(self, action: str, /, *args: Any, **kwargs: Any) -> None: ...

    def tell(self, action: Any, /, *args: Any, **kwargs: Any) -> None:
        """Call ``action`` (a name or the method) without getting an answer."""
        frames = self._dump((args, kwargs))
        header = {'kind': 'call', 'action': _action_name(action)}
        self._caller().call(self.address, self.name, header, frames, None, reply=False)

    def ping(self, timeout: float = 10.0) -> dict[str, Any]:
        """The actor's counters (queued, done, failed) once its host answers.

        Raises:
            ActorTimeoutError: If no answer came within ``timeout``.
            ActorStoppedError: If the actor is stopped.
        """
        future = self._caller().call(
            self.address, self.name, {'kind': 'ping'}, [], timeout
        )
        assert future is not None
        result: dict[str, Any] = future.result()
        return result

    def stop(self, *, drain: bool = True, timeout: float = 60.0) -> None:
        """Stop the actor, after the calls already queued unless ``drain=False``.

        Raises:
            ActorTimeoutError: If the actor did not stop within ``timeout``.
            ActorStoppedError: If it was stopped already.
        """
        header = {'kind': 'stop', 'drain': drain}
        future = self._caller().call(self.address, self.name, header, [], timeout)
        assert future is not None
        future.result()

    def kill(self, timeout: float = 60.0) -> None:
        """Stop the actor now: queued calls are dropped unanswered."""
        self.stop(drain=False, timeout=timeout)
