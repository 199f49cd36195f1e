"""Every rank takes part: objects of one rank read, evicted and set by others."""

from __future__ import annotations

import pickle
import threading
import time
import uuid

import numpy
import pytest
from mpi4py import MPI

from proxystore.connectors.mpi import MPIConnector
from proxystore.connectors.mpi import MPIConnectorError
from proxystore.connectors.mpi import MPIKey
from proxystore.connectors.mpi import MPIStoreFullError
from proxystore.connectors.mpi._protocol import REQUEST
from proxystore.connectors.mpi._protocol import Tags
from proxystore.connectors.protocols import StoreFullError
from proxystore.proxy import is_resolved
from proxystore.store import Store

from .conftest import barrier

pytestmark = pytest.mark.mpi


def test_proxies_resolve_on_every_rank(
    comm: MPI.Intracomm, connector: MPIConnector
) -> None:
    rank = comm.Get_rank()
    with Store('ranks', connector, register=True, cache_size=0) as store:
        mine = store.proxy(numpy.full(1000, rank, dtype=numpy.int64))
        proxies = comm.allgather(mine)  # pickled: only the factory travels
        assert len(pickle.dumps(mine)) < 512
        for owner, proxy in enumerate(proxies):
            assert owner == rank or not is_resolved(proxy)
            assert int(proxy.sum()) == 1000 * owner
        barrier()


def test_concurrent_gets_of_one_key(
    comm: MPI.Intracomm, connector: MPIConnector
) -> None:
    data = numpy.random.default_rng(7).bytes(8 * 1024 * 1024 + 5)
    key = comm.bcast(connector.put(data) if comm.Get_rank() == 0 else None)
    for _ in range(3):
        barrier()
        assert bytes(connector.get(key)) == data  # every rank at once


def test_threads_of_every_rank_share_the_services(
    comm: MPI.Intracomm, connector: MPIConnector
) -> None:
    keys = comm.allgather(
        [connector.put(f'{comm.Get_rank()}-{i}'.encode()) for i in range(8)]
    )
    errors: list[BaseException] = []

    def read(owner: int) -> None:
        try:
            for i, key in enumerate(keys[owner]):
                assert bytes(connector.get(key)) == f'{owner}-{i}'.encode()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=read, args=(o,)) for o in range(comm.Get_size())]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors


def test_batches_across_ranks(comm: MPI.Intracomm, connector: MPIConnector) -> None:
    keys = comm.allgather(connector.put_batch([b'a' * comm.Get_rank(), b'b']))
    flat = [key for pair in keys for key in pair]
    values = connector.get_batch(flat)
    assert [bytes(v) for v in values] == [
        value for r in range(comm.Get_size()) for value in (b'a' * r, b'b')
    ]
    barrier()
    if comm.Get_rank() == comm.Get_size() - 1:
        connector.evict_batch(flat)
    barrier()
    assert connector.get_batch(flat) == [None] * len(flat)


def test_evict_by_a_non_owner(comm: MPI.Intracomm, connector: MPIConnector) -> None:
    key = comm.bcast(connector.put(b'doomed') if comm.Get_rank() == 0 else None)
    assert connector.exists(key)
    barrier()
    if comm.Get_rank() == comm.Get_size() - 1:
        connector.evict(key)
    barrier()
    assert not connector.exists(key)
    assert connector.get(key) is None


def test_missing_keys_of_other_ranks(
    comm: MPI.Intracomm, connector: MPIConnector
) -> None:
    other = (comm.Get_rank() + 1) % comm.Get_size()
    key = MPIKey(other, uuid.uuid4().hex)
    assert connector.get(key) is None
    assert not connector.exists(key)
    connector.evict(key)  # missing is not an error


def test_set_from_another_rank(comm: MPI.Intracomm, connector: MPIConnector) -> None:
    # A key named by rank 0 is filled by the last rank (what futures do).
    key = comm.bcast(connector.new_key() if comm.Get_rank() == 0 else None)
    if comm.Get_rank() == comm.Get_size() - 1:
        connector.set(key, memoryview(b'filled remotely'))
    barrier()
    assert bytes(connector.get(key)) == b'filled remotely'


def test_futures_across_ranks(comm: MPI.Intracomm, connector: MPIConnector) -> None:
    with Store('futures-ranks', connector, register=True) as store:
        future = comm.bcast(store.future() if comm.Get_rank() == 0 else None)
        if comm.Get_rank() == comm.Get_size() - 1:
            future.set_result({'from': comm.Get_rank()})
        assert future.result(timeout=30) == {'from': comm.Get_size() - 1}
        barrier()


def test_owner_busy_computing(comm: MPI.Intracomm, connector: MPIConnector) -> None:
    # Rank 0 computes (pure Python, holding the GIL) while the others read
    # from it: its service answers between the interpreter's thread switches.
    key = comm.bcast(connector.put(b'x' * 100_000) if comm.Get_rank() == 0 else None)
    barrier()
    if comm.Get_rank() == 0:
        end = time.perf_counter() + 1.5
        total = 0
        while time.perf_counter() < end:
            total += sum(range(1000))
        assert total > 0
    else:
        start = time.perf_counter()
        for _ in range(20):
            assert len(connector.get(key)) == 100_000
        # 20 requests in well under the 1.5 s of computation.
        assert time.perf_counter() - start < 1.0
    barrier()


def test_bad_keys(comm: MPI.Intracomm, connector: MPIConnector) -> None:
    with pytest.raises(
        MPIConnectorError, match='names rank 99, but this job has ranks 0 to'
    ):
        connector.get(MPIKey(99, uuid.uuid4().hex))
    with pytest.raises(MPIConnectorError, match='invalid object id'):
        connector.exists(MPIKey(0, 'not-hex'))
    with pytest.raises(TypeError, match='MPIConnector keys are MPIKey'):
        connector.evict(('a', 'b'))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='timeout must be positive'):
        MPIConnector(timeout=0)


def test_a_malformed_request_is_dropped(
    comm: MPI.Intracomm, connector: MPIConnector
) -> None:
    # A message on the request tag that no connector sent (an unknown
    # operation): the service drops it and goes on answering.
    key = comm.bcast(connector.put(b'still served') if comm.Get_rank() == 0 else None)
    if comm.Get_rank() == 1:
        junk = REQUEST.pack(99, 0, 0, bytes(16))
        comm.Send([junk, MPI.BYTE], 0, Tags(comm).request)
    barrier()
    assert bytes(connector.get(key)) == b'still served'


def test_keys_with_unknown_or_wrong_sizes(
    comm: MPI.Intracomm, connector: MPIConnector
) -> None:
    # A key made by put carries the size, and the bytes come without a header;
    # without it (a key from new_key), or with a wrong one, a header comes first.
    key = comm.bcast(connector.put(b'sized' * 1000) if comm.Get_rank() == 0 else None)
    assert key.size == 5000
    for variant in (key, key._replace(size=-1), key._replace(size=7)):
        assert bytes(connector.get(variant)) == b'sized' * 1000
    missing = MPIKey(0, uuid.uuid4().hex, 5000)
    assert connector.get(missing) is None
    # Headers and bytes share a buffer: sizes around a header's are told apart.
    for size in (0, 15, 16, 17):
        key = comm.bcast(connector.put(b'h' * size) if comm.Get_rank() == 0 else None)
        assert bytes(connector.get(key)) == b'h' * size
        assert connector.get(key._replace(object_id=uuid.uuid4().hex)) is None
    with pytest.raises(MPIConnectorError, match='invalid size'):
        connector.get(key._replace(size=-5))


def test_a_forked_child_of_a_rank_gets_a_typed_error(connector: MPIConnector) -> None:
    """A child forked from a rank must not share the rank's service."""
    import os

    from proxystore.connectors.mpi._service import get_service

    get_service()  # the parent's service exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what get_service did, touch nothing else
        os.close(read)
        try:
            get_service()
            message = b'no error'
        except MPIConnectorError as error:
            message = str(error).encode()
        except BaseException as error:  # pragma: no cover - reported below
            message = repr(error).encode()
        os.write(write, message)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, 'rb') as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    assert 'cannot be used in a process forked from an MPI rank' in message, message


def test_a_rank_at_its_capacity_refuses_puts_and_sets(comm: MPI.Intracomm) -> None:
    rank, size = comm.Get_rank(), comm.Get_size()
    peer = (rank + 1) % size
    service = MPIConnector()._service
    held = service._nbytes  # objects earlier tests left on this rank
    bounded = MPIConnector(capacity=held + 64 * 1024, full_timeout=0)
    try:
        assert bounded.config()['capacity'] == held + 64 * 1024
        mine = bounded.put(bytes(60 * 1024))
        with pytest.raises(MPIStoreFullError) as info:
            bounded.put(bytes(10 * 1024))
        assert isinstance(info.value, StoreFullError)
        assert str(info.value).startswith(
            f'rank {rank} cannot hold an object of 10240 bytes: its capacity is '
            f'{held + 64 * 1024} bytes and {held + 60 * 1024} are held by'
        )
        keys = comm.allgather(bounded.new_key())  # nothing stored under them yet
        barrier()
        if size > 1:
            with pytest.raises(MPIStoreFullError, match=f'^rank {peer} cannot hold'):
                bounded.set(keys[peer], bytes(10 * 1024))
        barrier()
        bounded.evict(mine)
        barrier()
        bounded.set(keys[peer], bytes(10 * 1024))  # room on the peer now
        barrier()
        assert bytes(bounded.get(keys[peer]) or b'') == bytes(10 * 1024)
        bounded.evict(keys[peer])
    finally:
        barrier()
        service.capacity = None


def test_capacity_options_are_checked() -> None:
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match='capacity must be a positive number'):
            MPIConnector(capacity=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='full_timeout must be 0 or more, not -1'):
        MPIConnector(full_timeout=-1)
