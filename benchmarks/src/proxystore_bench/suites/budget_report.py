"""Tables and plots of the budget benchmark."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import figure
from proxystore_bench.harness.report import format_size
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import print_table
from proxystore_bench.harness.report import ratio
from proxystore_bench.harness.report import verdict
from proxystore_bench.harness.report import write_samples_csv as write_sample_rows
from proxystore_bench.suites.budget import MAKESPAN_TARGET
from proxystore_bench.suites.budget import BudgetRecord
from proxystore_bench.suites.budget import BudgetSample

__all__ = [
    'REPORT',
    'plot_budget',
    'print_budget_table',
    'write_budget_markdown',
    'write_samples_csv',
]

_HEADER = (
    'mode',
    'makespan',
    'vs ray',
    'stored / verified / lost',
    'peak RSS',
    'peak /dev/shm',
    'peak store',
    'peak spilled',
    'spills / restores',
    'outcome',
)


def _size(nbytes: int | None) -> str:
    return '-' if nbytes is None else format_size(max(nbytes, 0))


def _count(value: int | None) -> str:
    return '?' if value is None else str(value)


def _outcome(record: BudgetRecord, *, limit: int) -> str:
    if record.completed:
        return 'completed'
    error = record.error or 'incomplete'
    error = error.replace('|', '/').replace('\n', ' ')
    return error if len(error) <= limit else error[: limit - 3] + '...'


def _row(record: BudgetRecord, *, rich: bool, limit: int) -> list[str]:
    makespan = '-' if record.makespan_s is None else f'{record.makespan_s:.2f} s'
    versus = ratio(record.vs_ray)
    if record.mode == 'shm-spill':
        versus += verdict(record.meets_target, rich=rich, miss='over')
    return [
        record.mode,
        makespan,
        versus,
        f'{record.stored} / {record.verified} / {record.lost}',
        _size(record.peak_rss_bytes),
        _size(record.peak_dev_shm_bytes),
        _size(record.peak_store_bytes),
        _size(record.peak_spilled_bytes),
        f'{_count(record.spills)} / {_count(record.restores)}',
        _outcome(record, limit=limit),
    ]


def _note(records: Sequence[BudgetRecord]) -> str:
    first = records[0]
    live = first.objects * first.object_bytes
    return (
        f'A {first.shape} run. Budget {format_size(first.budget_bytes)}, '
        f'{first.objects} objects of '
        f'{format_size(first.object_bytes)} ({format_size(live)} live, '
        f'{live / first.budget_bytes:.1f}x the budget), 2 worker processes. '
        f'Target: shm-spill completes, 0 lost, makespan <= {MAKESPAN_TARGET}x '
        "Ray's. Peaks are above the mode's start; /dev/shm is the whole tmpfs "
        '(other users of the node included); peak RSS sums the driver and its '
        'descendants (for Ray: raylet, GCS and workers); peak store is the objects '
        "in the store's folder (not its lock and counter files); Ray's spill counts "
        'come from its memory summary, which needs grpcio (?: not installed), '
        'and its peak spilled is the size of its spill folder.'
    )


def print_budget_table(records: Sequence[BudgetRecord], console: Console) -> None:
    """The records as a table on the console."""
    print_table(
        console,
        'Workflow at 3x the memory budget',
        _HEADER,
        [_row(r, rich=True, limit=30) for r in records],
        left=('mode', 'outcome'),
        note=_note(records) if records else None,
    )


def write_budget_markdown(records: Sequence[BudgetRecord], path: pathlib.Path) -> None:
    """The records as a Markdown table (included by the docs)."""
    lines = markdown_table(
        _HEADER,
        [_row(r, rich=False, limit=160) for r in records],
        left=('mode', 'outcome'),
    )
    if records:
        lines += ['', _note(records)]
    path.write_text('\n'.join(lines) + '\n')


def write_samples_csv(samples: Sequence[BudgetSample], path: pathlib.Path) -> None:
    """Every sample, one row each."""
    write_sample_rows(BudgetSample, samples, path)


def plot_budget(samples: Sequence[BudgetSample], path: pathlib.Path) -> None:
    """RSS, /dev/shm and spilled bytes over time, one line per mode."""
    panels = (
        ('rss_bytes', 'RSS, driver + workers (MiB)'),
        ('dev_shm_bytes', '/dev/shm used (MiB)'),
        ('spilled_bytes', 'spilled to disk (MiB)'),
    )
    with figure(path, 3, 1, figsize=(9, 8), sharex=True) as (_, axes):
        for mode in dict.fromkeys(s.mode for s in samples):
            mine = [s for s in samples if s.mode == mode]
            times = [s.time_s for s in mine]
            for ax, (field, _) in zip(axes, panels, strict=True):
                ax.plot(
                    times, [getattr(s, field) / (1 << 20) for s in mine], label=mode
                )
        for ax, (_, label) in zip(axes, panels, strict=True):
            ax.set_ylabel(label)
        axes[-1].set_xlabel('time since the mode started (s)')
        axes[0].legend()


REPORT = Report(BudgetRecord, write_budget_markdown, print_budget_table)
"""How the budget suite shows its records (its plot is of the samples)."""
