"""The UCX suite's report: its table, Markdown and plot (`transfer.report`)."""

from __future__ import annotations

from proxystore_bench.harness import transfer
from proxystore_bench.suites.ucx import BANDWIDTH_TARGET
from proxystore_bench.suites.ucx import LATENCY_TARGET_US
from proxystore_bench.suites.ucx import UCXRecord

__all__ = ['REPORT', 'meets_target']


def meets_target(record: UCXRecord) -> bool | None:
    """Whether a connector get meets the issue's target (``None``: no target)."""
    return record.meets_target


REPORT = transfer.report(
    UCXRecord,
    title='UCX connector vs raw ucxx and the Redis connector',
    vs='vs raw',
    note=f'targets: connector get >= {BANDWIDTH_TARGET}x raw bandwidth from '
    f'1 MiB; small get <= {LATENCY_TARGET_US:g} µs',
    plot_title='UCX connector vs raw ucxx and Redis, two processes',
)
"""How the UCX suite shows its records."""
