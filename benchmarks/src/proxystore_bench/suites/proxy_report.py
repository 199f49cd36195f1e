"""Tables and plots of the proxy overhead benchmark."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from proxystore_bench.harness.report import Report
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


def _plain(record: ProxyRecord | None) -> str:
    if record is None:
        return '-'
    if record.unit == 'bytes':
        return f'{record.value:.0f} B'
    if record.unit == 'ms':
        return f'{record.value:.1f} ms'
    if record.ratio is None:
        return f'{record.value:.0f} ns'
    return f'{record.ratio:.2f}x ({record.value:.0f} ns)'


def write_markdown(records: Sequence[ProxyRecord], path: pathlib.Path) -> None:
    """A Markdown table: one row per operation, one column per subject."""
    subjects, rows = _pivot(records)
    lines = [
        '| operation | raw object | ' + ' | '.join(subjects) + ' |',
        '|---|---:|' + '---:|' * len(subjects),
    ]
    for row in rows:
        first = next(r for r in row if r is not None)
        raw = '' if first.raw is None else f'{first.raw:.0f} {first.unit}'
        lines.append(
            f'| {first.op} | {raw} | ' + ' | '.join(_plain(r) for r in row) + ' |',
        )
    versions = {r.subject: f'{r.version} ({r.implementation})' for r in records}
    lines.append('')
    lines.append(
        'Versions: ' + '; '.join(f'{k} {v}' for k, v in versions.items()) + '.',
    )
    path.write_text('\n'.join(lines) + '\n')


def _cell(record: ProxyRecord) -> str:
    if record.unit == 'bytes':
        text = f'{record.value:.0f} B'
    elif record.unit == 'ms':
        text = f'{record.value:.1f} ms'
    elif record.ratio is None:
        text = f'{record.value:.0f} ns'
    else:
        text = f'{record.ratio:.2f}x'
    if record.meets_target is not None:
        text += ' [green]ok[/]' if record.meets_target else ' [red]over[/]'
    return text


def print_table(records: Sequence[ProxyRecord], console: Console | None = None) -> None:
    """Print one row per operation, one column per subject."""
    console = console or Console()
    subjects = list(dict.fromkeys(r.subject for r in records))
    ops = list(dict.fromkeys(r.op for r in records))
    by_key = {(r.subject, r.op): r for r in records}
    table = Table(
        title='Proxy overhead: time with proxy / time with raw object',
        caption='Same process, best of repeats; ns per op in proxy.csv. '
        'Targets (ok/over) apply to proxystore (C).',
    )
    table.add_column('operation')
    table.add_column('raw object', justify='right')
    for subject in subjects:
        table.add_column(subject, justify='right')
    for op in ops:
        reference = next(r for r in records if r.op == op)
        raw = reference.raw
        raw_text = '' if raw is None else f'{raw:.0f} {reference.unit}'
        cells = [_cell(by_key[(s, op)]) if (s, op) in by_key else '-' for s in subjects]
        table.add_row(op, raw_text, *cells)
    console.print(table)
    versions = {r.subject: f'{r.version} ({r.implementation})' for r in records}
    console.print(
        'Versions: ' + '; '.join(f'{k} = {v}' for k, v in versions.items()),
    )


def plot_ratios(records: Sequence[ProxyRecord], path: pathlib.Path) -> None:
    """Bar chart of the proxy/raw ratio per operation and subject (log scale)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    timed = [r for r in records if r.ratio is not None]
    subjects = list(dict.fromkeys(r.subject for r in timed))
    ops = list(dict.fromkeys(r.op for r in timed))
    by_key = {(r.subject, r.op): r.ratio for r in timed}
    width = 0.8 / max(len(subjects), 1)
    fig, ax = plt.subplots(figsize=(11, 5))
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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


REPORT = Report(ProxyRecord, write_markdown, print_table, plot_ratios)
"""How the proxy suite shows its records."""
