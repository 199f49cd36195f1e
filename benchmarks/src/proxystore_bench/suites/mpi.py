"""The MPI suite: launch the worker under ``mpiexec -n 2``, read its records."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
import subprocess
import sys

from proxystore_bench.harness import options
from proxystore_bench.harness.records import Record
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure
from proxystore_bench.harness.transfer import MIB
from proxystore_bench.harness.transfer import SIZES_TO_256_MIB
from proxystore_bench.harness.transfer import TransferSettings

__all__ = [
    'BANDWIDTH_TARGET',
    'LATENCY_TARGET',
    'MPIRecord',
    'MPISettings',
    'command',
    'run_mpi_benchmark',
]

BANDWIDTH_TARGET = 0.8  # connector / raw, objects >= 1 MiB
LATENCY_TARGET = 3.0  # connector / raw, small objects
SMALL = 4096


@dataclasses.dataclass(frozen=True)
class MPISettings(TransferSettings):
    """Shape of a run (`TransferSettings`, up to 256 MiB, 2 s per case)."""

    sizes: tuple[int, ...] = SIZES_TO_256_MIB
    seconds: float = 2.0
    timeout: float = 900.0


@dataclasses.dataclass(frozen=True)
class MPIRecord(Record):
    """The best of one method at one size (a round trip gets ``size`` bytes)."""

    method: str
    size: int
    round_trips: int
    seconds: float
    latency_us: float
    mib_per_s: float
    vs_raw: float | None

    @property
    def target(self) -> str | None:
        """The issue's target for this record (the connector's only)."""
        if self.method != 'connector':
            return None
        if self.size >= MIB:
            return f'bandwidth >= {BANDWIDTH_TARGET}x raw'
        if self.size <= SMALL:
            return f'latency <= {LATENCY_TARGET:g}x raw'
        return None

    @property
    def meets_target(self) -> bool | None:
        """The issue's targets, for the connector (``None``: no target)."""
        if self.method != 'connector' or self.vs_raw is None:
            return None
        if self.size >= MIB:
            return self.vs_raw >= BANDWIDTH_TARGET
        if self.size <= SMALL:
            return 1 / self.vs_raw <= LATENCY_TARGET
        return None


def _mpiexec() -> str:
    found = shutil.which('mpiexec', path=str(pathlib.Path(sys.executable).parent))
    found = found or shutil.which('mpiexec')
    if found is None:
        raise RuntimeError('no mpiexec: install proxystore-connector-mpi[mpich]')
    return found


def run_mpi_benchmark(settings: MPISettings) -> list[MPIRecord]:
    """Run the benchmark under ``mpiexec -n 2`` and read rank 1's records.

    Raises:
        RuntimeError: If the job fails.
        ValueError: If the settings are invalid.
    """
    settings.validate()
    command = [
        _mpiexec(), '-n', '2', sys.executable, '-m', 'mpi4py',
        '-m', 'proxystore_bench.workers.mpi_worker',
        '--sizes', ','.join(str(s) for s in settings.sizes),
        '--count', str(settings.count), '--seconds', str(settings.seconds),
        '--repeat', str(settings.repeat),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=settings.timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f'the MPI benchmark failed:\n{result.stderr}')
    raw = [json.loads(line) for line in result.stdout.splitlines() if line[:1] == '{']
    times = {(r['method'], r['size']): r['seconds'] / r['round_trips'] for r in raw}
    records = []
    for r in raw:
        per_trip = r['seconds'] / r['round_trips']
        baseline = times.get(('raw', r['size']))
        records.append(
            MPIRecord(
                method=r['method'],
                size=r['size'],
                round_trips=r['round_trips'],
                seconds=r['seconds'],
                latency_us=per_trip * 1e6,
                mib_per_s=r['size'] / per_trip / MIB,
                vs_raw=(baseline / per_trip)
                if baseline and r['method'] != 'raw'
                else None,
            ),
        )
    return records


def command(
    quick: options.Quick = True,
    sizes: options.Sizes = None,
) -> Results:
    """MPI connector get bandwidth and latency vs raw mpi4py, mpiexec -n 2."""
    settings = choose(MPISettings, quick=quick, sizes=options.sizes(sizes))
    records = measure(
        'measuring MPI gets under mpiexec -n 2...',
        lambda _: run_mpi_benchmark(settings),
    )
    return Results('mpi', records)
