"""Tables and plots of the task pipelining benchmark."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import figure
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import print_table
from proxystore_bench.harness.report import verdict
from proxystore_bench.suites.pipelining import PipelineRecord

__all__ = [
    'REPORT',
    'plot_pipelining',
    'print_pipelining_table',
    'write_pipelining_markdown',
]

_HEADER = ('overhead', 'method', 'connector', 'makespan', 'ideal', 'over ideal')
_LEFT = ('method', 'connector')


def _row(record: PipelineRecord, *, rich: bool) -> list[str]:
    over = f'{record.residual_s:+.3f} s'
    over += verdict(record.meets_target, rich=rich, miss='over')
    return [
        f'{record.overhead:.1f}',
        record.method,
        record.connector,
        f'{record.makespan_s:.3f} s',
        f'{record.ideal_s:.3f} s',
        over,
    ]


def print_pipelining_table(records: Sequence[PipelineRecord], console: Console) -> None:
    """The records as a table on the console."""
    if not records:
        return
    first = records[0]
    print_table(
        console,
        f'Chain of {first.length} tasks of {first.task_sleep:g} s passing '
        f'{first.size / 1e6:g} MB (best of the repeats)',
        _HEADER,
        [_row(r, rich=True) for r in records],
        left=_LEFT,
    )


def write_pipelining_markdown(
    records: Sequence[PipelineRecord], path: pathlib.Path
) -> None:
    """The records as a Markdown table (included by the docs)."""
    lines = markdown_table(_HEADER, [_row(r, rich=False) for r in records], left=_LEFT)
    path.write_text('\n'.join(lines) + '\n')


def plot_pipelining(records: Sequence[PipelineRecord], path: pathlib.Path) -> None:
    """Makespan against the start-up fraction, one line per method and channel."""
    with figure(path, figsize=(8, 5)) as (_, ax):
        series: dict[str, list[PipelineRecord]] = {}
        for record in records:
            label = record.method
            if record.connector != '-':
                label += f' ({record.connector})'
            series.setdefault(label, []).append(record)
        for label, points in series.items():
            points.sort(key=lambda r: r.overhead)
            ax.plot(
                [p.overhead for p in points],
                [p.makespan_s for p in points],
                marker='o',
                label=label,
            )
        ideal = sorted(
            {(r.overhead, r.ideal_s) for r in records if r.method == 'pipelined'}
        )
        if ideal:
            ax.plot(
                [o for o, _ in ideal],
                [i for _, i in ideal],
                linestyle='--',
                color='black',
                label='ideal pipelined',
            )
        ax.set_xlabel('start-up fraction of each task')
        ax.set_ylabel('makespan (s)')
        ax.legend(fontsize='small')


REPORT = Report(
    PipelineRecord,
    write_pipelining_markdown,
    print_pipelining_table,
    plot_pipelining,
)
"""How the pipelining suite shows its records."""
