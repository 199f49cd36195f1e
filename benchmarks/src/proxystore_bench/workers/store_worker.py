"""Measure a store implementation in this process, next to the raw transport.

Run as a script, ``python store_worker.py [options]``. It uses only the ProxyStore
1.x API (`Store`, `LocalConnector`, `FileConnector`, `resolve`), so the same script
measures this project and ProxyStore 1.1.0 (in its own venv); the shared-memory
connector is measured where it exists. Prints one JSON document on stdout.

Measurements, each next to its baseline in this same process:

- ``put_get``: `Store.put` + `Store.get` (no cache) vs pickling the object and
  moving the bytes through the same channel by hand;
- ``resolve``: unpickling a store proxy and resolving it vs `pickle.loads` of the
  pickled object;
- ``proxy_size``: bytes of a pickled store proxy;
- ``roundtrip``: a process-pool task that sums an array (or returns it), with the
  array passed by value vs by proxy.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.metadata
import json
import multiprocessing
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy

SHM = '/dev/shm'
CASES = ('local', 'file', 'file@shm', 'shm', 'redis', 'redis-unix')
# Set by main() from --redis-port / --redis-unix.
REDIS: dict[str, Any] = {}


def total(data: Any) -> float:
    """Task: sum an array (resolves a proxy)."""
    return float(numpy.sum(data))


def identity(data: Any) -> Any:
    """Task: return the argument (a proxy goes back unresolved)."""
    return data


def noop() -> None:
    """Task: nothing (warms the pool up)."""


def _median_time(function: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _looped(function: Callable[[], None], loops: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(loops):
            function()

    return run


def _object(kind: str, size: int) -> Any:
    if kind == 'bytes':
        return os.urandom(size)
    return numpy.random.default_rng(0).random(max(size // 8, 1))


class _Case:
    """A connector of the store under test, and the raw transport it stands on."""

    def __init__(self, name: str, workdir: str) -> None:
        self.name = name
        self.directory: str | None = None
        self.client: Any = None
        if name == 'redis':
            import redis

            self.client = redis.Redis('127.0.0.1', REDIS['port'])
        elif name == 'redis-unix':
            import redis

            self.client = redis.Redis(unix_socket_path=REDIS['unix'])
        if name in ('file', 'file@shm', 'shm'):
            base = SHM if name != 'file' else workdir
            self.directory = os.path.join(base, f'psbench-{uuid.uuid4().hex[:8]}')
        self.raw: dict[str, bytes] = {}

    def connector(self) -> Any:
        if self.name == 'redis':
            from proxystore.connectors.redis import RedisConnector

            return RedisConnector('127.0.0.1', REDIS['port'])
        if self.name == 'redis-unix':
            from proxystore.connectors.redis import RedisConnector

            return RedisConnector(unix_socket_path=REDIS['unix'])
        if self.name == 'local':
            from proxystore.connectors.local import LocalConnector

            return LocalConnector()
        if self.name == 'shm':
            from proxystore.connectors.shm import SharedMemoryConnector

            return SharedMemoryConnector(name=os.path.basename(self.directory or 'x'))
        from proxystore.connectors.file import FileConnector

        assert self.directory is not None
        return FileConnector(self.directory)

    def raw_put_get(self, obj: Any) -> Any:
        data = pickle.dumps(obj, protocol=5)
        if self.client is not None:  # raw redis-py SET and GET of the same bytes
            self.client.set('psbench:raw', data)
            back = self.client.get('psbench:raw')
            self.client.delete('psbench:raw')
            return pickle.loads(back)
        if self.name == 'local':
            self.raw['k'] = data
            return pickle.loads(self.raw.pop('k'))
        assert self.directory is not None
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, 'raw')
        with open(path, 'wb') as f:
            f.write(data)
        with open(path, 'rb') as f:
            back = f.read()
        os.unlink(path)
        return pickle.loads(back)

    def cleanup(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.client is not None:
            self.client.close()


def available_cases(requested: list[str]) -> list[str]:
    """The requested cases this installation supports."""
    cases = []
    for name in requested:
        if name.startswith('redis') and (
            REDIS.get('port' if name == 'redis' else 'unix') is None
        ):
            continue
        if name == 'redis-unix':
            try:  # the unix socket needs a connector that has the option
                from proxystore.connectors.redis import RedisConnector

                RedisConnector(unix_socket_path='/nonexistent').close()
            except (ImportError, TypeError):
                continue
        if name == 'redis':
            try:
                import proxystore.connectors.redis
            except ImportError:
                continue
        if name == 'shm':
            try:
                import proxystore.connectors.shm  # noqa: F401
            except ImportError:
                continue
        if name in ('shm', 'file@shm') and not os.path.isdir(SHM):
            continue
        cases.append(name)
    return cases


def measure_put_get(
    case: _Case, kinds: list[str], sizes: list[int], repeat: int
) -> list[Any]:
    """Store put+get vs pickle + the raw channel, per kind and size."""
    from proxystore.store import Store

    rows = []
    with Store(f'pg-{uuid.uuid4().hex[:6]}', case.connector(), cache_size=0) as store:
        for kind in kinds:
            for size in sizes:
                obj = _object(kind, size)

                def through_store(obj: Any = obj) -> None:
                    key = store.put(obj)
                    store.get(key)
                    store.evict(key)

                def through_raw(obj: Any = obj) -> None:
                    case.raw_put_get(obj)

                through_store()
                through_raw()
                store_s = _median_time(through_store, repeat)
                raw_s = _median_time(through_raw, repeat)
                for mode, seconds in (('store', store_s), ('raw', raw_s)):
                    rows.append(
                        {
                            'bench': 'put_get',
                            'case': case.name,
                            'kind': kind,
                            'size': size,
                            'mode': mode,
                            'value': seconds,
                        },
                    )
    return rows


def measure_resolve(case: _Case, repeat: int) -> list[Any]:
    """First resolve of an unpickled store proxy vs pickle.loads; proxy sizes."""
    from proxystore.proxy import resolve
    from proxystore.store import Store

    rows = []
    objects = {
        'list': list(range(10)),
        'numpy': numpy.random.default_rng(1).random(8 * 1024 * 1024 // 8),
    }
    # A typical store: a short name, default options (what a user writes).
    with Store('bench', case.connector(), cache_size=0, register=True) as store:
        for kind, obj in objects.items():
            proxy = store.proxy(obj)
            proxy_bytes = pickle.dumps(proxy)
            object_bytes = pickle.dumps(obj, protocol=5)

            def first_resolve(data: bytes = proxy_bytes) -> None:
                resolve(pickle.loads(data))

            def loads(data: bytes = object_bytes) -> None:
                pickle.loads(data)

            first_resolve()
            loads()
            # Tiny objects need many loops for a stable time.
            loops = 200 if kind == 'list' else 1
            resolve_s = _median_time(_looped(first_resolve, loops), repeat)
            loads_s = _median_time(_looped(loads, loops), repeat)
            rows += [
                {
                    'bench': 'resolve',
                    'case': case.name,
                    'kind': kind,
                    'size': len(object_bytes),
                    'mode': 'resolve',
                    'value': resolve_s / loops,
                },
                {
                    'bench': 'resolve',
                    'case': case.name,
                    'kind': kind,
                    'size': len(object_bytes),
                    'mode': 'loads',
                    'value': loads_s / loops,
                },
                {
                    'bench': 'proxy_size',
                    'case': case.name,
                    'kind': kind,
                    'size': len(object_bytes),
                    'mode': 'pickled',
                    'value': len(proxy_bytes),
                },
            ]
    return rows


def measure_roundtrip(case: _Case, sizes: list[int], repeat: int) -> list[Any]:
    """Process-pool task round trips, the array passed by value vs by proxy."""
    from proxystore.store import Store

    rows = []
    context = multiprocessing.get_context('fork')
    name = f'rt-{uuid.uuid4().hex[:6]}'
    with (
        Store(name, case.connector(), cache_size=0, register=True) as store,
        concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool,
    ):
        for _ in range(4):
            pool.submit(noop).result()
        for size in sizes:
            array = numpy.random.default_rng(2).random(size // 8)
            for task in (total, identity):

                def by_value(task: Any = task, array: Any = array) -> None:
                    pool.submit(task, array).result()

                def by_proxy(task: Any = task, array: Any = array) -> None:
                    proxy = store.proxy(array, evict=task is total)
                    pool.submit(task, proxy).result()

                by_value()
                by_proxy()
                for mode, function in (('value', by_value), ('proxy', by_proxy)):
                    rows.append(
                        {
                            'bench': f'roundtrip_{task.__name__}',
                            'case': case.name,
                            'kind': 'numpy',
                            'size': size,
                            'mode': mode,
                            'value': _median_time(function, repeat),
                        },
                    )
    return rows


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(',') if part]


def main(argv: list[str] | None = None) -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cases', default='local,file,file@shm,shm,redis,redis-unix')
    parser.add_argument('--roundtrip-cases', default='file@shm,shm,redis')
    parser.add_argument('--redis-port', type=int, default=None)
    parser.add_argument('--redis-unix', default=None)
    parser.add_argument('--kinds', default='bytes,numpy')
    parser.add_argument('--sizes', type=_sizes, default=_sizes('1024,1048576'))
    parser.add_argument('--roundtrip-sizes', type=_sizes, default=_sizes('1048576'))
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--workdir', default=tempfile.gettempdir())
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error('--repeat must be at least 1')
    for option in (args.cases, args.roundtrip_cases):
        unknown = set(filter(None, option.split(','))) - set(CASES)
        if unknown:
            parser.error(f'unknown cases {sorted(unknown)}; choose from {CASES}')

    import proxystore.proxy

    REDIS.update(port=args.redis_port, unix=args.redis_unix)
    rows: list[Any] = []
    cases = available_cases(list(filter(None, args.cases.split(','))))
    for name in cases:
        case = _Case(name, args.workdir)
        try:
            rows += measure_put_get(
                case, args.kinds.split(','), args.sizes, args.repeat
            )
            rows += measure_resolve(case, args.repeat)
        finally:
            case.cleanup()
    for name in available_cases(list(filter(None, args.roundtrip_cases.split(',')))):
        case = _Case(name, args.workdir)
        try:
            rows += measure_roundtrip(case, args.roundtrip_sizes, args.repeat)
        finally:
            case.cleanup()
    result = {
        'version': importlib.metadata.version('proxystore'),
        'implementation': getattr(proxystore.proxy, 'IMPLEMENTATION', 'python'),
        'python': sys.version.split()[0],
        'cases': cases,
        'rows': rows,
    }
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
