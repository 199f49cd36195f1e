"""The MPI connector (see the package's docstring)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from proxystore.connectors.mpi._protocol import Op
from proxystore.connectors.mpi._protocol import Status
from proxystore.connectors.mpi._service import RankService
from proxystore.connectors.mpi._service import close_current
from proxystore.connectors.mpi._service import get_service
from proxystore.connectors.mpi.exceptions import MPIConnectorError
from proxystore.connectors.mpi.exceptions import MPIStoreFullError
from proxystore.connectors.protocols import check_key
from proxystore.connectors.protocols import retry_while_full
from proxystore.serialize import BytesLike

__all__ = ['DEFAULT_TIMEOUT', 'MPIConnector', 'MPIKey', 'close_service']

DEFAULT_TIMEOUT = 60.0
"""Seconds an `MPIConnector` waits for another rank's answer by default."""

# The classes keep the module path users import them from (the package): keys
# pickled by earlier versions, connector kinds (``mpi``) and reprs read as before.
_PUBLIC_MODULE = 'proxystore.connectors.mpi'


class MPIKey(NamedTuple):
    """Key of an object in an `MPIConnector`."""

    rank: int
    """Rank (in ``MPI.COMM_WORLD``) that holds the object."""
    object_id: str
    """The object's id on that rank (32 hex digits)."""
    size: int = -1
    """The object's size in bytes, when the key was made with it (``-1``: not
    known). A get that knows it receives the bytes without a header first."""


MPIKey.__module__ = _PUBLIC_MODULE


def close_service() -> None:
    """Stop this rank's service: its objects are gone for every rank.

    Runs by itself when the process exits. Call it in a rank that finishes
    early while others go on: requests for its objects then fail at once with
    `MPIRankGoneError` instead of waiting for their timeout. Call it also
    before an explicit ``MPI.Finalize()``: it drops the connector's messages
    still waiting for this rank (even in a rank that never made a
    connector), which would make ``MPI_Finalize`` fail.
    """
    close_current()


close_service.__module__ = _PUBLIC_MODULE


class MPIConnector:
    """Connector that keeps objects in the memory of the rank that put them.

    Args:
        timeout: Most seconds to wait for another rank's answer before raising
            `MPITimeoutError`.
        capacity: Most bytes of objects each rank holds (``None``: as many as
            fit in memory). It is the rank's: the connectors of a job share it
            through their config. An object that would cross it is refused
            with `MPIStoreFullError`, on the rank that holds its key.
        full_timeout: Seconds a put or set waits, retrying, for room on a full
            rank before raising `MPIStoreFullError` (``0``: at once).

    Raises:
        MPIConnectorError: If MPI was not initialized with
            ``MPI_THREAD_MULTIPLE`` (the service answers from a thread).
        ValueError: If ``timeout`` is not positive, ``capacity`` is not a
            positive number of bytes or ``full_timeout`` is negative.
    """

    __module__ = _PUBLIC_MODULE

    Key = MPIKey

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        capacity: int | None = None,
        full_timeout: float = 0.0,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f'timeout must be positive, not {timeout!r}.')
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0
        ):
            raise ValueError(
                f'capacity must be a positive number of bytes, not {capacity!r}.'
            )
        if not full_timeout >= 0:
            raise ValueError(f'full_timeout must be 0 or more, not {full_timeout!r}.')
        self.timeout = timeout
        self.capacity = capacity
        self.full_timeout = full_timeout
        self._service: RankService = get_service()
        if capacity is not None:
            self._service.capacity = capacity
        self._own: set[str] = set()

    @property
    def rank(self) -> int:
        """This process's rank in ``MPI.COMM_WORLD``."""
        return self._service.rank

    def __repr__(self) -> str:
        return (
            f'MPIConnector(rank={self.rank}, size={self._service.size}, '
            f'timeout={self.timeout})'
        )

    def __enter__(self) -> MPIConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self, clear: bool = False) -> None:
        """Release the connector; with ``clear``, evict the objects it put.

        The rank's service keeps running for the other connectors and ranks
        (see `close_service`).
        """
        if clear:
            for object_id in list(self._own):
                self._service.drop(bytes.fromhex(object_id))
        self._own.clear()

    def config(self) -> dict[str, Any]:
        """The connector's options (those at their defaults are left out)."""
        config: dict[str, Any] = {}
        if self.timeout != DEFAULT_TIMEOUT:
            config['timeout'] = self.timeout
        if self.capacity is not None:
            config['capacity'] = self.capacity
        if self.full_timeout:
            config['full_timeout'] = self.full_timeout
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MPIConnector:
        """Make a connector from the output of `config` (in any rank of the job)."""
        return cls(**config)

    # --- keys -----------------------------------------------------------------------

    def _check(self, key: MPIKey) -> bytes:
        check_key(self, key, MPIKey)
        size = self._service.size
        if not isinstance(key.rank, int) or not 0 <= key.rank < size:
            raise MPIConnectorError(
                f'{key!r} names rank {key.rank}, but this job has ranks 0 to '
                f'{size - 1}: the key comes from another MPI job.',
            )
        try:
            object_id = bytes.fromhex(key.object_id)
        except (TypeError, ValueError):
            object_id = b''
        if len(object_id) != 16:
            raise MPIConnectorError(f'{key!r} has an invalid object id.')
        if not isinstance(key.size, int) or key.size < -1:
            raise MPIConnectorError(f'{key!r} has an invalid size.')
        return object_id

    def new_key(self, obj: BytesLike | None = None) -> MPIKey:
        """A new key held by this rank; with ``obj``, also store it."""
        size = -1 if obj is None else memoryview(obj).nbytes
        key = MPIKey(self.rank, uuid.uuid4().hex, size)
        if obj is not None:
            self.set(key, obj)
        return key

    # --- operations -----------------------------------------------------------------

    def put(self, obj: BytesLike) -> MPIKey:
        """Keep the bytes in this rank and return their key."""
        return self.new_key(obj)

    def put_batch(self, objs: Sequence[BytesLike]) -> list[MPIKey]:
        """`put` for many objects, in order."""
        return [self.put(obj) for obj in objs]

    def set(self, key: MPIKey, obj: BytesLike) -> None:
        """Store bytes under a key made by `new_key` (sent to its rank if remote).

        Raises:
            MPIStoreFullError: If the key's rank has no room within
                ``full_timeout`` seconds.
        """
        object_id = self._check(key)
        retry_while_full(lambda: self._set(key, object_id, obj), self.full_timeout)

    def _set(self, key: MPIKey, object_id: bytes, obj: BytesLike) -> None:
        if key.rank == self.rank:
            # A copy of a mutable buffer: the caller may change it afterwards.
            data = obj if type(obj) is bytes else memoryview(obj).tobytes()
            self._service.store(object_id, data)
            self._own.add(key.object_id)
            return
        ((status, _),) = self._service.request(
            key.rank, Op.SET, [object_id], self.timeout, payload=obj
        )
        if status is Status.FULL:
            size = memoryview(obj).nbytes
            raise MPIStoreFullError(
                f'rank {key.rank} cannot hold an object of {size} bytes: it is '
                'at its capacity; evict objects or give the connectors a larger '
                'capacity'
            )

    def get(self, key: MPIKey) -> BytesLike | None:
        """The bytes under ``key``, from whichever rank holds them."""
        return self._one(Op.GET, key)[1]

    def get_batch(self, keys: Sequence[MPIKey]) -> list[BytesLike | None]:
        """`get` for many keys: the requests to each rank leave together."""
        return self._batch(Op.GET, keys, lambda s, d: d)

    def exists(self, key: MPIKey) -> bool:
        """Whether the rank named by ``key`` holds an object under it."""
        return self._one(Op.EXISTS, key)[0] is Status.FOUND

    def evict(self, key: MPIKey) -> None:
        """Remove the object under ``key`` from its rank; missing is fine."""
        self._one(Op.EVICT, key)
        self._own.discard(key.object_id)

    def evict_batch(self, keys: Sequence[MPIKey]) -> None:
        """`evict` for many keys: the requests to each rank leave together."""
        self._batch(Op.EVICT, keys, lambda s, d: None)
        for key in keys:
            self._own.discard(key.object_id)

    def _one(self, op: Op, key: MPIKey) -> tuple[Status, BytesLike | None]:
        # One key without the batch's bookkeeping: small gets are latency-bound.
        object_id = self._check(key)
        if key.rank == self.rank:
            return self._local(op, object_id)
        return self._service.request(
            key.rank, op, [object_id], self.timeout, sizes=[key.size]
        )[0]

    def _batch(self, op: Op, keys: Sequence[MPIKey], result: Any) -> list[Any]:
        ids = [self._check(key) for key in keys]
        answers: list[Any] = [None] * len(keys)
        by_rank: dict[int, list[int]] = {}
        for index, key in enumerate(keys):
            if key.rank == self.rank:
                answers[index] = result(*self._local(op, ids[index]))
            else:
                by_rank.setdefault(key.rank, []).append(index)
        for peer, indices in by_rank.items():
            replies = self._service.request(
                peer,
                op,
                [ids[i] for i in indices],
                self.timeout,
                sizes=[keys[i].size for i in indices],
            )
            for index, (status, data) in zip(indices, replies, strict=True):
                answers[index] = result(status, data)
        return answers

    def _local(self, op: Op, object_id: bytes) -> tuple[Status, BytesLike | None]:
        if op is Op.GET:
            data = self._service.load(object_id)
            return (Status.MISSING if data is None else Status.FOUND), data
        if op is Op.EXISTS:
            found = self._service.has(object_id)
            return (Status.FOUND if found else Status.MISSING), None
        self._service.drop(object_id)
        return Status.DONE, None
