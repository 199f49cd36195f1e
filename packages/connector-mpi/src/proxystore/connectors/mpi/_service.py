"""The rank service: a thread in every rank that answers other ranks' requests.

Each process of an MPI job that uses `MPIConnector` runs one service thread. It
holds the objects put by that rank and answers ``get``, ``exists``, ``evict``
and ``set`` requests from other ranks while the rank's main thread does its own
work. Messages travel on ``MPI.COMM_WORLD`` under tags at the top of the tag
range (``_protocol.Tags``, where the wire format is described), so no
collective call is needed to start a service: a rank that first meets a
connector inside a task (a `mpi4py.futures` worker) starts one on its own.

Waiting: the service tests its posted receive in a loop that spins while
requests keep coming and sleeps (up to `IDLE_SLEEP`) once they stop, so an idle
rank costs little CPU; a requester waits for the answer the same way, giving up
after its timeout or as soon as the owner has said goodbye.

Leaving cleanly: MPI refuses to finalize ``COMM_WORLD`` while messages sent to
a rank are still unmatched there (MPICH's ``MPI_Finalize`` fails, the launcher
then kills the job). So a closing service says goodbye only to the ranks it
has exchanged messages with (they have a service to receive it), waits for
their acknowledgements (`GOODBYE_TIMEOUT` at most), and then, like every
process that imported the connector at exit, drains what is left for it on
the connector's tags: requests sent to a rank that never started a service,
answers that came after their requester gave up.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

from mpi4py import MPI

from proxystore.connectors.mpi._protocol import PADDED_REPLY
from proxystore.connectors.mpi._protocol import REPLY
from proxystore.connectors.mpi._protocol import REQUEST
from proxystore.connectors.mpi._protocol import Op
from proxystore.connectors.mpi._protocol import Status
from proxystore.connectors.mpi._protocol import Tags
from proxystore.connectors.mpi._protocol import decode_reply
from proxystore.connectors.mpi._protocol import decode_request
from proxystore.connectors.mpi.exceptions import MPIConnectorError
from proxystore.connectors.mpi.exceptions import MPIProtocolError
from proxystore.connectors.mpi.exceptions import MPIRankGoneError
from proxystore.connectors.mpi.exceptions import MPIStoreFullError
from proxystore.connectors.mpi.exceptions import MPITimeoutError
from proxystore.serialize import BytesLike
from proxystore.serialize.buffers import allocate

logger = logging.getLogger(__name__)

__all__ = [
    'GOODBYE_TIMEOUT',
    'HOT_SECONDS',
    'IDLE_SLEEP',
    'RankService',
    'close_current',
    'drain',
    'get_service',
]

HOT_SECONDS = 0.002
"""How long a waiting loop spins after its last event before it starts sleeping."""
IDLE_SLEEP = 0.001
"""Longest sleep of an idle waiting loop (the added latency of an idle service)."""
_SLOWEST_BANDWIDTH = 250e6
"""Bytes per second below which a waiting transfer is assumed stalled, not moving."""
_UPLOAD_TIMEOUT = 60.0
"""Most seconds the service waits for the bytes of a ``set`` after its header."""
_GRACE_SECONDS = 0.05
"""How long a stopping service keeps answering requests already on their way."""
GOODBYE_TIMEOUT = 5.0
"""Most seconds a stopping service waits for the ranks it said goodbye to."""
_ABANDONED = 4096
"""How many abandoned receives (of requests that gave up) a service remembers."""


def _physical_memory() -> int:
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (ValueError, OSError):  # pragma: no cover - not POSIX
        return 1 << 40


MAX_OBJECT_BYTES = _physical_memory()
"""Most bytes a header may announce (a set's upload, a found get's reply): the
memory of the node. Sizes come from other ranks and are bounded before any
buffer is allocated for them."""


class _Waiter:
    """Spin while events are recent, then sleep longer and longer, up to a cap."""

    def __init__(self, hot: float = HOT_SECONDS) -> None:
        self.hot = hot
        self.reset()

    def reset(self) -> None:
        self._last_event = time.perf_counter()
        self._sleep = 0.0

    def wait(self) -> None:
        if time.perf_counter() - self._last_event < self.hot:
            return
        self._sleep = min(IDLE_SLEEP, max(2 * self._sleep, 1e-5))
        time.sleep(self._sleep)


def _spin_seconds(nbytes: int) -> float:
    """How long to wait without sleeping for ``nbytes`` to arrive.

    While bytes move, the MPI library copies them only inside our calls
    (shared-memory transfers need both sides): sleeping would stall them.
    """
    return HOT_SECONDS + nbytes / _SLOWEST_BANDWIDTH


def _complete(
    request: MPI.Request,
    *,
    peer: int,
    what: str,
    deadline: float,
    departed: set[int],
    status: MPI.Status | None = None,
    nbytes: int = 0,
) -> None:
    """Wait for ``request``; cancel it and raise if the peer is gone or too slow.

    Raises:
        MPIRankGoneError: If ``peer`` said goodbye.
        MPITimeoutError: If ``deadline`` passed.
    """
    waiter = _Waiter(_spin_seconds(nbytes))
    while not request.Test(status):
        if peer in departed or time.monotonic() > deadline:
            request.Cancel()
            request.Wait()
            if peer in departed:
                raise MPIRankGoneError(
                    f'Rank {peer} has closed its ProxyStore MPI service (it '
                    f'finished or closed its connectors) before {what}.',
                )
            raise MPITimeoutError(
                f'Rank {peer} did not answer {what} in time. Is it still '
                'running, and did it create an MPIConnector?',
            )
        waiter.wait()


def drain(comm: MPI.Comm, tags: Tags, abandoned: Iterable[tuple[int, int]] = ()) -> int:
    """Receive and drop every message left for this rank on the connector's tags.

    The request tag from any rank, then the upload tag of each ``set`` found
    there, then each ``(source, tag)`` of ``abandoned`` (receives a requester
    cancelled). Matched probes (``Improbe``): no message of another thread or
    of the program is taken.

    Returns:
        How many messages were dropped.
    """
    status = MPI.Status()
    dropped = 0
    followers: list[tuple[int, int]] = []
    while (message := comm.Improbe(MPI.ANY_SOURCE, tags.request, status)) is not None:
        buffer = bytearray(status.Get_count(MPI.BYTE))
        source = status.Get_source()
        message.Recv([buffer, MPI.BYTE])
        dropped += 1
        if len(buffer) == REQUEST.size:
            code, tag, size, _ = REQUEST.unpack(buffer)
            if code == Op.SET and size > 0:
                followers.append((source, tags.upload(tag)))
    for source, tag in (*followers, *abandoned):
        while (message := comm.Improbe(source, tag, status)) is not None:
            message.Recv([bytearray(status.Get_count(MPI.BYTE)), MPI.BYTE])
            dropped += 1
    return dropped


class RankService:
    """The objects of this rank, and the thread that serves them to other ranks.

    Args:
        comm: The communicator (``MPI.COMM_WORLD``: every rank can reach every
            other without creating a communicator, which would be collective).
    """

    def __init__(self, comm: MPI.Comm) -> None:
        level = MPI.Query_thread()
        if level < MPI.THREAD_MULTIPLE:
            raise MPIConnectorError(
                f'MPI was initialized with thread level {level}, not '
                'MPI_THREAD_MULTIPLE: the connector serves other ranks from a '
                'thread. Leave mpi4py.rc.thread_level at its default, '
                "'multiple'.",
            )
        self.comm = comm
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        self.tags = Tags(comm)
        self._objects: dict[bytes, BytesLike] = {}
        self._nbytes = 0
        self.capacity: int | None = None
        """Most bytes of objects this rank holds (set by `MPIConnector`)."""
        self._lock = threading.Lock()
        self.departed: set[int] = set()
        """Ranks that said goodbye (or answered that they are closing)."""
        self.peers: set[int] = set()
        """Ranks known to run a service: they sent a request or answered one."""
        # Held while a request header leaves and while a goodbye is answered:
        # once this rank has acknowledged a goodbye, no request follows it.
        self._peer_lock = threading.Lock()
        self._awaiting: set[int] = set()
        self._said_goodbye: set[int] = set()
        self._abandoned: collections.deque[tuple[int, int]] = collections.deque(
            maxlen=_ABANDONED
        )
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name='proxystore-mpi-service', daemon=True
        )
        self._thread.start()

    # --- this rank's objects ------------------------------------------------------

    def store(self, object_id: bytes, data: bytes | memoryview) -> None:
        """Hold ``data``, which nobody else may change.

        ``data`` is bytes, or a read-only view of a buffer only the service holds:
        readers that write get copies.
        """
        size = memoryview(data).nbytes
        with self._lock:
            old = self._objects.get(object_id)
            freed = 0 if old is None else memoryview(old).nbytes
            if (
                self.capacity is not None
                and self._nbytes - freed + size > self.capacity
            ):
                raise MPIStoreFullError(
                    f'rank {self.rank} cannot hold an object of {size} bytes: its '
                    f'capacity is {self.capacity} bytes and {self._nbytes} are '
                    f'held by {len(self._objects)} objects; evict objects or '
                    'give the connectors a larger capacity'
                )
            self._objects[object_id] = data
            self._nbytes += size - freed

    def load(self, object_id: bytes) -> BytesLike | None:
        """The bytes of a local object, or ``None``."""
        with self._lock:
            return self._objects.get(object_id)

    def has(self, object_id: bytes) -> bool:
        """Whether a local object exists."""
        with self._lock:
            return object_id in self._objects

    def drop(self, object_id: bytes) -> None:
        """Forget a local object (missing is fine)."""
        with self._lock:
            old = self._objects.pop(object_id, None)
            if old is not None:
                self._nbytes -= memoryview(old).nbytes

    # --- requests to other ranks --------------------------------------------------

    def request(
        self,
        peer: int,
        op: Op,
        object_ids: Sequence[bytes],
        timeout: float,
        *,
        payload: BytesLike | None = None,
        sizes: Sequence[int] | None = None,
    ) -> list[tuple[Status, BytesLike | None]]:
        """Send ``op`` for each object to ``peer`` at once, then read the answers.

        Args:
            peer: The rank that holds the objects.
            op: The operation.
            object_ids: The objects.
            timeout: Most seconds for all the answers.
            payload: The bytes of a ``set``.
            sizes: For a ``get``, the size of each object, where known (``-1``
                where not): its bytes come without a header.

        Raises:
            MPIRankGoneError: If ``peer`` said goodbye.
            MPITimeoutError: If ``peer`` did not answer within ``timeout``.
        """
        if self._closing.is_set():
            raise MPIConnectorError('The MPI connector service of this rank is closed.')
        if peer in self.departed:
            raise MPIRankGoneError(
                f'Rank {peer} has closed its ProxyStore MPI service; its objects '
                'are gone.',
            )
        deadline = time.monotonic() + timeout
        what = f'a {op.name.lower()} request'
        pending: list[tuple[int, int, Any, MPI.Request]] = []
        try:
            return self._exchange(
                peer, op, object_ids, deadline, what, pending, payload, sizes
            )
        except MPIConnectorError:
            # Answers may still come: drained when this service stops.
            for tag, expected, _, receive in pending:
                if receive != MPI.REQUEST_NULL:
                    receive.Cancel()
                    receive.Wait()
                self._abandoned.append((peer, tag))
                if expected >= 0:
                    self._abandoned.append((peer, self.tags.data(tag)))
            raise

    def _exchange(
        self,
        peer: int,
        op: Op,
        object_ids: Sequence[bytes],
        deadline: float,
        what: str,
        pending: list[tuple[int, int, Any, MPI.Request]],
        payload: BytesLike | None,
        sizes: Sequence[int] | None,
    ) -> list[tuple[Status, BytesLike | None]]:
        for index, object_id in enumerate(object_ids):
            tag = self.tags.next_reply()
            expected = -1 if sizes is None or op is not Op.GET else sizes[index]
            # The receive is posted before the request leaves: no answer
            # unmatched. A get of known size receives the bytes, or instead a
            # header (missing, gone, another size), into the same buffer.
            if expected >= 0:
                buffer = allocate(max(expected, PADDED_REPLY))
                receive_tag = self.tags.data(tag)
            else:
                buffer = bytearray(REPLY.size)
                receive_tag = tag
            size = memoryview(payload).nbytes if payload is not None else expected
            header = REQUEST.pack(op, tag, size, object_id)
            with self._peer_lock:
                if peer in self.departed:
                    raise MPIRankGoneError(
                        f'Rank {peer} has closed its ProxyStore MPI service; '
                        'its objects are gone.',
                    )
                receive = self.comm.Irecv([buffer, MPI.BYTE], peer, receive_tag)
                pending.append((tag, expected, buffer, receive))
                self.comm.Send([header, MPI.BYTE], peer, self.tags.request)
            if payload is not None:
                send = self.comm.Isend([payload, MPI.BYTE], peer, self.tags.upload(tag))
                _complete(
                    send,
                    peer=peer,
                    what=f'receiving {size} bytes',
                    deadline=deadline,
                    departed=self.departed,
                    nbytes=size,
                )
        results: list[tuple[Status, BytesLike | None]] = []
        status = MPI.Status()
        for tag, expected, buffer, receive in pending:
            _complete(
                receive,
                peer=peer,
                what=what,
                deadline=deadline,
                departed=self.departed,
                status=status,
                nbytes=max(expected, 0),
            )
            if expected >= 0 and status.Get_count(MPI.BYTE) == expected:
                # The bytes, without a header.
                data = (
                    buffer if len(buffer) == expected else memoryview(buffer)[:expected]
                )
                results.append((Status.FOUND, data))
                continue
            reply = memoryview(buffer)[: REPLY.size]
            results.append(self._read_reply(peer, op, tag, reply, what, deadline))
        self.peers.add(peer)  # it answered: it has a service
        pending.clear()  # every receive completed
        return results

    def _read_reply(
        self,
        peer: int,
        op: Op,
        tag: int,
        reply: BytesLike,
        what: str,
        deadline: float,
    ) -> tuple[Status, BytesLike | None]:
        try:
            status, length = decode_reply(reply, MAX_OBJECT_BYTES)
        except MPIProtocolError as error:
            raise MPIProtocolError(f'Rank {peer} answered {what}: {error}') from None
        if status is Status.GONE:
            with self._peer_lock:
                self.departed.add(peer)
            raise MPIRankGoneError(
                f'Rank {peer} is closing its ProxyStore MPI service; it did '
                f'not answer {what}.',
            )
        if op is not Op.GET or status is not Status.FOUND:
            return status, None
        data = allocate(length)
        if length:
            receive = self.comm.Irecv([data, MPI.BYTE], peer, tag)
            _complete(
                receive,
                peer=peer,
                what=f'sending {length} bytes',
                deadline=deadline,
                departed=self.departed,
                nbytes=length,
            )
        return status, data

    # --- the service thread -------------------------------------------------------

    def _serve(self) -> None:
        header = bytearray(REQUEST.size)
        status = MPI.Status()
        receive = self.comm.Irecv([header, MPI.BYTE], MPI.ANY_SOURCE, self.tags.request)
        sends: list[tuple[MPI.Request, Any]] = []
        waiter = _Waiter()
        stop_at: float | None = None
        give_up = 0.0
        while True:
            if sends:
                sends = [(r, data) for r, data in sends if not r.Test()]
                waiter.reset()  # no sleeping while bytes are moving
            if receive.Test(status):
                try:
                    self._answer(bytes(header), status.Get_source(), sends)
                except Exception:  # the service must outlive any one request
                    logger.exception('Failed to answer rank %d', status.Get_source())
                receive = self.comm.Irecv(
                    [header, MPI.BYTE], MPI.ANY_SOURCE, self.tags.request
                )
                waiter.reset()
                continue
            if self._closing.is_set():
                now = time.monotonic()
                if stop_at is None:
                    self._say_goodbye()
                    stop_at = now + _GRACE_SECONDS
                    give_up = now + GOODBYE_TIMEOUT
                elif now > stop_at and not sends:
                    if not self._awaiting:
                        break
                    if now > give_up:
                        logger.warning(
                            'Ranks %s did not answer the goodbye of rank %d',
                            sorted(self._awaiting),
                            self.rank,
                        )
                        break
            waiter.wait()
        receive.Cancel()
        receive.Wait()
        drain(self.comm, self.tags, self._abandoned)

    def _answer(
        self,
        header: bytes,
        source: int,
        sends: list[tuple[MPI.Request, Any]],
    ) -> None:
        try:
            op, tag, size, object_id = decode_request(header, MAX_OBJECT_BYTES)
        except MPIProtocolError as error:
            # Not from a connector (or not one of this job's memory): there
            # is no reply tag to trust, and no buffer of that size is made.
            logger.warning('Dropped a request from rank %d: %s', source, error)
            return
        if op is Op.ACK:
            self._awaiting.discard(source)
            return
        if op is Op.GOODBYE:
            with self._peer_lock:
                self.departed.add(source)
                self.peers.add(source)
                if source in self._said_goodbye:
                    # Crossing goodbyes: each stands for the other's answer.
                    self._awaiting.discard(source)
                else:
                    ack = REQUEST.pack(Op.ACK, 0, 0, bytes(16))
                    self.comm.Send([ack, MPI.BYTE], source, self.tags.request)
            return
        self.peers.add(source)  # it sent a request: it has a service
        if op is Op.SET:  # the bytes follow the header, even when closing
            data = bytearray(size)
            receive = self.comm.Irecv([data, MPI.BYTE], source, self.tags.upload(tag))
            try:
                _complete(
                    receive,
                    peer=source,
                    what=f'sending the {size} bytes of a set',
                    deadline=time.monotonic() + _UPLOAD_TIMEOUT,
                    departed=self.departed,
                    nbytes=size,
                )
            except MPIConnectorError as e:
                logger.warning('Dropped a set request from rank %d: %s', source, e)
                return
        reply = Status.DONE
        length = 0
        payload: BytesLike | None = None
        if self._closing.is_set():
            reply = Status.GONE
        elif op is Op.GET:
            payload = self.load(object_id)
            reply = Status.MISSING if payload is None else Status.FOUND
            length = 0 if payload is None else memoryview(payload).nbytes
            if payload is not None and length == size:
                # The requester posted a receive of this size: no header.
                send = self.comm.Isend([payload, MPI.BYTE], source, self.tags.data(tag))
                sends.append((send, payload))
                return
        elif op is Op.EXISTS:
            reply = Status.FOUND if self.has(object_id) else Status.MISSING
        elif op is Op.EVICT:
            self.drop(object_id)
        elif op is Op.SET:
            try:
                self.store(object_id, memoryview(data).toreadonly())  # ours alone
            except MPIStoreFullError:
                reply = Status.FULL
        reply_header = REPLY.pack(reply, length)
        reply_tag = tag
        if op is Op.GET and size >= 0:
            # The requester awaits the bytes on the data tag: the header goes
            # there instead, of a length the bytes do not have.
            reply_tag = self.tags.data(tag)
            if size == REPLY.size:
                reply_header += b'\0'
        self.comm.Send([reply_header, MPI.BYTE], source, reply_tag)
        if payload is not None and length:
            # The object stays referenced until the send completes, even if evicted.
            sends.append((self.comm.Isend([payload, MPI.BYTE], source, tag), payload))

    def _say_goodbye(self) -> None:
        """Tell the ranks with a service this one spoke to that it is leaving.

        Only those: a goodbye to a rank without a service would stay unmatched
        there, and its ``MPI_Finalize`` would fail.
        """
        goodbye = REQUEST.pack(Op.GOODBYE, 0, 0, bytes(16))
        with self._peer_lock:
            targets = sorted(self.peers - self.departed - {self.rank})
            self._said_goodbye = set(targets)
            self._awaiting = set(targets)
            for peer in targets:
                self.comm.Send([goodbye, MPI.BYTE], peer, self.tags.request)

    def close(self, timeout: float = 10.0) -> None:
        """Stop serving: tell the other ranks, answer what is on its way, stop."""
        self._closing.set()
        self._thread.join(timeout)
        with self._lock:
            self._objects.clear()
            self._nbytes = 0

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closing.is_set()


_service: RankService | None = None
_service_lock = threading.Lock()
_service_pid = os.getpid()


def _forget_in_child() -> None:
    global _service_lock
    _service_lock = threading.Lock()  # another thread may have held it at fork


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_forget_in_child)


def close_current() -> None:
    """Stop this process's service if it has one, then drain what is left for it.

    A process without a service drains too: another rank may have sent it
    requests (it never made a connector) that would keep its ``MPI_Finalize``
    from succeeding.
    """
    with _service_lock:
        service = _service
    if service is not None:
        service.close()
    _drain_at_exit()


def _drain_at_exit() -> None:
    if os.getpid() != _service_pid or not MPI.Is_initialized() or MPI.Is_finalized():
        return
    service = _service
    abandoned = tuple(service._abandoned) if service is not None else ()
    try:
        dropped = drain(MPI.COMM_WORLD, Tags(MPI.COMM_WORLD), abandoned)
    except MPI.Exception:  # pragma: no cover - MPI unusable at exit
        logger.exception('Failed to drain the MPI connector messages')
        return
    if dropped:
        logger.debug('Dropped %d messages left for this rank', dropped)


# Registered before any service's close (atexit runs last-in first-out): runs
# after it, and before mpi4py finalizes MPI (after every atexit function).
atexit.register(_drain_at_exit)


def get_service() -> RankService:
    """This process's service, started on first use and stopped at exit.

    Raises:
        MPIConnectorError: In a process forked from a rank: MPI is not usable
            there, and the rank's service (its thread, its tags) belongs to
            the parent; sharing it would mix the two processes' replies.
    """
    global _service
    if os.getpid() != _service_pid:
        raise MPIConnectorError(
            'the MPI connector cannot be used in a process forked from an MPI '
            "rank (MPI does not survive fork, and the rank's service belongs to "
            'its parent): use it in the rank itself, or start workers with the '
            "'spawn' method and give them their own ranks (mpi4py.futures)",
        )
    with _service_lock:
        if _service is None:
            _service = RankService(MPI.COMM_WORLD)
            # Runs before mpi4py finalizes MPI (at the end of interpreter exit).
            atexit.register(_service.close)
        return _service
