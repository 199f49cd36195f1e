"""The endpoint benchmark's table, markdown and plot."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import format_size
from proxystore_bench.harness.report import plot_get_put_bandwidth
from proxystore_bench.suites.endpoint import LATENCY_TARGET_US
from proxystore_bench.suites.endpoint import PEER_TARGET
from proxystore_bench.suites.endpoint import EndpointRecord

__all__ = ['REPORT', 'plot_endpoint', 'print_endpoint_table', 'write_endpoint_markdown']

_HEADER = ['op', 'size', 'method', 'operations', 'µs per op', 'MiB/s', 'vs 1.x']


def _rows(records: Sequence[EndpointRecord]) -> list[list[str]]:
    rows = []
    for r in records:
        ratio = '-' if r.vs_v1 is None else f'{int(r.vs_v1 * 100) / 100:.2f}x'
        verdict = r.meets_target
        if verdict is not None:
            ratio += ' ok' if verdict else ' below'
        rows.append([
            r.op, format_size(r.size), r.method, str(r.operations),
            f'{r.latency_us:,.1f}', f'{r.mib_per_s:,.1f}', ratio,
        ])  # fmt: skip
    return rows


def write_endpoint_markdown(
    records: Sequence[EndpointRecord], path: pathlib.Path
) -> None:
    """A markdown table of the records."""
    lines = ['| ' + ' | '.join(_HEADER) + ' |', '|---|---:|---|---:|---:|---:|---:|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in _rows(records)]
    path.write_text('\n'.join(lines) + '\n')


def print_endpoint_table(records: Sequence[EndpointRecord], console: Console) -> None:
    """The records as a rich table."""
    table = Table(title='Endpoints: local, peer to peer, Redis, ProxyStore 1.x')
    for name in _HEADER:
        table.add_column(name, justify='left' if name in ('op', 'method') else 'right')
    for row in _rows(records):
        table.add_row(*row)
    console.print(table)
    console.print(
        f'targets: local get of 1 KiB <= {LATENCY_TARGET_US:g} µs; peer-to-peer '
        f'bandwidth >= {PEER_TARGET:g}x 1.x peering from 1 MiB',
    )


def plot_endpoint(records: Sequence[EndpointRecord], path: pathlib.Path) -> None:
    """Bandwidth against size for gets and puts, one line per method."""
    plot_get_put_bandwidth(
        records, path, 'Endpoints on one host: local, peer to peer (WebRTC), Redis'
    )


REPORT = Report(
    EndpointRecord, write_endpoint_markdown, print_endpoint_table, plot_endpoint
)
"""How the endpoint suite shows its records."""
