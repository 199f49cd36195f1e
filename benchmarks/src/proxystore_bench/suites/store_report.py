"""Tables and plots of the store benchmark."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

from rich.console import Console

from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import figure
from proxystore_bench.harness.report import format_size
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import rich_table
from proxystore_bench.harness.report import verdict
from proxystore_bench.suites.store import StoreRecord

__all__ = ['REPORT', 'plot_store', 'print_store_table', 'write_store_markdown']

_TITLES = {
    'put_get': 'put + get vs pickle + raw channel',
    'resolve': 'first resolve of an unpickled proxy vs pickle.loads',
    'proxy_size': 'pickled store proxy (bytes)',
    'roundtrip_total': 'process-pool task summing an array: by proxy / by value',
    'roundtrip_identity': 'process-pool task returning an array: by proxy / by value',
}


def _cell(record: StoreRecord | None, *, rich: bool) -> str:
    if record is None:
        return '-'
    if record.bench == 'proxy_size':
        text = f'{record.value:.0f} B'
    else:
        text = f'{record.ratio:.2f}x ({record.value * 1e3:.3g} ms)'
    return text + verdict(record.meets_target, rich=rich, miss='over')


_LABELS = ('bench', 'connector', 'object', 'size')
_ORDER = ('proxy_size', 'resolve', 'put_get', 'roundtrip_total', 'roundtrip_identity')


def _rows(
    records: Sequence[StoreRecord],
) -> tuple[list[str], list[tuple[list[str], list[StoreRecord | None]]]]:
    subjects = list(dict.fromkeys(r.subject for r in records))
    keys = sorted(
        dict.fromkeys((r.bench, r.case, r.kind, r.size) for r in records),
        key=lambda k: (_ORDER.index(k[0]), k[1], k[2], k[3]),
    )
    by_key = {(r.subject, r.bench, r.case, r.kind, r.size): r for r in records}
    rows = []
    for bench, case, kind, size in keys:
        label = [bench, case, kind, format_size(size)]
        rows.append(
            (label, [by_key.get((s, bench, case, kind, size)) for s in subjects]),
        )
    return subjects, rows


def print_store_table(
    records: Sequence[StoreRecord], console: Console | None = None
) -> None:
    """One row per measurement, one column per implementation."""
    console = console or Console()
    subjects, rows = _rows(records)
    table = rich_table(
        'Store: this project and ProxyStore 1.1.0 (ratios within each run)',
        [*_LABELS, *subjects],
        left=_LABELS,
        caption='; '.join(f'{k}: {v}' for k, v in _TITLES.items()),
    )
    for label, cells in rows:
        table.add_row(*label, *(_cell(c, rich=True) for c in cells))
    console.print(table)


def write_store_markdown(records: Sequence[StoreRecord], path: pathlib.Path) -> None:
    """A Markdown table of the run."""
    subjects, rows = _rows(records)
    lines = markdown_table(
        [*_LABELS, *subjects],
        [[*label, *(_cell(c, rich=False) for c in cells)] for label, cells in rows],
        left=_LABELS[:3],
    )
    lines.append('')
    lines += [f'- `{k}`: {v}' for k, v in _TITLES.items()]
    path.write_text('\n'.join(lines) + '\n')


def plot_store(records: Sequence[StoreRecord], path: pathlib.Path) -> None:
    """Ratios against size: put+get of numpy arrays, and task round trips."""
    with figure(path, 1, 2, figsize=(13, 5)) as (_, axes):
        panels = (('put_get', 'numpy'), ('roundtrip_total', 'numpy'))
        for ax, (bench, kind) in zip(axes, panels, strict=True):
            series: dict[str, list[StoreRecord]] = {}
            for r in records:
                if r.bench == bench and r.kind == kind and r.ratio is not None:
                    series.setdefault(f'{r.subject} · {r.case}', []).append(r)
            for label, points in series.items():
                points.sort(key=lambda r: r.size)
                ax.plot(
                    [p.size for p in points],
                    [p.ratio for p in points],
                    marker='o',
                    label=label,
                )
            ax.axhline(1.0, color='black', linewidth=0.8)
            ax.set_xscale('log', base=2)
            ax.set_yscale('log')
            ax.set_xlabel('object size (bytes)')
            ax.set_ylabel('ratio (lower is better)')
            ax.set_title(_TITLES[bench], fontsize='medium')
            ax.legend(fontsize='x-small')


REPORT = Report(StoreRecord, write_store_markdown, print_store_table, plot_store)
"""How the store suite shows its records."""
