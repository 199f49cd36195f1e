"""The host: one long-running task that runs many actors in one event loop.

`serve` is what an `ActorSystem` submits to an engine (any executor). It reads
the host's address and the addresses of its actors in one blocking receive,
and hands each message to its actor's queue: an actor runs one action at a
time, in mailbox order, unless the action is concurrent. Sync actions run in
a thread of the loop's pool, so a slow one does not stop the other actors.
A message is acknowledged once its action has answered: a host that dies
mid-action leaves it pending, and the next reader of the address runs it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from proxystore.actors import messages
from proxystore.actors._actor import Actor
from proxystore.actors._handle import secret_of
from proxystore.actors._handle import store_of
from proxystore.actors.exceptions import MessageError
from proxystore.actors.mailbox import Envelope
from proxystore.actors.mailbox import Mailbox
from proxystore.actors.mailbox import mailbox_from_config
from proxystore.store import Store

__all__ = ['serve']

logger = logging.getLogger(__name__)

_RECEIVE_TIMEOUT = 0.05
"""Seconds one receive waits: how soon a host notices it should stop."""
_BATCH = 64
_TIMER_BACKLOG = 1000
"""Queued items above which an actor's timers skip their ticks."""


_LOCAL_OBJECTS: dict[str, Any] = {}
"""Objects handed to in-process hosts without pickling, by token."""


class _LocalReference:
    """Pickles to a token that an in-process host turns back into the object."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __reduce__(self) -> Any:
        return (_take_local, (self.token,))


def _take_local(token: str) -> Any:
    try:
        return _LOCAL_OBJECTS.pop(token)
    except KeyError:
        raise MessageError(
            'A message names an object of another process (sent through a '
            'LocalMailbox, which only reaches hosts of the same process).'
        ) from None


def local_reference(value: Any) -> _LocalReference:
    """``value`` for a host of this process, without pickling it."""
    token = uuid.uuid4().hex
    _LOCAL_OBJECTS[token] = value
    return _LocalReference(token)


class _Running:
    """An actor in its host: its instance, queue and worker task."""

    def __init__(self, name: str, address: str, actor: Actor) -> None:
        self.name = name
        self.address = address
        self.actor = actor
        self.actions = type(actor).actions()
        self.queue: asyncio.Queue[Envelope | _Tick | None] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None
        self.semaphores = {
            group: asyncio.Semaphore(limit)
            for group, limit in type(actor).concurrency_groups.items()
        }
        self.scheduled: list[asyncio.Task[None]] = []
        self.done = 0
        self.failed = 0

    def start_schedules(self) -> None:
        loop = asyncio.get_running_loop()
        for name, interval in type(self.actor).schedules().items():
            if interval is None:
                self.scheduled.append(loop.create_task(self._loop(name)))
            else:
                self.scheduled.append(loop.create_task(self._timer(name, interval)))

    def stop_schedules(self) -> None:
        for task in self.scheduled:
            task.cancel()

    async def _loop(self, name: str) -> None:
        try:
            await getattr(self.actor, name)()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception('Loop %s of actor %s raised', name, self.name)

    async def _timer(self, name: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self.queue.qsize() < _TIMER_BACKLOG:  # a slow actor skips ticks
                self.queue.put_nowait(_Tick(name))


class _Tick:
    """A timer's turn in its actor's queue."""

    __slots__ = ('name',)

    def __init__(self, name: str) -> None:
        self.name = name


class _Host:
    def __init__(
        self,
        mailbox: Mailbox,
        address: str,
        secret: bytes | None,
        store: Store[Any] | None = None,
        threshold: int = messages.DEFAULT_PROXY_THRESHOLD,
    ) -> None:
        self.mailbox = mailbox
        self.address = address
        self.secret = secret
        self.store = store
        self.threshold = threshold
        self.actors: dict[str, _Running] = {}
        self.stopping = False
        self.background: set[asyncio.Task[None]] = set()

    # --- replies --------------------------------------------------------------

    def _reply(
        self, request: dict[str, Any], answer: dict[str, Any], frames: list[bytes]
    ) -> None:
        reply_to = request.get('reply_to')
        if not reply_to:
            return  # a tell
        header = {'kind': 'reply', 'call': request.get('call'), **answer}
        try:
            self.mailbox.send(
                str(reply_to), messages.encode(header, frames, self.secret)
            )
        except Exception:  # the caller is gone: nobody to tell
            logger.warning('Cannot reply to %s', reply_to, exc_info=True)

    def _ok(self, request: dict[str, Any], value: Any) -> None:
        try:
            frames = messages.dump_frames(value, self.store, self.threshold)
        except Exception as error:
            self._error(request, error)
            return
        self._reply(request, {'ok': True}, frames)

    def _error(
        self, request: dict[str, Any], error: BaseException, *, unknown: bool = False
    ) -> None:
        answer = {
            'ok': False,
            'type': type(error).__name__,
            'message': str(error),
            'traceback': ''.join(traceback.format_exception(error)),
            'unknown': unknown,
        }
        try:
            frames = messages.dump_frames(error)
        except Exception:  # an exception that does not pickle: its text only
            frames = []
        self._reply(request, answer, frames)

    # --- messages -------------------------------------------------------------

    def handle(self, envelope: Envelope) -> None:
        try:
            message = messages.decode(envelope.data, self.secret)
        except MessageError as error:
            # Forged, malformed or oversized: no header to answer to.
            logger.warning('Dropped a message to %s: %s', envelope.address, error)
            self.mailbox.ack([envelope])
            return
        header = message.header
        if envelope.address == self.address:
            self._host_message(envelope, message)
            return
        running = self.actors.get(envelope.address)
        if running is None:
            self._error(header, LookupError(f'No actor at {envelope.address} here.'))
            self.mailbox.ack([envelope])
            return
        if message.kind == 'ping':
            self._ok(
                header,
                {
                    'name': running.name,
                    'queued': running.queue.qsize(),
                    'done': running.done,
                    'failed': running.failed,
                },
            )
            self.mailbox.ack([envelope])
            return
        if message.kind == 'stop' and not header.get('drain', True):
            # A kill: the actor stops now, calls queued before are dropped.
            if running.worker is not None:
                running.worker.cancel()
            self._spawn(self._stop_actor(running, envelope, message))
            return
        if message.kind == 'call':
            info = running.actions.get(str(header.get('action')))
            if info is not None and info.group is not None:
                self._spawn(self._run_grouped(running, info.group, envelope, message))
                return
            if info is not None and info.concurrent:
                self._spawn(self._run_call(running, envelope, message))
                return
        running.queue.put_nowait(envelope)

    def _host_message(self, envelope: Envelope, message: messages.Message) -> None:
        header = message.header
        if message.kind == 'spawn':
            try:
                cls, args, kwargs = messages.load_frames(message.frames)
                if not (isinstance(cls, type) and issubclass(cls, Actor)):
                    raise TypeError(f'{cls!r} is not an Actor subclass')
                cls.check()
                actor = cls(*args, **kwargs)
                running = _Running(str(header['name']), str(header['actor']), actor)
                actor.on_start()
            except Exception as error:
                self._error(header, error)
            else:
                self.actors[running.address] = running
                running.worker = asyncio.get_running_loop().create_task(
                    self._work(running)
                )
                running.start_schedules()
                self._ok(header, running.name)
        elif message.kind == 'stop':
            self.stopping = True
            self._ok(header, len(self.actors))
        elif message.kind == 'ping':
            self._ok(header, sorted(r.name for r in self.actors.values()))
        self.mailbox.ack([envelope])

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _run_grouped(
        self,
        running: _Running,
        group: str,
        envelope: Envelope,
        message: messages.Message,
    ) -> None:
        async with running.semaphores[group]:
            await self._run_call(running, envelope, message)

    async def _run_tick(self, running: _Running, tick: _Tick) -> None:
        method = getattr(running.actor, tick.name)
        try:
            if inspect.iscoroutinefunction(method):
                await method()
            else:
                await asyncio.to_thread(method)
        except Exception:
            running.failed += 1
            logger.exception('Timer %s of actor %s raised', tick.name, running.name)
        else:
            running.done += 1

    async def _work(self, running: _Running) -> None:
        while True:
            envelope = await running.queue.get()
            if envelope is None:
                return
            if isinstance(envelope, _Tick):
                await self._run_tick(running, envelope)
                continue
            message = messages.decode(envelope.data, self.secret)
            if message.kind == 'stop':
                await self._stop_actor(running, envelope, message)
                return
            await self._run_call(running, envelope, message)

    async def _run_call(
        self, running: _Running, envelope: Envelope, message: messages.Message
    ) -> None:
        header = message.header
        name = str(header.get('action'))
        info = running.actions.get(name)
        try:
            if info is None:
                raise AttributeError(
                    f'Actor {running.name!r} ({type(running.actor).__name__}) has no '
                    f'action {name!r}; its actions: {sorted(running.actions)}'
                )
            args, kwargs = messages.load_frames(message.frames)
            method: Callable[..., Any] = getattr(running.actor, name)
            if info.is_async:
                value = await method(*args, **kwargs)
            else:
                value = await asyncio.to_thread(method, *args, **kwargs)
        except Exception as error:
            running.failed += 1
            self._error(header, error, unknown=info is None)
        else:
            running.done += 1
            self._ok(header, value)
        self.mailbox.ack([envelope])

    async def _stop_actor(
        self, running: _Running, envelope: Envelope, message: messages.Message
    ) -> None:
        running.stop_schedules()
        try:
            running.actor.on_stop()
        except Exception:
            logger.exception('on_stop of actor %s raised', running.name)
        self.actors.pop(running.address, None)
        self.mailbox.ack([envelope])
        self.mailbox.delete(running.address)
        self._ok(message.header, running.name)

    # --- the loop -------------------------------------------------------------

    async def run(self) -> int:
        self.mailbox.create(self.address)
        while not self.stopping:
            addresses = [self.address, *self.actors]
            envelopes = await asyncio.to_thread(
                self.mailbox.receive,
                addresses,
                reader=self.address,
                count=_BATCH,
                timeout=_RECEIVE_TIMEOUT,
            )
            for envelope in envelopes:
                self.handle(envelope)
            await asyncio.sleep(0)  # let the actors run
        for running in list(self.actors.values()):
            running.stop_schedules()
            running.queue.put_nowait(None)
            if running.worker is not None:
                await running.worker
            try:
                running.actor.on_stop()
            except Exception:
                logger.exception('on_stop of actor %s raised', running.name)
            self.mailbox.delete(running.address)
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
        self.mailbox.delete(self.address)
        return len(self.actors)


def serve(
    mailbox_config: dict[str, Any],
    address: str,
    secret_id: str | None,
    store: bytes | None = None,
    threshold: int = messages.DEFAULT_PROXY_THRESHOLD,
) -> int:
    """Run a host at ``address`` until it is told to stop; its actor count.

    Submitted to an engine by `ActorSystem`; returns when the system stops.

    Raises:
        ActorError: If the system has a secret this process does not know
            (set ``PROXYSTORE_SECRET``).
    """
    secret = secret_of(secret_id)
    mailbox = mailbox_from_config(mailbox_config)
    try:
        host = _Host(mailbox, address, secret, store_of(store), threshold)
        return asyncio.run(host.run())
    finally:
        mailbox.close()
