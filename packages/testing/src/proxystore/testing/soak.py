"""Soak and chaos runs: many processes and threads on one store while faults strike.

`run_soak` starts ``processes`` worker processes (``python -m
proxystore.testing.soak``), each running ``threads`` threads that put, get,
evict and proxy random payloads through a store re-created from its config,
for ``seconds``. Meanwhile a `Fault` strikes at random moments: `ServerFault`
kills the channel's server (``SIGKILL``) and restarts it; `WorkerFault` kills a
worker process mid-operation and starts another in its place.

Every worker appends what was acknowledged to a journal of its own, one line
per event, written after the operation returned (a killed worker loses at most
the events it had not written yet). Afterwards the parent reads the journals
and checks every acknowledged object that was not evicted: it is readable with
the same bytes (each payload is regenerated from its seed), or it is reported
lost (``None`` or a typed `ConnectorError`). Then it evicts them all, counts
what is left in the channel (`SoakTarget.residue`: the orphans of puts whose
acknowledgement a fault swallowed) and what is left after the owner's cleanup
(`SoakTarget.cleanup`: leaks).

An error of a worker's operation is *typed* if it is a `ConnectorError`, a
`StoreError` or a `TimeoutError` (what a fault may cause); a
`SerializationError` or different bytes is a *mismatch*; anything else is
*untyped* and recorded with its message. `SoakReport` has the figures.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import os
import pathlib
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from typing import Protocol

from proxystore.connectors.protocols import ConnectorError
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import extract
from proxystore.serialize.exceptions import SerializationError
from proxystore.store import Store
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.store.exceptions import StoreError
from proxystore.store.utils import get_key
from proxystore.testing.processes import ServerProcess

__all__ = [
    'Fault',
    'ServerFault',
    'SoakReport',
    'SoakTarget',
    'WorkerFault',
    'count_files',
    'payload',
    'run_soak',
]

SECRET_ENV = 'PROXYSTORE_SECRET'
_TYPED = (ConnectorError, StoreError, TimeoutError, ProxyResolveMissingKeyError)
# Payload sizes: mostly small, some mid-size, a few large (bytes).
_SIZES = ((0.6, 16, 4096), (0.3, 4096, 256 * 1024), (0.1, 256 * 1024, 2 * 1024**2))
_WORKER_GRACE = 60.0  # seconds a worker may overrun its deadline


def payload(seed: int, size: int) -> bytes:
    """The bytes of the object put with ``seed`` and ``size`` (regenerable)."""
    return random.Random(seed).randbytes(size)


def _size(rng: random.Random) -> int:
    draw = rng.random()
    for share, low, high in _SIZES:
        if draw < share:
            return rng.randint(low, high)
        draw -= share
    return _SIZES[-1][2]


def _encode_key(key: Any) -> str:
    return base64.b64encode(pickle.dumps(key)).decode()


def _decode_key(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))  # our own journal


# --- worker side ------------------------------------------------------------------


class _Journal:
    """One worker's journal: a line per acknowledged event, written at once."""

    def __init__(self, path: pathlib.Path) -> None:
        self._file = path.open('a', buffering=1, encoding='utf-8')
        self._lock = threading.Lock()

    def write(self, *fields: object) -> None:
        line = ' '.join(str(f) for f in fields).replace('\n', ' ')
        with self._lock:
            self._file.write(line + '\n')

    def close(self) -> None:
        self._file.close()


def _thread(store: Store[Any], journal: _Journal, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    live: list[tuple[Any, int, int]] = []
    # Keys whose eviction failed: the object may or may not be gone.
    uncertain: set[str] = set()
    count = 0
    while time.monotonic() < deadline:
        count += 1
        object_seed = seed * 1_000_003 + count
        draw = rng.random()
        try:
            if draw < 0.4 or not live:
                size = _size(rng)
                key = store.put(payload(object_seed, size))
                journal.write('P', _encode_key(key), object_seed, size)
                live.append((key, object_seed, size))
            elif draw < 0.7:
                entry = live[rng.randrange(len(live))]
                got = store.get(entry[0])
                if got is None:
                    encoded = _encode_key(entry[0])
                    journal.write('Z' if encoded in uncertain else 'L', encoded)
                    live.remove(entry)
                elif bytes(got) != payload(entry[1], entry[2]):
                    journal.write('M', _encode_key(entry[0]))
                else:
                    journal.write('G')
            elif draw < 0.85:
                entry = live.pop(rng.randrange(len(live)))
                encoded = _encode_key(entry[0])
                journal.write('e', encoded)
                try:
                    store.evict(entry[0])
                except Exception:
                    live.append(entry)
                    uncertain.add(encoded)
                    journal.write('K', encoded)
                    raise
                journal.write('E', encoded)
            else:
                size = _size(rng)
                data = payload(object_seed, size)
                proxy = store.proxy(data)
                key = get_key(proxy)
                journal.write('Q', _encode_key(key), object_seed, size)
                live.append((key, object_seed, size))
                copy = pickle.loads(pickle.dumps(proxy))
                if bytes(extract(copy)) != data:
                    journal.write('M', _encode_key(key))
                else:
                    journal.write('R')  # resolved in a copy
        except Exception as error:
            journal.write(*_classify(error))


def _classify(error: BaseException) -> tuple[str, ...]:
    """The journal line of an operation's error: mismatch, typed or untyped."""
    name = type(error).__name__
    cause = error.__cause__
    if isinstance(error, ProxyResolveError) and cause is not None:
        # The proxy's error wraps its factory's: the cause tells what it was.
        kind, *rest = _classify(cause)
        return (
            (kind, '-', f'{name}({rest[-1]})')
            if kind == 'M'
            else (kind, f'{name}({rest[0]})', *rest[1:])
        )
    if isinstance(error, SerializationError):
        return ('M', '-', name)
    if isinstance(error, _TYPED):
        return ('X', name, f'{time.time():.3f} {str(error)[:300]}')
    return ('U', name, repr(error)[:300])


def _worker_main(arguments: list[str]) -> None:
    config_path, journal_path, seed, seconds, threads = arguments
    with open(config_path, 'rb') as file:
        config = pickle.load(file)
    store = Store.from_config(config)
    journal = _Journal(pathlib.Path(journal_path))
    deadline = time.monotonic() + float(seconds)
    workers = [
        threading.Thread(
            target=_thread,
            args=(store, journal, int(seed) * 64 + i, deadline),
            daemon=True,
        )
        for i in range(int(threads))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(float(seconds) + _WORKER_GRACE)
    journal.write('D')
    journal.close()
    # Worker copies are re-created from the config: they remove nothing.
    os._exit(0)


# --- parent side ------------------------------------------------------------------


class SoakTarget(Protocol):
    """What the parent needs of a channel besides its store."""

    def residue(self) -> int:
        """Objects (or segments) the channel holds now."""
        ...

    def cleanup(self) -> int:
        """Clean up as the store's owner would; the objects still left."""
        ...


class Fault(Protocol):
    """A fault that `run_soak` injects at random moments."""

    name: str

    def strike(self, run: _Run) -> None:
        """Inject the fault once (blocking until the system can go on)."""
        ...


@dataclasses.dataclass
class ServerFault:
    """Kill the channel's server (``SIGKILL``) and restart it after ``down`` s.

    Args:
        server: The server process.
        down: Seconds (low, high) the server stays down.
    """

    server: ServerProcess
    down: tuple[float, float] = (0.2, 1.5)
    name: str = 'server SIGKILL + restart'

    def strike(self, run: _Run) -> None:
        """Kill, wait, restart."""
        self.server.kill()
        time.sleep(run.rng.uniform(*self.down))
        self.server.restart()


@dataclasses.dataclass
class WorkerFault:
    """Kill a random worker process (``SIGKILL``) and start another instead."""

    name: str = 'worker SIGKILL + replacement'

    def strike(self, run: _Run) -> None:
        """Kill one running worker; start its replacement."""
        running = [p for p in run.workers if p.poll() is None]
        if not running:
            return
        victim = run.rng.choice(running)
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        remaining = run.deadline - time.monotonic()
        if remaining > 1:
            run.start_worker(remaining)


@dataclasses.dataclass
class SoakReport:
    """The figures of one soak run."""

    channel: str
    seconds: float
    processes: int
    threads: int
    fault: str
    faults_injected: int = 0
    ops: dict[str, int] = dataclasses.field(default_factory=dict)
    typed_errors: dict[str, int] = dataclasses.field(default_factory=dict)
    typed_examples: dict[str, str] = dataclasses.field(default_factory=dict)
    untyped_errors: list[str] = dataclasses.field(default_factory=list)
    acknowledged: int = 0
    evicted: int = 0
    evicted_unconfirmed: int = 0
    verified: int = 0
    lost: int = 0
    lost_errors: dict[str, int] = dataclasses.field(default_factory=dict)
    mismatched: int = 0
    orphans: int = 0
    leaked: int = 0
    workers_killed: int = 0

    def summary(self) -> str:
        """One paragraph of the figures."""
        ops = sum(self.ops.values())
        return (
            f'{self.channel}: {ops} ops ({self.ops}) in {self.seconds:.0f} s by '
            f'{self.processes} processes x {self.threads} threads; '
            f'{self.faults_injected} faults ({self.fault}); typed errors '
            f'{sum(self.typed_errors.values())} {self.typed_errors}; untyped '
            f'{len(self.untyped_errors)}; {self.acknowledged} objects acknowledged, '
            f'{self.evicted} evicted (+{self.evicted_unconfirmed} unconfirmed), '
            f'{self.verified} verified after the run, '
            f'{self.lost} reported lost {self.lost_errors}, {self.mismatched} '
            f'mismatched; {self.orphans} orphans, {self.leaked} leaked'
        )


@dataclasses.dataclass
class _Run:
    """The state of a run shared with its fault."""

    config_path: pathlib.Path
    directory: pathlib.Path
    threads: int
    deadline: float
    rng: random.Random
    environment: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)

    def start_worker(self, seconds: float) -> None:
        index = len(self.workers)
        journal = self.directory / f'journal-{index}.txt'
        log = self.directory / f'worker-{index}.log'
        with log.open('wb') as stderr:  # the child keeps its own copy
            worker = subprocess.Popen(
                [
                    sys.executable,
                    '-m',
                    'proxystore.testing.soak',
                    str(self.config_path),
                    str(journal),
                    str(index + 1),
                    str(seconds),
                    str(self.threads),
                ],
                env=self.environment,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self.workers.append(worker)


def _journal_lines(directory: pathlib.Path) -> Iterator[list[str]]:
    for path in sorted(directory.glob('journal-*.txt')):
        for line in path.read_text(encoding='utf-8').splitlines():
            if line:
                yield line.split(' ', 2)


def run_soak(
    channel: str,
    store: Store[Any],
    target: SoakTarget,
    directory: pathlib.Path,
    *,
    seconds: float,
    processes: int = 4,
    threads: int = 8,
    fault: Fault | None = None,
    interval: tuple[float, float] = (1.0, 4.0),
    secret: str | None = None,
    seed: int = 0,
) -> SoakReport:
    """Run workers on ``store`` for ``seconds`` while ``fault`` strikes; check after.

    Args:
        channel: Name of the channel (for the report).
        store: The owner's store; workers re-create it from its config.
        target: How to count what the channel holds and clean it up.
        directory: Folder of the journals and worker logs.
        seconds: How long the workers run.
        processes: Worker processes at any time.
        threads: Threads per worker process.
        fault: The fault to inject (``None``: none).
        interval: Seconds (low, high) between two faults.
        secret: The store's secret, given to the workers (``PROXYSTORE_SECRET``).
        seed: Seed of the faults' moments.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / 'store-config.pkl'
    config_path.write_bytes(pickle.dumps(store.config()))
    environment = dict(os.environ)
    if secret is not None:
        environment[SECRET_ENV] = secret
    report = SoakReport(
        channel=channel,
        seconds=seconds,
        processes=processes,
        threads=threads,
        fault='none' if fault is None else fault.name,
    )
    run = _Run(
        config_path=config_path,
        directory=directory,
        threads=threads,
        deadline=time.monotonic() + seconds,
        rng=random.Random(seed),
        environment=environment,
    )
    try:
        for _ in range(processes):
            run.start_worker(seconds)
        while fault is not None:
            pause = run.rng.uniform(*interval)
            if time.monotonic() + pause >= run.deadline - 1:
                break
            time.sleep(pause)
            fault.strike(run)
            report.faults_injected += 1
        for worker in run.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(max(run.deadline - time.monotonic(), 0) + _WORKER_GRACE)
    finally:
        for worker in run.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(30)
                report.untyped_errors.append(f'worker pid {worker.pid} overran')
    report.workers_killed = sum(1 for w in run.workers if w.returncode == -9)
    _check(report, store, run.directory)
    report.orphans = target.residue()
    report.leaked = target.cleanup()
    return report


def _check(report: SoakReport, store: Store[Any], directory: pathlib.Path) -> None:
    """Read the journals; verify or count lost every acknowledged live object.

    A key's state follows its journal: put (``P``, ``Q``) makes it live,
    ``e`` an eviction under way (the worker died during it if nothing
    follows), ``E`` evicted, ``K`` a failed eviction (the object may be gone),
    ``L`` seen missing by a worker, ``Z`` missing after a failed eviction.
    """
    ops: collections.Counter[str] = collections.Counter()
    typed: collections.Counter[str] = collections.Counter()
    puts: dict[str, tuple[int, int]] = {}
    state: dict[str, str] = {}
    names = {
        'P': 'put',
        'G': 'get',
        'L': 'get',
        'Z': 'get',
        'E': 'evict',
        'Q': 'proxy',
        'R': 'resolve',
    }
    for fields in _journal_lines(directory):
        kind = fields[0]
        if kind in names:
            ops[names[kind]] += 1
        if kind in ('P', 'Q'):
            seed_text, size_text = fields[2].split(' ')
            puts[fields[1]] = (int(seed_text), int(size_text))
            state[fields[1]] = 'live'
        elif kind in ('e', 'E', 'K', 'L', 'Z'):
            state[fields[1]] = kind
        elif kind == 'M':
            report.mismatched += 1
        elif kind == 'X':
            typed[fields[1]] += 1
            if len(fields) > 2:
                report.typed_examples.setdefault(fields[1], fields[2])
        elif kind == 'U':
            report.untyped_errors.append(' '.join(fields[1:]))
    report.ops = dict(ops)
    report.typed_errors = dict(typed)
    report.acknowledged = len(puts)
    for encoded, (object_seed, size) in puts.items():
        key = _decode_key(encoded)
        kind = state[encoded]
        if kind == 'E':
            report.evicted += 1
            continue
        if kind == 'L':
            _lost(report, 'None (seen by a worker)')
            continue
        if kind in ('e', 'Z'):
            # Asked to be evicted; a killed worker may not have finished.
            report.evicted_unconfirmed += 1
            with contextlib.suppress(*_TYPED):
                store.evict(key)
            continue
        try:
            got = store.get(key)
        except SerializationError:
            report.mismatched += 1
        except _TYPED as error:
            _lost(report, type(error).__name__)
        else:
            if got is None and kind == 'K':
                report.evicted_unconfirmed += 1
            elif got is None:
                _lost(report, 'None (after the run)')
            elif bytes(got) != payload(object_seed, size):
                report.mismatched += 1
            else:
                report.verified += 1
        with contextlib.suppress(*_TYPED):
            store.evict(key)


def _lost(report: SoakReport, how: str) -> None:
    report.lost += 1
    report.lost_errors[how] = report.lost_errors.get(how, 0) + 1


def count_files(directory: pathlib.Path, ignore: Callable[[str], bool]) -> int:
    """Files under ``directory`` (0 if it is gone) whose name ``ignore`` rejects."""
    if not directory.exists():
        return 0
    return sum(1 for p in directory.rglob('*') if p.is_file() and not ignore(p.name))


if __name__ == '__main__':
    _worker_main(sys.argv[1:])
