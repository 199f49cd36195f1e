"""The store suite: this project's store and ProxyStore 1.1.0, side by side.

`workers/store_worker.py` runs once per implementation (ours in this venv, 1.1.0 in its
own); every ratio is formed from two times measured in the same worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import sys
import tempfile
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Annotated
from typing import Any

import typer

from proxystore_bench.harness import options
from proxystore_bench.harness.records import Record
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.subprocesses import run_json
from proxystore_bench.harness.subprocesses import worker_script
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure
from proxystore_bench.harness.suite import no_baseline_note

__all__ = ['StoreRecord', 'StoreSettings', 'command', 'run_store_benchmark']

WORKER = worker_script('store_worker')
MiB = 1024 * 1024

# bench -> the mode measured and the mode it is divided by
_PAIRS = {
    'put_get': ('store', 'raw'),
    'resolve': ('resolve', 'loads'),
    'roundtrip_total': ('proxy', 'value'),
    'roundtrip_identity': ('proxy', 'value'),
}


@dataclasses.dataclass(frozen=True)
class StoreSettings(Settings):
    """Sizes and repeats of a run."""

    sizes: tuple[int, ...]
    roundtrip_sizes: tuple[int, ...]
    repeat: int

    @classmethod
    def quick(cls) -> StoreSettings:
        """Seconds, not minutes; still measures every target."""
        return cls((1024, MiB, 16 * MiB), (MiB, 64 * MiB), 3)

    @classmethod
    def full(cls) -> StoreSettings:
        """1 KiB to 128 MiB."""
        return cls(
            (1024, 64 * 1024, MiB, 16 * MiB, 128 * MiB),
            (MiB, 16 * MiB, 64 * MiB),
            7,
        )

    def validate(self) -> None:
        """Raise `ValueError` for a run that cannot be made."""
        if self.repeat < 1:
            raise ValueError('repeat must be at least 1.')


@dataclasses.dataclass(frozen=True)
class StoreRecord(Record):
    """One measurement of one implementation, next to its baseline."""

    subject: str
    version: str
    bench: str
    case: str
    kind: str
    size: int
    unit: str
    value: float
    baseline: float | None
    ratio: float | None

    @property
    def target(self) -> float | None:
        """This project's target for the measurement, if one is set."""
        if self.subject != OURS:
            return None
        if self.bench == 'proxy_size' and self.case in ('local', 'shm', 'redis'):
            return 256
        if (
            self.bench == 'put_get'
            and self.case.startswith('redis')
            and self.kind == 'numpy'
            and 1 << 20 <= self.size <= 128 << 20
        ):
            return 1.1
        if (
            self.bench == 'resolve'
            and self.kind == 'numpy'
            and self.case
            in (
                'local',
                'shm',
            )
        ):
            return 1.3
        if (
            self.bench == 'roundtrip_total'
            and self.case == 'shm'
            and self.size >= 64 * MiB
        ):
            return 0.5
        return None

    @property
    def meets_target(self) -> bool | None:
        """Whether the target is met (``None`` when there is none)."""
        if self.target is None:
            return None
        measured = self.value if self.bench == 'proxy_size' else self.ratio
        return measured is not None and measured <= self.target


OURS = 'proxystore (this project)'
BASELINE = 'proxystore 1.1.0'


def _records(subject: str, result: dict[str, Any]) -> list[StoreRecord]:
    by_key = {
        (r['bench'], r['case'], r['kind'], r['size'], r['mode']): r['value']
        for r in result['rows']
    }
    records = []
    for (bench, case, kind, size, mode), value in by_key.items():
        measured = (subject, result['version'], bench, case, kind, size)
        if bench == 'proxy_size':
            records.append(StoreRecord(*measured, 'bytes', value, None, None))
            continue
        timed, baseline_mode = _PAIRS[bench]
        if mode != timed:
            continue
        baseline = by_key[(bench, case, kind, size, baseline_mode)]
        ratio = value / baseline if baseline else None
        records.append(StoreRecord(*measured, 's', value, baseline, ratio))
    return records


def run_store_benchmark(
    settings: StoreSettings,
    *,
    baseline_python: str | None,
    python: str = sys.executable,
) -> list[StoreRecord]:
    """Run the store worker for this project and, if given, ProxyStore 1.1.0."""
    arguments = [
        '--sizes',
        ','.join(map(str, settings.sizes)),
        '--roundtrip-sizes',
        ','.join(map(str, settings.roundtrip_sizes)),
        '--repeat',
        str(settings.repeat),
    ]
    subjects: Sequence[tuple[str, str]] = [(OURS, python)]
    if baseline_python is not None:
        subjects = [*subjects, (BASELINE, baseline_python)]
    records: list[StoreRecord] = []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(_redis_server())
        if server is not None:
            arguments += ['--redis-port', str(server.port)]
            arguments += ['--redis-unix', str(server.unix_socket)]
        for label, interpreter in subjects:
            result = run_json(label, [interpreter, str(WORKER), *arguments])
            records += _records(label, result)
    return records


@contextlib.contextmanager
def _redis_server() -> Iterator[Any]:
    """A Redis server for the redis cases, if a server binary is available."""
    try:
        from proxystore.testing.redis import RedisServer
        from proxystore.testing.redis import find_server_binary

        find_server_binary()
    except (ImportError, FileNotFoundError):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix='psb') as directory:
        path = pathlib.Path(directory)
        with RedisServer(path / 'server', unix_socket=path / 's') as server:
            yield server


def command(
    quick: options.Quick = True,
    baseline_python: options.BaselinePython = None,
    sizes: Annotated[
        str | None,
        typer.Option(help='Object sizes for put+get, e.g. 1024,1048576.'),
    ] = None,
    roundtrip_sizes: Annotated[
        str | None,
        typer.Option(help='Array sizes for the task round trips.'),
    ] = None,
    repeat: options.Repeat = None,
) -> Results:
    """Store: put+get vs the raw channel, first resolve, proxy size, task round trips.

    Per connector (local, file on disk, file on /dev/shm, shared memory), for
    bytes and numpy arrays; with --baseline-python, ProxyStore 1.1.0 too.
    """
    settings = choose(
        StoreSettings,
        quick=quick,
        sizes=options.sizes(sizes),
        roundtrip_sizes=options.sizes(roundtrip_sizes),
        repeat=repeat,
    )
    baseline = no_baseline_note(baseline_python)
    records = measure(
        'measuring the store...',
        lambda _: run_store_benchmark(settings, baseline_python=baseline),
    )
    return Results('store', records)
