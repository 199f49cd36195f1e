"""Write a suite's records: CSV, JSON, and the suite's Markdown, table and plot.

Records are `proxystore_bench.harness.records.Record`s; a suite says how it
shows them with a `Report`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import json
import pathlib
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from proxystore_bench.harness.records import Record
from proxystore_bench.harness.records import load_records

__all__ = [
    'Report',
    'Results',
    'figure',
    'format_size',
    'markdown_table',
    'plot_bandwidth',
    'plot_get_put_bandwidth',
    'print_table',
    'ratio',
    'rich_table',
    'save_results',
    'verdict',
    'write_csv',
    'write_json',
    'write_samples_csv',
]


_BINARY = (('GiB', 1 << 30), ('MiB', 1 << 20), ('KiB', 1 << 10))
_DECIMAL = (('GB', 10**9), ('MB', 10**6), ('KB', 10**3))


def format_size(nbytes: int, *, binary: bool = True) -> str:
    """``nbytes`` in the largest unit it reaches: KiB/MiB/GiB, or KB/MB/GB."""
    for unit, scale in _BINARY if binary else _DECIMAL:
        if nbytes >= scale:
            return f'{nbytes / scale:.3g} {unit}'
    return f'{nbytes} B'


def ratio(value: float | None) -> str:
    """``1.23x``, truncated (0.795 must not read as a met 0.80); ``-`` for none."""
    return '-' if value is None else f'{int(value * 100) / 100:.2f}x'


def verdict(meets: bool | None, *, rich: bool, miss: str = 'below') -> str:
    """`` ok`` or `` below`` (``miss``) after a cell; coloured on a console.

    Empty without a target (``meets`` is ``None``). In plain text, a ``miss``
    of ``over`` reads ``over target``.
    """
    if meets is None:
        return ''
    if rich:
        return ' [green]ok[/]' if meets else f' [red]{miss}[/]'
    return ' ok' if meets else ' over target' if miss == 'over' else f' {miss}'


def markdown_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    left: Collection[str] = (),
) -> list[str]:
    """The lines of a Markdown table; the columns named in ``left`` align left."""
    align = ''.join('---|' if name in left else '---:|' for name in header)
    lines = ['| ' + ' | '.join(header) + ' |', '|' + align]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return lines


def rich_table(
    title: str,
    header: Sequence[str],
    *,
    left: Collection[str] = (),
    caption: str | None = None,
) -> Table:
    """A rich table with these columns; the columns named in ``left`` align left."""
    table = Table(title=title, caption=caption)
    for name in header:
        table.add_column(name, justify='left' if name in left else 'right')
    return table


def print_table(
    console: Console,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    left: Collection[str] = (),
    note: str | None = None,
) -> None:
    """Print the rows as a rich table, then ``note`` (the targets, say)."""
    table = rich_table(title, header, left=left)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if note is not None:
        console.print(note)


@dataclasses.dataclass(frozen=True)
class Report:
    """How a suite shows its records: a Markdown table, a rich table, a plot.

    Attributes:
        record: The suite's record type (to reload its ``<suite>.json``).
        markdown: Writes the records as a Markdown table to a path.
        table: Prints the records on a console.
        plot: Saves a plot of the records to a path (``None``: no plot).
    """

    record: type[Record]
    markdown: Callable[[Sequence[Any], pathlib.Path], None]
    table: Callable[[Sequence[Any], Console], None]
    plot: Callable[[Sequence[Any], pathlib.Path], None] | None = None

    def load(self, path: pathlib.Path) -> list[Record]:
        """The records of a ``<suite>.json``, such as ``benchmarks/results``'."""
        return list(load_records(self.record, path))


@dataclasses.dataclass(frozen=True)
class Results:
    """What a suite's run returns, for the CLI to save.

    Attributes:
        name: Stem of the files written (``<name>.csv``, ...).
        records: The measurements.
        plot: Writes the plot, in place of the report's plot of the records.
        extra: More file names and the functions that write them.
    """

    name: str
    records: Sequence[Record]
    plot: Callable[[pathlib.Path], None] | None = None
    extra: Mapping[str, Callable[[pathlib.Path], None]] = dataclasses.field(
        default_factory=dict
    )


def write_csv(records: Sequence[Record], path: pathlib.Path) -> None:
    """One row per record."""
    if not records:
        path.write_text('')
        return
    rows = [r.as_dict() for r in records]
    with path.open('w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_samples_csv(
    sample_type: type[Any], samples: Sequence[Any], path: pathlib.Path
) -> None:
    """Samples (instances of the dataclass ``sample_type``), one row each."""
    fields = [f.name for f in dataclasses.fields(sample_type)]
    with path.open('w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(dataclasses.asdict(s) for s in samples)


def write_json(records: Sequence[Record], path: pathlib.Path) -> None:
    """A list of records."""
    path.write_text(json.dumps([r.as_dict() for r in records], indent=2) + '\n')


def save_results(
    console: Console,
    out: pathlib.Path,
    results: Results,
    report: Report,
    *,
    plot: bool,
) -> None:
    """Write ``<name>.csv|json|md`` (and ``.png`` with ``plot``) to ``out``.

    Also prints the table and the files written.
    """
    records = results.records
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Callable[[pathlib.Path], None]] = {
        f'{results.name}.csv': lambda path: write_csv(records, path),
        f'{results.name}.json': lambda path: write_json(records, path),
        **results.extra,
        f'{results.name}.md': lambda path: report.markdown(records, path),
    }
    draw = results.plot
    if draw is None and report.plot is not None:
        draw = functools.partial(report.plot, records)
    if plot and draw is not None:
        writers[f'{results.name}.png'] = draw
    for filename, write in writers.items():
        write(out / filename)
    report.table(records, console)
    console.print(f'Wrote {", ".join(writers)} to {out}/')


@contextlib.contextmanager
def figure(
    path: pathlib.Path, *grid: int, dpi: int = 120, **options: Any
) -> Iterator[tuple[Any, Any]]:
    """A matplotlib figure and its axes (``plt.subplots(*grid, **options)``).

    On the Agg backend (no display needed); on leaving the block, the figure
    is laid out, saved to ``path`` and closed.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*grid, **options)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)


def plot_bandwidth(axes: Any, records: Sequence[Any]) -> None:
    """Bandwidth against size on log-log ``axes``, a line per method.

    ``records`` have ``method``, ``size`` and ``mib_per_s``.
    """
    for method in dict.fromkeys(r.method for r in records):
        points = sorted((r.size, r.mib_per_s) for r in records if r.method == method)
        axes.plot(*zip(*points, strict=True), marker='o', label=method)
    axes.set_xscale('log', base=2)
    axes.set_yscale('log')
    axes.set_xlabel('object size (bytes)')
    axes.legend()


def plot_get_put_bandwidth(
    records: Sequence[Any], path: pathlib.Path, title: str
) -> None:
    """Bandwidth against size, a panel for gets and one for puts, a line per method.

    ``records`` have ``op``, ``method``, ``size`` and ``mib_per_s``.
    """
    with figure(path, 1, 2, figsize=(11, 4), sharey=True, dpi=110) as (fig, panels):
        for axes, op in zip(panels, ('get', 'put'), strict=True):
            plot_bandwidth(axes, [r for r in records if r.op == op])
            axes.set_title(f'{op}, one at a time')
        panels[0].set_ylabel('MiB/s')
        fig.suptitle(title)
