"""Launch the MPI benchmark, and its records, table and plot."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from proxystore_bench.report import format_size

__all__ = [
    'BANDWIDTH_TARGET',
    'LATENCY_TARGET',
    'MPIRecord',
    'MPISettings',
    'plot_mpi',
    'print_mpi_table',
    'run_mpi_benchmark',
    'write_mpi_markdown',
]

BANDWIDTH_TARGET = 0.8  # connector / raw, objects >= 1 MiB
LATENCY_TARGET = 3.0  # connector / raw, small objects
MIB = 1024 * 1024
SMALL = 4096


@dataclasses.dataclass(frozen=True)
class MPISettings:
    """Shape of a run."""

    sizes: tuple[int, ...] = (
        1024,
        64 * 1024,
        MIB,
        4 * MIB,
        16 * MIB,
        64 * MIB,
        256 * MIB,
    )
    count: int = 2000
    seconds: float = 2.0
    repeat: int = 3
    timeout: float = 900.0

    @classmethod
    def quick(cls) -> MPISettings:
        """1 KiB, 1 MiB and 16 MiB, a fraction of a second each."""
        return cls(sizes=(1024, MIB, 16 * MIB), count=300, seconds=0.2, repeat=1)

    def validate(self) -> None:
        """Raise `ValueError` for a run that cannot be made."""
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError('sizes must be at least 1 byte.')
        if self.count < 3 or self.repeat < 1 or self.seconds <= 0:
            raise ValueError('count must be >= 3, repeat >= 1, seconds > 0.')


@dataclasses.dataclass(frozen=True)
class MPIRecord:
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
        '-m', 'proxystore_bench.mpi_bench',
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


def _rows(records: Sequence[MPIRecord]) -> list[list[str]]:
    rows = []
    for r in records:
        ratio = '-' if r.vs_raw is None else f'{int(r.vs_raw * 100) / 100:.2f}x'
        if r.meets_target is not None:
            ratio += ' ok' if r.meets_target else ' below'
        rows.append([
            format_size(r.size), r.method, str(r.round_trips), f'{r.latency_us:,.1f}',
            f'{r.mib_per_s:,.1f}', ratio,
        ])  # fmt: skip
    return rows


_HEADER = ['size', 'method', 'round trips', 'µs per get', 'MiB/s', 'bandwidth vs raw']


def write_mpi_markdown(records: Sequence[MPIRecord], path: pathlib.Path) -> None:
    """A markdown table of the records."""
    lines = ['| ' + ' | '.join(_HEADER) + ' |', '|---:|---|---:|---:|---:|---:|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in _rows(records)]
    path.write_text('\n'.join(lines) + '\n')


def print_mpi_table(records: Sequence[MPIRecord], console: Console) -> None:
    """The records as a rich table."""
    table = Table(title='MPI connector get vs raw mpi4py, two ranks')
    for name in _HEADER:
        table.add_column(name, justify='left' if name == 'method' else 'right')
    for row in _rows(records):
        table.add_row(*row)
    console.print(table)
    console.print(
        f'targets: connector >= {BANDWIDTH_TARGET}x raw bandwidth from 1 MiB; '
        f'latency <= {LATENCY_TARGET:g}x raw up to {SMALL} B',
    )


def plot_mpi(records: Sequence[MPIRecord], path: pathlib.Path) -> None:
    """Bandwidth against size, one line per method."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for method in dict.fromkeys(r.method for r in records):
        points = sorted((r.size, r.mib_per_s) for r in records if r.method == method)
        axes.plot(*zip(*points, strict=True), marker='o', label=method)
    axes.set_xscale('log', base=2)
    axes.set_yscale('log')
    axes.set_xlabel('object size (bytes)')
    axes.set_ylabel('MiB/s (one get at a time)')
    axes.set_title('MPI connector get vs raw mpi4py Send/Recv, two ranks')
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
