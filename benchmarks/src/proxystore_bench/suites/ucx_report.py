"""The UCX benchmark's targets, table, markdown and plot."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import format_size
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


def _rows(records: Sequence[UCXRecord]) -> list[list[str]]:
    rows = []
    for r in records:
        ratio = '-' if r.vs_raw is None else f'{int(r.vs_raw * 100) / 100:.2f}x'
        verdict = meets_target(r)
        if verdict is not None:
            ratio += ' ok' if verdict else ' below'
        rows.append([
            r.op, format_size(r.size), r.method, str(r.operations),
            f'{r.latency_us:,.1f}', f'{r.mib_per_s:,.1f}', ratio,
        ])  # fmt: skip
    return rows


_HEADER = ['op', 'size', 'method', 'operations', 'µs per op', 'MiB/s', 'vs raw']


def write_ucx_markdown(records: Sequence[UCXRecord], path: pathlib.Path) -> None:
    """A markdown table of the records."""
    lines = ['| ' + ' | '.join(_HEADER) + ' |', '|---|---:|---|---:|---:|---:|---:|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in _rows(records)]
    path.write_text('\n'.join(lines) + '\n')


def print_ucx_table(records: Sequence[UCXRecord], console: Console) -> None:
    """The records as a rich table."""
    table = Table(title='UCX connector vs raw ucxx and the Redis connector')
    for name in _HEADER:
        table.add_column(name, justify='left' if name in ('op', 'method') else 'right')
    for row in _rows(records):
        table.add_row(*row)
    console.print(table)
    console.print(
        f'targets: connector get >= {BANDWIDTH_TARGET}x raw bandwidth from 1 MiB; '
        f'small get <= {LATENCY_TARGET_US:g} µs',
    )


def plot_ucx(records: Sequence[UCXRecord], path: pathlib.Path) -> None:
    """Bandwidth against size for gets and puts, one line per method."""
    plot_get_put_bandwidth(
        records, path, 'UCX connector vs raw ucxx and Redis, two processes'
    )


REPORT = Report(UCXRecord, write_ucx_markdown, print_ucx_table, plot_ucx)
"""How the UCX suite shows its records."""
