"""Ownership on real engines (threads, processes, Dask) over shared channels."""

from __future__ import annotations

import gc
import os
import pathlib
import signal
import time
from collections.abc import Callable
from collections.abc import Generator
from typing import Any

import pytest

from proxystore.ownership import OwnedProxy
from proxystore.ownership import ReferenceInvalidError
from proxystore.ownership import ReferenceMovedError
from proxystore.ownership import borrow
from proxystore.ownership import into_owned
from proxystore.ownership import mut_borrow
from proxystore.ownership import submit
from proxystore.store import Store
from proxystore.store.executor import ProxyAlways
from proxystore.store.executor import StoreExecutor
from proxystore.store.utils import get_key
from proxystore.testing.engines import Engine
from proxystore.testing.engines import engine as start_engine
from proxystore.testing.ownership import append_and_update
from proxystore.testing.ownership import concatenate
from proxystore.testing.ownership import length_after
from proxystore.testing.ownership import length_and_pid

from .conftest import stored_keys

TIMEOUT = 60


@pytest.fixture(scope='module', params=['threads', 'processes', 'dask'])
def engine(request: pytest.FixtureRequest) -> Generator[Engine]:
    with start_engine(request.param) as engine:
        yield engine


def _eventually(condition: Callable[[], bool], timeout: float = 20) -> bool:
    """Done-callbacks and worker finalizers run a moment after a result is in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gc.collect()
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_diamond_leaves_nothing_behind(
    engine: Engine, shared_store: Store[Any]
) -> None:
    #      a
    #    /   \
    #   b     c      each task borrows its inputs; the driver owns every result
    #    \   /
    #      d
    a = shared_store.owned_proxy(list(range(5)))
    b_future = submit(engine.submit, args=(concatenate, borrow(a)))
    c_future = submit(engine.submit, args=(concatenate, borrow(a), borrow(a)))
    b = into_owned(b_future.result(timeout=TIMEOUT))
    c = into_owned(c_future.result(timeout=TIMEOUT))
    key_a = get_key(a)
    del a  # evicted once the tasks that borrow it are done
    assert _eventually(lambda: not shared_store.exists(key_a))
    d_future = submit(engine.submit, args=(concatenate, borrow(b), borrow(c)))
    d = into_owned(d_future.result(timeout=TIMEOUT))
    assert d == list(range(5)) * 3
    del b, c, b_future, c_future, d_future
    assert _eventually(lambda: stored_keys(shared_store) == 1)  # only d
    del d
    assert _eventually(lambda: stored_keys(shared_store) == 0)


def test_the_owner_outlives_no_borrow(engine: Engine, shared_store: Store[Any]) -> None:
    owned = shared_store.owned_proxy(list(range(100)))
    key = get_key(owned)
    futures = [
        submit(engine.submit, args=(length_after, borrow(owned), 0.5)) for _ in range(2)
    ]
    del owned  # the tasks are still sleeping: eviction waits for them
    gc.collect()
    assert shared_store.exists(key)
    assert [f.result(timeout=TIMEOUT) for f in futures] == [100] * 2
    assert _eventually(lambda: not shared_store.exists(key))


def test_functions_that_engines_pickle_twice(
    engine: Engine, shared_store: Store[Any]
) -> None:
    # Dask pickles a task again with cloudpickle when its function cannot be
    # pickled by reference (a lambda, or anything from __main__).
    owned = shared_store.owned_proxy(list(range(3)))
    function = len if engine.name == 'processes' else (lambda data: len(data))
    lent = submit(engine.submit, args=(function, borrow(owned)))
    assert lent.result(timeout=TIMEOUT) == 3
    # The done-callback releases the borrow a moment after the result is in:
    # moving the owner before that is refused (MutableBorrowError).
    assert _eventually(lambda: owned.__proxy_ref_count__ == 0)
    key = get_key(owned)
    moved = engine.submit(function, owned)
    assert moved.result(timeout=TIMEOUT) == 3
    if engine.name != 'threads':
        del moved
        assert _eventually(lambda: not shared_store.exists(key))


def test_a_mutable_borrow_updates_the_owner(
    engine: Engine, shared_store: Store[Any]
) -> None:
    owned = shared_store.owned_proxy([1, 2])
    future = submit(engine.submit, args=(append_and_update, mut_borrow(owned), 3))
    assert future.result(timeout=TIMEOUT) == 3
    assert _eventually(lambda: owned.__proxy_ref_mut_count__ == 0)
    assert owned == [1, 2, 3]


def test_an_owner_passed_to_a_task(engine: Engine, shared_store: Store[Any]) -> None:
    owned = shared_store.owned_proxy(list(range(7)))
    key = get_key(owned)
    future = engine.submit(length_and_pid, owned)
    length, _ = future.result(timeout=TIMEOUT)
    assert length == 7
    if engine.name == 'threads':  # shared, not pickled: still the owner here
        assert owned == list(range(7)) and shared_store.exists(key)
        del owned
    else:  # pickled: moved into the task, whose process evicts it
        with pytest.raises(ReferenceInvalidError, match='moved'):
            len(owned)
    del future  # Dask keeps a task's arguments while its future lives
    assert _eventually(lambda: not shared_store.exists(key))


@pytest.mark.parametrize('pool', ['threads', 'processes'])
def test_store_executor_returns_owned_results(
    pool: str, shared_store: Store[Any]
) -> None:
    with start_engine(pool) as engine:
        executor = StoreExecutor(
            engine.submit.__self__,  # the engine's Executor
            shared_store,
            should_proxy=ProxyAlways(),
            close_store=False,
        )
        result = executor.submit(list, range(3)).result(timeout=TIMEOUT)
        assert type(result) is OwnedProxy and result == [0, 1, 2]
        key = get_key(result)
        del result
        assert _eventually(lambda: not shared_store.exists(key))


def test_one_owner_given_to_several_tasks(
    engine: Engine, shared_store: Store[Any]
) -> None:
    # A process pool pickles each task's arguments (map does too), and so
    # does a Dask client per submit: the first task gets the owner, the others
    # a typed error (a process pool's at submission, Dask's when the task uses
    # its copy), never a second owner.
    # Bytes, not a list: Dask's submit walks lists, which uses a moved owner
    # at once (a ReferenceInvalidError from submit itself).
    owned = shared_store.owned_proxy(bytes(4))
    key = get_key(owned)
    futures = [engine.submit(length_and_pid, owned) for _ in range(3)]
    assert futures[0].result(timeout=TIMEOUT)[0] == 4
    for future in futures[1:]:
        if engine.name == 'threads':  # shared, not pickled
            assert future.result(timeout=TIMEOUT)[0] == 4
            continue
        with pytest.raises(ReferenceMovedError, match='borrow'):
            future.result(timeout=TIMEOUT)
    # What the message advises: a borrow per task.
    if engine.name == 'threads':
        lent = [
            submit(engine.submit, args=(length_and_pid, borrow(owned)))
            for _ in range(3)
        ]
        assert [f.result(timeout=TIMEOUT)[0] for f in lent] == [4] * 3
    del owned, futures
    assert _eventually(lambda: not shared_store.exists(key))  # no leak


def test_dask_retries_a_task_whose_worker_died(
    shared_store: Store[Any], tmp_path: pathlib.Path
) -> None:
    # The scheduler resends the same task (the same moved owner) to another
    # worker: the owner moves again, to the worker that runs it.
    if shared_store.name != 'shared-redis':
        pytest.skip('one channel is enough: the retry path is the engine')

    def first_attempt_hangs(data: Any, folder: str) -> int:
        # A local function: Dask sends it by value (the workers cannot import
        # this test module). Writes the worker's pid, then hangs once.
        path = pathlib.Path(folder)
        first = not (path / 'attempt').exists()
        (path / 'attempt').write_text(str(os.getpid()))
        if first:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:  # killed long before
                time.sleep(0.05)
        return len(data)

    with start_engine('dask') as engine:
        owned = shared_store.owned_proxy(list(range(6)))
        key = get_key(owned)
        future = engine.submit(first_attempt_hangs, owned, str(tmp_path))
        marker = tmp_path / 'attempt'
        deadline = time.monotonic() + TIMEOUT
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), 'the first attempt never started'
        os.kill(int(marker.read_text()), signal.SIGKILL)
        assert future.result(timeout=TIMEOUT) == 6  # the object was there
        del future
        assert _eventually(lambda: not shared_store.exists(key))


def test_dask_map_over_one_owner(shared_store: Store[Any]) -> None:
    # One copy in the graph for every task: the scheduler sends it to the
    # first task; the second gets a copy that refuses use, and nothing hangs.
    if shared_store.name != 'shared-redis':
        pytest.skip('one channel is enough: the path is the engine')
    from dask.distributed import get_client

    with start_engine('dask') as engine:
        owned = shared_store.owned_proxy(list(range(3)))
        key = get_key(owned)
        engine.submit(len, [0]).result(timeout=TIMEOUT)  # a client to get
        futures = get_client().map(len, [owned, owned], pure=False)
        errors = [future.exception(timeout=TIMEOUT) for future in futures]
        pairs = zip(futures, errors, strict=True)
        results = [f.result(timeout=TIMEOUT) for f, e in pairs if e is None]
        refused = [e for e in errors if e is not None]
        assert results == [3]  # whichever task was sent first
        assert len(refused) == 1 and type(refused[0]) is ReferenceMovedError
        assert 'borrow(owner)' in str(refused[0])
        del owned, futures, errors, refused
        assert _eventually(lambda: not shared_store.exists(key))


def test_a_process_pool_map_over_one_owner(shared_store: Store[Any]) -> None:
    # map pickles each task's arguments on its own: one owner, then the error.
    with start_engine('processes') as engine:
        pool = engine.submit.__self__  # the engine's Executor
        owned = shared_store.owned_proxy(bytes(5))
        key = get_key(owned)
        results = pool.map(len, [owned] * 3, timeout=TIMEOUT)
        assert next(results) == 5
        with pytest.raises(ReferenceMovedError, match='clone'):
            next(results)
        del results, owned
        assert _eventually(lambda: not shared_store.exists(key))  # no leak
