"""The endpoint benchmark's table, markdown and plot."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness import transfer
from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import plot_get_put_bandwidth
from proxystore_bench.suites.endpoint import LATENCY_TARGET_US
from proxystore_bench.suites.endpoint import PEER_TARGET
from proxystore_bench.suites.endpoint import EndpointRecord

__all__ = ['REPORT', 'plot_endpoint', 'print_endpoint_table', 'write_endpoint_markdown']


def write_endpoint_markdown(
    records: Sequence[EndpointRecord], path: pathlib.Path
) -> None:
    """A markdown table of the records."""
    transfer.write_markdown(records, path, 'vs 1.x')


def print_endpoint_table(records: Sequence[EndpointRecord], console: Console) -> None:
    """The records as a rich table."""
    transfer.print_records(
        records,
        console,
        title='Endpoints: local, peer to peer, Redis, ProxyStore 1.x',
        vs='vs 1.x',
        note=f'targets: local get of 1 KiB <= {LATENCY_TARGET_US:g} µs; peer-to-peer '
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
