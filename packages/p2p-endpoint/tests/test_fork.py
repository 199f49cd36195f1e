"""The endpoint connector across ``fork()``: every process reads its own answers.

A forked child inherits the parent's kept-alive HTTP connections. Were it to
use them, parent and child would write requests on one socket and read each
other's responses: a ``get`` would return another key's object.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointConnectorError
from proxystore.connectors.endpoint import EndpointKey
from proxystore.connectors.endpoint import _http
from proxystore.store import Store
from proxystore.testing.endpoint import EndpointProcess

pytestmark = [
    pytest.mark.skipif(
        sys.platform == 'win32' or not hasattr(os, 'fork'), reason='needs fork()'
    ),
    # Python 3.12+ warns on fork() of a process with threads: forking is the
    # point of these tests (the threads are not the pools' concern).
    pytest.mark.filterwarnings(
        'ignore:This process .* is multi-threaded:DeprecationWarning'
    ),
]

KEYS = 60
WORKERS = 2
TASKS = 4
# A child that read the parent's answers would wait for its own until this
# timeout: short, so a failure shows in seconds, long for a loopback answer.
TIMEOUT = 10.0
# Most seconds the whole exchange may take before the test gives up.
BOUND = 120.0

# The store a forked worker inherits (set before the pool forks).
_store: Store[EndpointConnector] | None = None


def _value(index: int) -> bytes:
    # Distinct values of distinct sizes: a mix-up shows in length and content.
    return f'value-{index:04d}-'.encode() * (index + 1)


def _read_all(keys: list[tuple[int, EndpointKey]]) -> dict[str, Any]:
    """In a worker: read every key through the inherited store; report mix-ups."""
    assert _store is not None
    wrong: list[int] = []
    errors: list[str] = []
    for index, key in keys:
        try:
            value = _store.get(key)
        except EndpointConnectorError as error:
            errors.append(f'{index}: {error!r}')
            continue
        if value != _value(index):
            wrong.append(index)
    return {'pid': os.getpid(), 'wrong': wrong, 'errors': errors}


@pytest.fixture
def store(solo: EndpointProcess) -> Generator[Store[EndpointConnector]]:
    global _store
    with Store('fork-test', solo.connector(timeout=TIMEOUT), cache_size=0) as store:
        _store = store
        try:
            yield store
        finally:
            _store = None


def test_forked_pool_reads_its_own_answers(store: Store[EndpointConnector]) -> None:
    keys = [(i, store.put(_value(i))) for i in range(KEYS)]
    # One get before the fork leaves a kept-alive connection in the pool.
    assert store.get(keys[0][1]) == _value(0)

    context = multiprocessing.get_context('fork')
    chunks = [keys[i::TASKS] for i in range(TASKS)]
    pool = context.Pool(WORKERS)
    try:
        pending = [pool.apply_async(_read_all, (chunk,)) for chunk in chunks * 2]
        # The parent reads every key too while the workers read theirs.
        mine = _read_all(keys)
        results = [result.get(timeout=BOUND) for result in pending]
    finally:
        pool.terminate()
        pool.join()

    everyone = [mine, *results]
    wrong = sum(len(result['wrong']) for result in everyone)
    errors = sum(len(result['errors']) for result in everyone)
    failed = [result['pid'] for result in results if result['errors']]
    assert (wrong, errors) == (0, 0), (
        f'{wrong} wrong values, {errors} failed reads '
        f'(workers with failures: {len(set(failed))}): {everyone}'
    )
    assert all(result['pid'] != os.getpid() for result in results)
    assert sum(len(chunk) for chunk in chunks * 2) == 2 * KEYS


def test_child_drops_inherited_connections(solo: EndpointProcess) -> None:
    # The parent keeps an idle connection; the child must neither reuse nor
    # shut it, and the parent's connection keeps working after the child exits.
    assert solo.ready()
    pool = _http._pool('127.0.0.1', solo.config.port)
    assert pool.idle, 'expected a kept-alive connection'
    parent_socket = pool.idle[-1].sock
    assert parent_socket is not None

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            child_pool = _http._pool('127.0.0.1', solo.config.port)
            ok = child_pool is not pool and not child_pool.idle and solo.ready()
            code = 0 if ok else 2
        finally:
            os.write(writer, bytes([code]))
            os._exit(0)
    os.close(writer)
    try:
        status = os.read(reader, 1)
    finally:
        os.close(reader)
        os.waitpid(pid, 0)
    assert status == b'\x00'
    # The parent's socket is still its own and still answers.
    assert _http._pool('127.0.0.1', solo.config.port) is pool
    assert solo.ready()
    assert parent_socket.fileno() != -1


def test_fork_without_hooks_is_seen_by_pid(
    solo: EndpointProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fork() called from C runs no Python fork hooks: the pools then notice
    # the new pid on their next use. Simulated by a pools pid that is not ours.
    assert solo.ready()
    old = _http._pool('127.0.0.1', solo.config.port)
    assert old.idle
    inherited = old.idle[-1]
    monkeypatch.setattr(_http, '_pools_pid', -1)
    new = _http._pool('127.0.0.1', solo.config.port)
    assert new is not old
    assert _http._pools_pid == os.getpid()
    assert old.idle == [] and old.busy == set()
    assert inherited.sock is None
    assert solo.ready()
    assert new.idle


def test_packet_sizes_lock_held_at_fork() -> None:
    """A thread holds the process's packet-size lock; the forked child takes it."""
    from proxystore.p2p.packets import packet_sizes
    from proxystore.testing.fork import held_by_a_thread
    from proxystore.testing.fork import run_in_fork

    def child() -> None:
        owner = object()
        packet_sizes.allow(owner, 8_000)  # takes the lock
        assert packet_sizes.current == 8_000
        packet_sizes.release(owner)

    with held_by_a_thread(packet_sizes._lock):
        run_in_fork(child, timeout=10)
