"""Actors on real engines: a thread pool with the local mailbox, process pools
with the Redis mailbox (a real redis-server)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
import pickle
import time
import uuid
from collections.abc import Generator

import pytest

from proxystore.actors import ActionError
from proxystore.actors import Actor
from proxystore.actors import ActorError
from proxystore.actors import ActorStoppedError
from proxystore.actors import ActorSystem
from proxystore.actors import ActorTimeoutError
from proxystore.actors import LocalMailbox
from proxystore.actors import RedisMailbox
from proxystore.actors import UnknownActionError
from proxystore.actors import action
from proxystore.actors import loop
from proxystore.actors import messages
from proxystore.actors import timer
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store import unregister_store
from proxystore.testing.actors import Broken
from proxystore.testing.actors import Counter
from proxystore.testing.actors import Gate
from proxystore.testing.actors import Pool
from proxystore.testing.actors import Relay
from proxystore.testing.actors import Ticker
from proxystore.testing.actors import add_from_task
from proxystore.testing.redis import RedisServer

TIMEOUT = 60


@pytest.fixture
def local_system() -> Generator[ActorSystem]:
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        with ActorSystem(pool, LocalMailbox(uuid.uuid4().hex)) as system:
            yield system


@pytest.fixture(scope='module')
def process_pool() -> Generator[concurrent.futures.ProcessPoolExecutor]:
    context = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        yield pool


@pytest.fixture
def redis_mailbox(redis_server: RedisServer) -> Generator[RedisMailbox]:
    box = RedisMailbox('127.0.0.1', redis_server.port, prefix=uuid.uuid4().hex[:8])
    yield box
    box.close()


@pytest.fixture
def redis_system(
    process_pool: concurrent.futures.ProcessPoolExecutor, redis_mailbox: RedisMailbox
) -> Generator[ActorSystem]:
    with ActorSystem(process_pool, redis_mailbox) as system:
        yield system


def test_calls_run_one_at_a_time_in_order(local_system: ActorSystem) -> None:
    counter = local_system.spawn(Counter, 10, name='c')
    futures = [counter.add(n) for n in range(1, 51)]
    results = [f.result(timeout=TIMEOUT) for f in futures]
    assert results == [10 + n * (n + 1) // 2 for n in range(1, 51)]
    assert counter.history().result(TIMEOUT) == list(range(1, 51))
    assert counter.was_started().result(TIMEOUT) is True


def test_async_actions_and_awaiting_from_async_code(local_system: ActorSystem) -> None:
    counter = local_system.spawn(Counter)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(counter.async_add(1) for _ in range(20))))

    assert asyncio.run(main()) == list(range(1, 21))


def test_concurrent_action_runs_beside_a_blocked_one(local_system: ActorSystem) -> None:
    gate = local_system.spawn(Gate)
    waiting = gate.wait(30)
    assert gate.open().result(TIMEOUT) == 'opened'
    assert waiting.result(TIMEOUT) is True


def test_errors_are_typed(local_system: ActorSystem) -> None:
    counter = local_system.spawn(Counter, name='typed')
    with pytest.raises(
        ActionError, match="Action 'fail' of actor 'typed' raised"
    ) as info:
        counter.fail('boom').result(TIMEOUT)
    assert isinstance(info.value.__cause__, KeyError)
    assert 'KeyError' in info.value.remote_traceback
    with pytest.raises(UnknownActionError, match="has no action 'nothing'"):
        counter.nothing().result(TIMEOUT)
    with pytest.raises(UnknownActionError, match="no action 'not_an_action'"):
        counter.not_an_action().result(TIMEOUT)
    with pytest.raises(ActionError, match='unexpected keyword argument'):
        counter.add(m=3).result(TIMEOUT)
    assert counter.get().result(TIMEOUT) == 0  # the actor still runs


def test_spawn_errors(local_system: ActorSystem) -> None:
    with pytest.raises(TypeError, match='spawn takes an Actor subclass'):
        local_system.spawn(dict)  # type: ignore[type-var]
    with pytest.raises(ActionError, match='cannot build'):
        local_system.spawn(Broken)


def test_system_arguments() -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with pytest.raises(ValueError, match='hosts must be a positive integer'):
            ActorSystem(pool, LocalMailbox(), hosts=0)
        with pytest.raises(TypeError, match='mailbox must be a Mailbox'):
            ActorSystem(pool, object())  # type: ignore[arg-type]


def test_tell_ping_stop_kill(local_system: ActorSystem) -> None:
    counter = local_system.spawn(Counter, name='lifecycle')
    for _ in range(5):
        counter.tell('add', 2)
    assert counter.get().result(TIMEOUT) == 10  # tells before it ran, in order
    status = counter.ping()
    assert status['name'] == 'lifecycle' and status['done'] >= 6
    counter.stop()
    with pytest.raises(ActorStoppedError, match="Actor 'lifecycle' is stopped"):
        counter.get()
    other = local_system.spawn(Counter)
    other.kill()
    with pytest.raises(ActorStoppedError):
        other.add(1)


def test_stop_drains_the_queue(local_system: ActorSystem) -> None:
    counter = local_system.spawn(Counter)
    futures = [counter.add(1) for _ in range(20)]
    counter.stop(drain=True)
    assert [f.result(TIMEOUT) for f in futures] == list(range(1, 21))


def test_call_timeout(local_system: ActorSystem) -> None:
    gate = local_system.spawn(Gate)
    start = time.monotonic()
    with pytest.raises(ActorTimeoutError, match="did not answer 'wait' in time"):
        gate.wait.options(timeout=0.3)(5).result(TIMEOUT)
    assert time.monotonic() - start < 30
    assert isinstance(ActorTimeoutError('x'), TimeoutError)
    gate.open().result(TIMEOUT)


def test_describe() -> None:
    described = Counter.describe()
    assert 'not_an_action' not in described
    assert described['add'] == {
        'signature': '(n: int = 1) -> int',
        'doc': 'Add ``n``; the new value.',
        'concurrent': False,
        'group': None,
        'async': False,
    }
    assert described['async_add']['async'] is True
    assert Gate.describe()['open']['concurrent'] is True


def test_handles_are_small_and_picklable(local_system: ActorSystem) -> None:
    counter = local_system.spawn(Counter)
    blob = pickle.dumps(counter)
    assert len(blob) < 400
    again = pickle.loads(blob)
    assert again == counter
    assert again.add(5).result(TIMEOUT) == 5


def test_actors_in_worker_processes_over_redis(redis_system: ActorSystem) -> None:
    counter = redis_system.spawn(Counter)
    assert counter.pid().result(TIMEOUT) != __import__('os').getpid()
    results = [counter.add(1) for _ in range(30)]
    assert [f.result(TIMEOUT) for f in results] == list(range(1, 31))


def test_a_handle_passed_into_tasks_and_actors(
    redis_system: ActorSystem, process_pool: concurrent.futures.ProcessPoolExecutor
) -> None:
    counter = redis_system.spawn(Counter)
    done = [process_pool.submit(add_from_task, counter, 1) for _ in range(6)]
    assert sorted(f.result(TIMEOUT) for f in done) == list(range(1, 7))
    relay = redis_system.spawn(Relay, counter)
    assert relay.forward(10).result(TIMEOUT) == 16


def test_large_values_round_trip(redis_system: ActorSystem) -> None:
    numpy = pytest.importorskip('numpy')
    counter = redis_system.spawn(Counter)
    array = numpy.arange(1_000_000, dtype='float64')
    assert numpy.array_equal(counter.echo(array).result(TIMEOUT), array)


def test_forged_and_malformed_messages_are_dropped(
    process_pool: concurrent.futures.ProcessPoolExecutor,
    redis_mailbox: RedisMailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = uuid.uuid4().hex
    # The spawn pool's workers are not forks: they learn the secret from the
    # environment, as the docs say.
    monkeypatch.setenv('PROXYSTORE_SECRET', secret)
    with concurrent.futures.ThreadPoolExecutor(2) as threads:
        with ActorSystem(threads, redis_mailbox, secret=secret) as system:
            counter = system.spawn(Counter)
            assert counter.add(1).result(TIMEOUT) == 1
            forged = messages.encode(
                {'kind': 'call', 'action': 'add', 'call': 'x'},
                messages.dump_frames(((100,), {})),
            )
            redis_mailbox.send(counter.address, forged)  # no tag
            redis_mailbox.send(counter.address, b'garbage')
            wrong = messages.encode(
                {'kind': 'call', 'action': 'add', 'call': 'y'},
                messages.dump_frames(((1000,), {})),
                secret=b'another secret',
            )
            redis_mailbox.send(counter.address, wrong)
            assert counter.add(1).result(TIMEOUT) == 2  # none of them ran


def test_a_system_closes_once_and_refuses_spawns(local_system: ActorSystem) -> None:
    local_system.close()
    local_system.close()
    with pytest.raises(ActorError, match='closed'):
        local_system.spawn(Counter)


class Plain(Actor):
    pass


def test_actor_without_actions(local_system: ActorSystem) -> None:
    handle = local_system.spawn(Plain)
    assert Plain.describe() == {}
    with pytest.raises(UnknownActionError):
        handle.anything().result(TIMEOUT)


def test_large_arguments_and_results_go_by_proxy(
    process_pool: concurrent.futures.ProcessPoolExecutor, redis_server: RedisServer
) -> None:
    numpy = pytest.importorskip('numpy')
    mailbox = RedisMailbox('127.0.0.1', redis_server.port, prefix=uuid.uuid4().hex[:8])
    client = redis_server.client()

    def redis_input() -> int:
        return int(client.info('stats')['total_net_input_bytes'])

    connector = SharedMemoryConnector()
    store = Store(f'actors-{uuid.uuid4().hex[:8]}', connector, register=True)
    try:
        with ActorSystem(process_pool, mailbox, store=store) as system:
            counter = system.spawn(Counter)
            array = numpy.ones(5_000_000)  # 40 MB
            before = redis_input()
            assert counter.total(array).result(TIMEOUT) == 5_000_000.0
            # The call went by reference: the bytes never reached Redis.
            assert redis_input() - before < 1_000_000
            made = counter.make(2_000_000).result(TIMEOUT)
            assert isinstance(made, Proxy)  # the result came by reference
            assert made.shape == (2_000_000,) and float(made.sum()) == 2_000_000.0
            # Small values are sent by value.
            assert counter.echo(numpy.ones(10)).result(TIMEOUT).sum() == 10
            # Each proxy was evicted when it was resolved: nothing is left.
            assert [k for k in os.listdir(connector.directory) if k[0] != '.'] == []
        mailbox.close()
    finally:
        client.close()
        unregister_store(store)
        store.close()


def test_hosts_on_a_dask_cluster(redis_mailbox: RedisMailbox) -> None:
    distributed = pytest.importorskip('dask.distributed')
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=True,
        dashboard_address=':0',
        host='127.0.0.1',
    )
    with cluster, distributed.Client(cluster) as client:
        # A host is one long-running task on a worker: one slot of two.
        with ActorSystem(client.get_executor(), redis_mailbox) as system:
            counter = system.spawn(Counter)
            results = [counter.add(1) for _ in range(10)]
            assert [f.result(TIMEOUT) for f in results] == list(range(1, 11))
            worker_pids = client.run(os.getpid)
            assert counter.pid().result(TIMEOUT) in worker_pids.values()
            # The other slot runs tasks that call the actor.
            done = client.submit(add_from_task, counter, 5, pure=False)
            assert done.result(TIMEOUT) == 15


def test_calls_by_method_and_default_timeouts(local_system: ActorSystem) -> None:
    counter = local_system.spawn(Counter)
    assert counter.call(Counter.add, 2).result(TIMEOUT) == 2
    assert counter.call(Counter.async_add, 3).result(TIMEOUT) == 5
    counter.tell(Counter.add, n=1)
    assert counter.call('get').result(TIMEOUT) == 6
    with pytest.raises(TypeError, match='named by a string or given as the method'):
        counter.call(42)  # type: ignore[call-overload]
    gate = local_system.spawn(Gate)
    with pytest.raises(ActorTimeoutError):
        gate.with_timeout(0.3).call(Gate.wait, 5).result(TIMEOUT)
    gate.open().result(TIMEOUT)


def test_concurrency_groups_limit_their_calls(local_system: ActorSystem) -> None:
    pool = local_system.spawn(Pool)
    peaks = [f.result(TIMEOUT) for f in [pool.fetch() for _ in range(6)]]
    assert max(peaks) == 2  # pairs ran together, never three


def test_timers_and_loops(local_system: ActorSystem) -> None:
    ticker = local_system.spawn(Ticker)
    deadline = time.monotonic() + 30
    ticks, spins = 0, 0
    while (ticks < 3 or spins < 3) and time.monotonic() < deadline:
        ticks, spins = ticker.counts().result(TIMEOUT)
    assert ticks >= 3 and spins >= 3
    ticker.stop()


def test_bad_declarations() -> None:
    with pytest.raises(ValueError, match='concurrent=True .no limit. or in a named'):
        action(concurrent=True, group='io')
    with pytest.raises(ValueError, match='positive number of seconds'):
        timer(0)
    with pytest.raises(TypeError, match='@loop runs async methods'):
        loop(lambda self: None)

    class NoLimit(Actor):
        @action(group='db')
        def query(self) -> None:
            """Nothing."""

    with pytest.raises(ValueError, match="group 'db', which has no limit"):
        NoLimit.check()

    class BadLimit(Actor):
        concurrency_groups = {'db': 0}  # noqa: RUF012

    with pytest.raises(ValueError, match='must be a positive integer, not 0'):
        BadLimit.check()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with ActorSystem(pool, LocalMailbox(uuid.uuid4().hex)) as system:
            with pytest.raises(ValueError, match='has no limit'):
                system.spawn(NoLimit)
