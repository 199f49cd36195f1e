"""Tables and plots of the stream throughput benchmark."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import figure
from proxystore_bench.harness.report import format_size
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import ratio
from proxystore_bench.harness.report import rich_table
from proxystore_bench.harness.report import verdict
from proxystore_bench.suites.stream import METHODS
from proxystore_bench.suites.stream import PUBSUB_TARGET
from proxystore_bench.suites.stream import RAW_TARGET
from proxystore_bench.suites.stream import StreamRecord

__all__ = ['REPORT', 'plot_stream', 'print_stream_table', 'write_stream_markdown']

_HEADER = (
    'size',
    'method',
    'store',
    'items',
    'MB/s',
    'items/s',
    'vs raw',
    'vs pub/sub',
)
_LEFT = ('method', 'store')


def _row(record: StreamRecord, *, rich: bool) -> list[str]:
    return [
        format_size(record.size, binary=False),
        record.method,
        record.store,
        str(record.items),
        f'{record.mb_per_s:,.1f}',
        f'{record.items_per_s:,.0f}',
        ratio(record.vs_raw) + verdict(record.meets_raw_target, rich=rich),
        ratio(record.vs_pubsub) + verdict(record.meets_pubsub_target, rich=rich),
    ]


def print_stream_table(records: Sequence[StreamRecord], console: Console) -> None:
    """The records as a table on the console."""
    table = rich_table(
        'Stream throughput, one producer and one consumer process '
        f'(targets for proxy-resolve, items >= 1 MB: >= {RAW_TARGET}x raw '
        f'store, >= {PUBSUB_TARGET:g}x pub/sub)',
        _HEADER,
        left=_LEFT,
    )
    previous = None
    for record in records:
        if previous is not None and record.size != previous:
            table.add_section()
        previous = record.size
        table.add_row(*_row(record, rich=True))
    console.print(table)


def write_stream_markdown(records: Sequence[StreamRecord], path: pathlib.Path) -> None:
    """The records as a Markdown table (included by the docs)."""
    lines = markdown_table(_HEADER, [_row(r, rich=False) for r in records], left=_LEFT)
    path.write_text('\n'.join(lines) + '\n')


def plot_stream(records: Sequence[StreamRecord], path: pathlib.Path) -> None:
    """Throughput against item size (log-log), one line per method and store."""
    with figure(path, figsize=(8, 5)) as (_, ax):
        # One color per method, one line style per store: the same method on two
        # stores reads as a pair.
        colors = {m: f'C{i}' for i, m in enumerate(METHODS)}
        styles = {'redis': ('-', 'o'), 'shm': (':', 's'), '-': ('-', 'o')}
        series: dict[tuple[str, str], list[StreamRecord]] = {}
        for record in records:
            series.setdefault((record.method, record.store), []).append(record)
        for (method, store), points in series.items():
            points.sort(key=lambda r: r.size)
            linestyle, marker = styles.get(store, ('--', 'x'))
            ax.plot(
                [p.size / 1e6 for p in points],
                [p.mb_per_s for p in points],
                color=colors.get(method),
                linestyle=linestyle,
                marker=marker,
                label=method if store == '-' else f'{method} ({store})',
            )
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('item size (MB)')
        ax.set_ylabel('throughput (MB/s)')
        ax.grid(True, which='major', alpha=0.3)
        ax.legend(fontsize='small')


REPORT = Report(StreamRecord, write_stream_markdown, print_stream_table, plot_stream)
"""How the stream suite shows its records."""
