"""Tables and plot of the MPI suite."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import figure
from proxystore_bench.harness.report import format_size
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import plot_bandwidth
from proxystore_bench.harness.report import print_table
from proxystore_bench.harness.report import ratio
from proxystore_bench.harness.report import verdict
from proxystore_bench.suites.mpi import BANDWIDTH_TARGET
from proxystore_bench.suites.mpi import LATENCY_TARGET
from proxystore_bench.suites.mpi import SMALL
from proxystore_bench.suites.mpi import MPIRecord

__all__ = ['REPORT', 'plot_mpi', 'print_mpi_table', 'write_mpi_markdown']


def _rows(records: Sequence[MPIRecord]) -> list[list[str]]:
    return [
        [
            format_size(r.size), r.method, str(r.round_trips),
            f'{r.latency_us:,.1f}', f'{r.mib_per_s:,.1f}',
            ratio(r.vs_raw) + verdict(r.meets_target, rich=False),
        ]
        for r in records
    ]  # fmt: skip


_HEADER = ['size', 'method', 'round trips', 'µs per get', 'MiB/s', 'bandwidth vs raw']


def write_mpi_markdown(records: Sequence[MPIRecord], path: pathlib.Path) -> None:
    """A markdown table of the records."""
    lines = markdown_table(_HEADER, _rows(records), left=('method',))
    path.write_text('\n'.join(lines) + '\n')


def print_mpi_table(records: Sequence[MPIRecord], console: Console) -> None:
    """The records as a rich table."""
    print_table(
        console,
        'MPI connector get vs raw mpi4py, two ranks',
        _HEADER,
        _rows(records),
        left=('method',),
        note=f'targets: connector >= {BANDWIDTH_TARGET}x raw bandwidth from 1 MiB; '
        f'latency <= {LATENCY_TARGET:g}x raw up to {SMALL} B',
    )


def plot_mpi(records: Sequence[MPIRecord], path: pathlib.Path) -> None:
    """Bandwidth against size, one line per method."""
    with figure(path, figsize=(7, 4), dpi=110) as (_, axes):
        plot_bandwidth(axes, records)
        axes.set_ylabel('MiB/s (one get at a time)')
        axes.set_title('MPI connector get vs raw mpi4py Send/Recv, two ranks')


REPORT = Report(MPIRecord, write_mpi_markdown, print_mpi_table, plot_mpi)
"""How the MPI suite shows its records."""
