"""`ActorSystem`: hosts on an engine, and actors spawned into them."""

from __future__ import annotations

import concurrent.futures
import itertools
import pickle
import time
from typing import Any
from typing import TypeVar

from proxystore.actors import messages
from proxystore.actors._actor import Actor
from proxystore.actors._handle import ActorHandle
from proxystore.actors._handle import caller
from proxystore.actors._host import local_reference
from proxystore.actors._host import serve
from proxystore.actors.exceptions import ActionError
from proxystore.actors.exceptions import ActorError
from proxystore.actors.mailbox import LocalMailbox
from proxystore.actors.mailbox import Mailbox
from proxystore.actors.mailbox import new_address
from proxystore.store import Store
from proxystore.store.keyring import add_secret

__all__ = ['ActorSystem']

A = TypeVar('A', bound=Actor)


class ActorSystem:
    """Hosts running on an engine, each holding many actors in one event loop.

    Args:
        executor: Where hosts run: any `concurrent.futures.Executor` (threads,
            processes, `mpi4py.futures`, a Dask client's executor). One host
            takes one worker slot for as long as the system runs.
        mailbox: The mailbox the hosts, actors and callers share; a
            `LocalMailbox` only with a thread pool.
        hosts: How many hosts to start (actors are placed round-robin).
        store: When given, buffers (bytes, arrays) of more than
            ``proxy_threshold`` bytes in arguments and results go through it,
            as proxies evicted once resolved, instead of through the mailbox.
        proxy_threshold: Bytes above which a buffer goes by proxy.
        secret: When given, every message is tagged with it (HMAC) and
            untagged or forged messages are refused before anything is
            unpickled. Processes that are not forks of this one learn it from
            ``PROXYSTORE_SECRET``.

    Raises:
        ValueError: If ``hosts`` is not positive.
        TypeError: If ``mailbox`` is not a `Mailbox`.
    """

    def __init__(
        self,
        executor: concurrent.futures.Executor,
        mailbox: Mailbox,
        *,
        hosts: int = 1,
        secret: bytes | str | None = None,
        store: Store[Any] | None = None,
        proxy_threshold: int = messages.DEFAULT_PROXY_THRESHOLD,
    ) -> None:
        if not isinstance(hosts, int) or hosts < 1:
            raise ValueError(f'hosts must be a positive integer, not {hosts!r}')
        if not isinstance(mailbox, Mailbox):
            raise TypeError(f'mailbox must be a Mailbox, not {type(mailbox).__name__}')
        self.executor = executor
        self.mailbox = mailbox
        self.secret_id = add_secret(secret) if secret is not None else None
        if not isinstance(proxy_threshold, int) or proxy_threshold < 0:
            raise ValueError(
                'proxy_threshold must be a non-negative integer, not '
                f'{proxy_threshold!r}'
            )
        self._config = mailbox.config()
        self.store = store
        self._store_blob = store.config().compact() if store is not None else None
        self.proxy_threshold = proxy_threshold
        self._host_count = hosts
        self._hosts: list[tuple[str, concurrent.futures.Future[int]]] = []
        self._next_host = itertools.count()
        self._closed = False

    def __enter__(self) -> ActorSystem:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start_hosts(self) -> None:
        while len(self._hosts) < self._host_count:
            address = new_address('host')
            # Made before the host runs: messages to it wait there.
            self.mailbox.create(address)
            future = self.executor.submit(
                serve,
                self._config,
                address,
                self.secret_id,
                self._store_blob,
                self.proxy_threshold,
            )
            self._hosts.append((address, future))

    def _ask(
        self,
        address: str,
        header: dict[str, Any],
        frames: list[bytes],
        host: concurrent.futures.Future[int],
        timeout: float,
    ) -> Any:
        future = caller(self._config, self.secret_id).call(
            address, address, header, frames, timeout
        )
        assert future is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                return future.result(timeout=0.05)
            except concurrent.futures.TimeoutError:
                pass
            if host.done():
                try:  # it may have answered just before it ended
                    return future.result(timeout=2.0)
                except concurrent.futures.TimeoutError:
                    pass
                error = host.exception()
                raise ActorError(
                    f'The actor host at {address} ended'
                    + (f': {type(error).__name__}: {error}' if error else '')
                ) from error
            if time.monotonic() > deadline:  # the future raises its own timeout
                return future.result(timeout=1.0)

    def spawn(
        self,
        cls: type[A],
        *args: Any,
        name: str | None = None,
        timeout: float = 60.0,
        **kwargs: Any,
    ) -> ActorHandle[A]:
        """Start ``cls(*args, **kwargs)`` in a host; its handle.

        Raises:
            TypeError: If ``cls`` is not an `Actor` subclass.
            ValueError: If its concurrency groups are not declared right.
            ActionError: If its constructor or ``on_start`` raised.
            ActorError: If the system is closed, or its host ended.
        """
        if not (isinstance(cls, type) and issubclass(cls, Actor)):
            raise TypeError(f'spawn takes an Actor subclass, not {cls!r}')
        cls.check()
        if self._closed:
            raise ActorError('The actor system is closed.')
        self._start_hosts()
        host_address, host = self._hosts[next(self._next_host) % len(self._hosts)]
        address = new_address('actor')
        name = name or f'{cls.__name__}-{address[-8:]}'
        header = {'kind': 'spawn', 'actor': address, 'name': name}
        frames = self._spawn_frames(cls, args, kwargs)
        self.mailbox.create(address)
        try:
            self._ask(host_address, header, frames, host, timeout)
        except ActionError:
            self.mailbox.delete(address)
            raise
        return ActorHandle(
            address,
            name,
            self._config,
            self.secret_id,
            self._store_blob,
            self.proxy_threshold,
        )

    def _spawn_frames(
        self, cls: type[Actor], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> list[bytes]:
        try:
            return messages.dump_frames((cls, args, kwargs))
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            if not isinstance(self.mailbox, LocalMailbox):
                raise TypeError(
                    f'Cannot send {cls.__qualname__} and its arguments to a host: '
                    f'{error}. Hosts in other processes import the class: define it '
                    'at the top level of a module they can import.'
                ) from error
        # In-process hosts (a LocalMailbox) take the objects themselves: a
        # class defined in a notebook or an exec'd script works there.
        return messages.dump_frames(local_reference((cls, args, kwargs)))

    def close(self, timeout: float = 60.0) -> None:
        """Stop every host (and so every actor, after its queued calls)."""
        if self._closed:
            return
        self._closed = True
        for address, host in self._hosts:
            if not host.done():
                self._ask(address, {'kind': 'stop'}, [], host, timeout)
        for _, host in self._hosts:
            host.result(timeout=timeout)
