"""The endpoint suite's report: its table, Markdown and plot (`transfer.report`)."""

from __future__ import annotations

from proxystore_bench.harness import transfer
from proxystore_bench.suites.endpoint import LATENCY_TARGET_US
from proxystore_bench.suites.endpoint import PEER_TARGET
from proxystore_bench.suites.endpoint import EndpointRecord

__all__ = ['REPORT']

REPORT = transfer.report(
    EndpointRecord,
    title='Endpoints: local, peer to peer, Redis, ProxyStore 1.x',
    vs='vs 1.x',
    note=f'targets: local get of 1 KiB <= {LATENCY_TARGET_US:g} µs; peer-to-peer '
    f'bandwidth >= {PEER_TARGET:g}x 1.x peering from 1 MiB',
    plot_title='Endpoints on one host: local, peer to peer (WebRTC), Redis',
)
"""How the endpoint suite shows its records."""
