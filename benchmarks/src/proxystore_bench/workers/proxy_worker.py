"""Measure one proxy implementation against the raw objects, in this process.

Run as a script, ``python proxy_worker.py --subject NAME [--quick]``, so that it also
runs inside a virtualenv where only the implementation under test is installed
(ProxyStore 1.1.0 in its own venv). It imports nothing but the standard library and
the subject, and prints one JSON document on stdout.

Every ratio is measured in this one process, with the raw object and the proxy
timed in alternation, so that drift of the machine affects both alike.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any


class Item:
    """A plain object with an attribute and a method."""

    def __init__(self) -> None:
        self.value = 1

    def method(self) -> int:
        """Return the attribute."""
        return self.value


def make_list() -> list[int]:
    """Factory of a short list (module level, so that proxies of it pickle)."""
    return [1, 2, 3, 4, 5, 6, 7, 8]


def make_int() -> int:
    """Factory of an int."""
    return 5


def make_item() -> Item:
    """Factory of an `Item`."""
    return Item()


def make_text() -> str:
    """Factory of a str."""
    return 'proxystore'


# name, factory of the target, statement on `p`
OPERATIONS: list[tuple[str, Callable[[], Any], str]] = [
    ('len', make_list, 'len(p)'),
    ('getitem', make_list, 'p[3]'),
    ('add', make_int, 'p + 1'),
    ('eq', make_int, 'p == 5'),
    ('hash', make_text, 'hash(p)'),
    ('attr', make_item, 'p.value'),
    ('method', make_item, 'p.method()'),
    ('isinstance', make_list, 'isinstance(p, list)'),
    ('iterate', make_list, 'for _ in p: pass'),
]

IMPORTS = {'proxystore': 'proxystore.proxy', 'lazy-object-proxy': 'lazy_object_proxy'}


def load_subject(name: str) -> tuple[Callable[..., Any], dict[str, str]]:
    """Return the proxy constructor of a subject and facts about it."""
    if name == 'proxystore':
        import proxystore.proxy

        info = {
            'version': importlib.metadata.version('proxystore'),
            'implementation': getattr(proxystore.proxy, 'IMPLEMENTATION', 'python'),
        }
        return proxystore.proxy.Proxy, info
    if name == 'lazy-object-proxy':
        import lazy_object_proxy

        version = importlib.metadata.version('lazy-object-proxy')
        try:
            from lazy_object_proxy import cext
        except ImportError:  # built without its C extension
            kind = 'python'
        else:
            kind = 'c' if lazy_object_proxy.Proxy is cext.Proxy else 'python'
        return lazy_object_proxy.Proxy, {'version': version, 'implementation': kind}
    raise SystemExit(f'unknown subject {name!r}; expected one of {sorted(IMPORTS)}')


def _alternate(
    first: timeit.Timer,
    second: timeit.Timer,
    number: int,
    repeat: int,
) -> tuple[float, float]:
    """Best time per loop (ns) of two timers run in alternation."""
    a, b = [], []
    for _ in range(repeat):
        a.append(first.timeit(number))
        b.append(second.timeit(number))
    return min(a) / number * 1e9, min(b) / number * 1e9


def measure_operations(make: Callable[..., Any], number: int, repeat: int) -> list[Any]:
    """Cost of each operation on a resolved proxy and on the raw object."""
    rows = []
    for name, factory, stmt in OPERATIONS:
        raw = factory()
        proxy = make(lambda raw=raw: raw)
        len(str(proxy))  # resolve
        raw_ns, proxy_ns = _alternate(
            timeit.Timer(stmt, globals={'p': raw}),
            timeit.Timer(stmt, globals={'p': proxy}),
            number,
            repeat,
        )
        rows.append(_row(name, raw_ns, proxy_ns, 'ns'))
    return rows


def measure_construct(make: Callable[..., Any], number: int, repeat: int) -> Any:
    """Cost of creating a proxy, next to the cost of calling its factory."""
    globals_ = {'make': make, 'f': make_list}
    raw_ns, proxy_ns = _alternate(
        timeit.Timer('f()', globals=globals_),
        timeit.Timer('make(f)', globals=globals_),
        number,
        repeat,
    )
    return _row('construct', raw_ns, proxy_ns, 'ns')


def measure_first_resolve(make: Callable[..., Any], number: int, repeat: int) -> Any:
    """First use of a fresh proxy (factory call included) vs factory call + use."""
    count = max(number // 10, 100)
    raw_best = proxy_best = float('inf')
    for _ in range(repeat):
        factories = [make_list] * count
        start = time.perf_counter()
        for f in factories:
            len(f())
        raw_best = min(raw_best, time.perf_counter() - start)
        proxies = [make(make_list) for _ in range(count)]
        start = time.perf_counter()
        for p in proxies:
            len(p)
        proxy_best = min(proxy_best, time.perf_counter() - start)
    return _row('first_resolve', raw_best / count * 1e9, proxy_best / count * 1e9, 'ns')


def measure_pickle(make: Callable[..., Any]) -> Any:
    """Pickled size of a proxy of a module-level factory, next to its target's."""
    proxy = make(make_list)
    len(proxy)
    raw = len(pickle.dumps(make_list(), protocol=pickle.HIGHEST_PROTOCOL))
    size = len(pickle.dumps(proxy, protocol=pickle.HIGHEST_PROTOCOL))
    return _row('pickle_size', raw, size, 'bytes')


def measure_import(subject: str, repeat: int) -> Any:
    """Wall time of importing the subject's module in a fresh interpreter."""
    module = IMPORTS[subject]
    code = (
        'import time; start = time.perf_counter()\n'
        f'import {module}\n'
        'print(time.perf_counter() - start)'
    )
    times = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=dict(os.environ),
        )
        times.append(float(out.stdout.strip()) * 1e3)
    return _row('import', None, statistics.median(times), 'ms')


def _row(op: str, raw: float | None, value: float, unit: str) -> dict[str, Any]:
    ratio = None if raw is None or unit == 'bytes' else value / raw
    return {'op': op, 'raw': raw, 'value': value, 'unit': unit, 'ratio': ratio}


def main(argv: list[str] | None = None) -> None:
    """Measure one subject and print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subject', required=True, choices=sorted(IMPORTS))
    parser.add_argument('--number', type=int, default=200_000)
    parser.add_argument('--repeat', type=int, default=7)
    args = parser.parse_args(argv)
    if args.number < 1 or args.repeat < 1:
        parser.error('--number and --repeat must be at least 1')

    make, info = load_subject(args.subject)
    rows = [
        measure_import(args.subject, args.repeat),
        measure_construct(make, args.number, args.repeat),
        measure_first_resolve(make, args.number, args.repeat),
        measure_pickle(make),
        *measure_operations(make, args.number, args.repeat),
    ]
    info['python'] = sys.version.split()[0]
    json.dump({'subject': args.subject, **info, 'rows': rows}, sys.stdout)


if __name__ == '__main__':
    main()
