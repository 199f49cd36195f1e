"""The UCX benchmark's targets, table, markdown and plot."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness import transfer
from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import plot_get_put_bandwidth
from proxystore_bench.suites.ucx import BANDWIDTH_TARGET
from proxystore_bench.suites.ucx import LATENCY_TARGET_US
from proxystore_bench.suites.ucx import UCXRecord

__all__ = [
    'REPORT',
    'meets_target',
    'plot_ucx',
    'print_ucx_table',
    'write_ucx_markdown',
]


def meets_target(record: UCXRecord) -> bool | None:
    """Whether a connector get meets the issue's target (``None``: no target)."""
    return record.meets_target


def write_ucx_markdown(records: Sequence[UCXRecord], path: pathlib.Path) -> None:
    """A markdown table of the records."""
    transfer.write_markdown(records, path, 'vs raw')


def print_ucx_table(records: Sequence[UCXRecord], console: Console) -> None:
    """The records as a rich table."""
    transfer.print_records(
        records,
        console,
        title='UCX connector vs raw ucxx and the Redis connector',
        vs='vs raw',
        note=f'targets: connector get >= {BANDWIDTH_TARGET}x raw bandwidth from '
        f'1 MiB; small get <= {LATENCY_TARGET_US:g} µs',
    )


def plot_ucx(records: Sequence[UCXRecord], path: pathlib.Path) -> None:
    """Bandwidth against size for gets and puts, one line per method."""
    plot_get_put_bandwidth(
        records, path, 'UCX connector vs raw ucxx and Redis, two processes'
    )


REPORT = Report(UCXRecord, write_ucx_markdown, print_ucx_table, plot_ucx)
"""How the UCX suite shows its records."""
