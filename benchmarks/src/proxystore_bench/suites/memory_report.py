"""Tables and plots of the memory benchmark."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import figure
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import print_table
from proxystore_bench.harness.report import verdict
from proxystore_bench.harness.report import write_samples_csv as write_sample_rows
from proxystore_bench.suites.memory import MemoryRecord
from proxystore_bench.suites.memory import MemorySample

__all__ = [
    'REPORT',
    'plot_memory',
    'print_memory_table',
    'write_memory_markdown',
    'write_samples_csv',
]

_HEADER = (
    'mode',
    'makespan',
    'peak store',
    'peak / manual',
    'left in store',
    'keys left',
    'peak RSS',
)


def _mb(nbytes: int) -> str:
    return f'{nbytes / 1e6:.1f} MB'


def _row(record: MemoryRecord, *, rich: bool) -> list[str]:
    ratio = '-' if record.peak_vs_manual is None else f'{record.peak_vs_manual:.3f}x'
    ratio += verdict(record.meets_target, rich=rich, miss='over')
    return [
        record.mode,
        f'{record.makespan_s:.2f} s',
        _mb(record.peak_store_bytes),
        ratio,
        _mb(record.residual_store_bytes),
        str(record.residual_keys),
        _mb(record.peak_rss_bytes),
    ]


def print_memory_table(records: Sequence[MemoryRecord], console: Console) -> None:
    """The records as a table on the console."""
    print_table(
        console,
        'Staged workflow: memory by way of freeing objects',
        _HEADER,
        [_row(r, rich=True) for r in records],
        left=('mode',),
    )


def write_memory_markdown(records: Sequence[MemoryRecord], path: pathlib.Path) -> None:
    """The records as a Markdown table (included by the docs)."""
    lines = markdown_table(
        _HEADER, [_row(r, rich=False) for r in records], left=('mode',)
    )
    if records:
        lines.append('')
        lines.append(
            f'Stored by each mode: {_mb(records[0].produced_bytes)}. Peaks are '
            "above the server's memory before the mode started.",
        )
    path.write_text('\n'.join(lines) + '\n')


def write_samples_csv(samples: Sequence[MemorySample], path: pathlib.Path) -> None:
    """Every sample, one row each."""
    write_sample_rows(MemorySample, samples, path)


def plot_memory(samples: Sequence[MemorySample], path: pathlib.Path) -> None:
    """Store memory and keys over time, one line per mode."""
    with figure(path, 2, 1, figsize=(9, 6), sharex=True) as (_, (top, bottom)):
        for mode in dict.fromkeys(s.mode for s in samples if s.mode):
            mine = [s for s in samples if s.mode == mode]
            base = mine[0].store_bytes
            times = [s.time_s for s in mine]
            top.plot(times, [(s.store_bytes - base) / 1e6 for s in mine], label=mode)
            bottom.plot(times, [s.keys for s in mine], label=mode)
        top.set_ylabel('store memory (MB)')
        bottom.set_ylabel('objects in the store')
        bottom.set_xlabel('time since the mode started (s)')
        top.legend()


REPORT = Report(MemoryRecord, write_memory_markdown, print_memory_table)
"""How the memory suite shows its records (its plot is of the samples)."""
