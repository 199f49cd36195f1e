"""Tables and plots of the proxy overhead benchmark."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import figure
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import rich_table
from proxystore_bench.harness.report import verdict
from proxystore_bench.suites.proxy import ProxyRecord

__all__ = ['REPORT', 'plot_ratios', 'print_table', 'write_markdown']


def _pivot(
    records: Sequence[ProxyRecord],
) -> tuple[list[str], list[list[ProxyRecord | None]]]:
    """Operations as rows, subjects as columns."""
    subjects = list(dict.fromkeys(r.subject for r in records))
    ops = list(dict.fromkeys(r.op for r in records))
    by_key = {(r.subject, r.op): r for r in records}
    rows = [[by_key.get((s, op)) for s in subjects] for op in ops]
    return subjects, rows


def _cell(record: ProxyRecord | None, *, rich: bool) -> str:
    """The value; for a timed op, the ratio (and, in Markdown, the time too)."""
    if record is None:
        return '-'
    if record.unit == 'bytes':
        text = f'{record.value:.0f} B'
    elif record.unit == 'ms':
        text = f'{record.value:.1f} ms'
    elif record.ratio is None:
        text = f'{record.value:.0f} ns'
    elif rich:
        text = f'{record.ratio:.2f}x'
    else:
        return f'{record.ratio:.2f}x ({record.value:.0f} ns)'
    return text + (verdict(record.meets_target, rich=True, miss='over') if rich else '')


def _table(
    records: Sequence[ProxyRecord], *, rich: bool
) -> tuple[list[str], list[list[str]]]:
    """The header and the rows: an operation a row, a subject a column."""
    subjects, pivot = _pivot(records)
    rows = []
    for row in pivot:
        first = next(r for r in row if r is not None)
        raw = '' if first.raw is None else f'{first.raw:.0f} {first.unit}'
        rows.append([first.op, raw, *(_cell(r, rich=rich) for r in row)])
    return ['operation', 'raw object', *subjects], rows


def _versions(records: Sequence[ProxyRecord], joiner: str) -> str:
    versions = {r.subject: f'{r.version} ({r.implementation})' for r in records}
    return 'Versions: ' + '; '.join(f'{k}{joiner}{v}' for k, v in versions.items())


def write_markdown(records: Sequence[ProxyRecord], path: pathlib.Path) -> None:
    """A Markdown table: one row per operation, one column per subject."""
    header, rows = _table(records, rich=False)
    lines = markdown_table(header, rows, left=('operation',))
    lines += ['', _versions(records, ' ') + '.']
    path.write_text('\n'.join(lines) + '\n')


def print_table(records: Sequence[ProxyRecord], console: Console | None = None) -> None:
    """Print one row per operation, one column per subject."""
    console = console or Console()
    header, rows = _table(records, rich=True)
    table = rich_table(
        'Proxy overhead: time with proxy / time with raw object',
        header,
        left=('operation',),
        caption='Same process, best of repeats; ns per op in proxy.csv. '
        'Targets (ok/over) apply to proxystore (C).',
    )
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(_versions(records, ' = '))


def plot_ratios(records: Sequence[ProxyRecord], path: pathlib.Path) -> None:
    """Bar chart of the proxy/raw ratio per operation and subject (log scale)."""
    timed = [r for r in records if r.ratio is not None]
    subjects = list(dict.fromkeys(r.subject for r in timed))
    ops = list(dict.fromkeys(r.op for r in timed))
    by_key = {(r.subject, r.op): r.ratio for r in timed}
    width = 0.8 / max(len(subjects), 1)
    with figure(path, figsize=(11, 5)) as (_, ax):
        for i, subject in enumerate(subjects):
            xs = [j + i * width for j in range(len(ops))]
            ys = [by_key.get((subject, op)) or 0.0 for op in ops]
            ax.bar(xs, ys, width=width, label=subject)
        ax.axhline(1.0, color='black', linewidth=0.8)
        ax.axhline(2.0, color='grey', linestyle='--', linewidth=0.8, label='2x target')
        ax.axhline(
            5.0, color='grey', linestyle=':', linewidth=0.8, label='5x target (attr)'
        )
        ax.set_yscale('log')
        ax.set_xticks([j + width * (len(subjects) - 1) / 2 for j in range(len(ops))])
        ax.set_xticklabels(ops, rotation=20)
        ax.set_ylabel('time with proxy / time with raw object')
        ax.set_title('Proxy overhead per operation (same process, lower is better)')
        ax.legend(fontsize='small', loc='upper left', bbox_to_anchor=(1.01, 1.0))


REPORT = Report(ProxyRecord, write_markdown, print_table, plot_ratios)
"""How the proxy suite shows its records."""
