"""Write benchmark records: CSV, JSON, and each benchmark's table and plot.

Records are dataclasses with ``target`` and ``meets_target`` properties.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from rich.console import Console

__all__ = ['as_dict', 'format_size', 'save_results', 'write_csv', 'write_json']


_BINARY = (('GiB', 1 << 30), ('MiB', 1 << 20), ('KiB', 1 << 10))
_DECIMAL = (('GB', 10**9), ('MB', 10**6), ('KB', 10**3))


def format_size(nbytes: int, *, binary: bool = True) -> str:
    """``nbytes`` in the largest unit it reaches: KiB/MiB/GiB, or KB/MB/GB."""
    for unit, scale in _BINARY if binary else _DECIMAL:
        if nbytes >= scale:
            return f'{nbytes / scale:.3g} {unit}'
    return f'{nbytes} B'


def as_dict(record: Any) -> dict[str, Any]:
    """A record's fields, plus its target and whether it is met."""
    row = dataclasses.asdict(record)
    row['target'] = record.target
    row['meets_target'] = record.meets_target
    return row


def write_csv(records: Sequence[Any], path: pathlib.Path) -> None:
    """One row per record."""
    if not records:
        path.write_text('')
        return
    rows = [as_dict(r) for r in records]
    with path.open('w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_json(records: Sequence[Any], path: pathlib.Path) -> None:
    """A list of records."""
    path.write_text(json.dumps([as_dict(r) for r in records], indent=2) + '\n')


def save_results(
    console: Console,
    out: pathlib.Path,
    name: str,
    records: Sequence[Any],
    *,
    markdown: Callable[[Sequence[Any], pathlib.Path], None],
    table: Callable[[Sequence[Any], Console], None],
    plot: Callable[[pathlib.Path], None] | None,
    extra: Mapping[str, Callable[[pathlib.Path], None]] | None = None,
) -> None:
    """Write ``<name>.csv|json|md`` (and ``.png`` with ``plot``) to ``out``.

    Also prints the table and the files written; ``extra`` maps more file
    names to the functions that write them.
    """
    out.mkdir(parents=True, exist_ok=True)
    writers: dict[str, Callable[[pathlib.Path], None]] = {
        f'{name}.csv': lambda path: write_csv(records, path),
        f'{name}.json': lambda path: write_json(records, path),
        **(extra or {}),
        f'{name}.md': lambda path: markdown(records, path),
    }
    if plot is not None:
        writers[f'{name}.png'] = plot
    for filename, write in writers.items():
        write(out / filename)
    table(records, console)
    console.print(f'Wrote {", ".join(writers)} to {out}/')


def plot_get_put_bandwidth(
    records: Sequence[Any], path: pathlib.Path, title: str
) -> None:
    """Bandwidth against size, a panel for gets and one for puts, a line per method.

    ``records`` have ``op``, ``method``, ``size`` and ``mib_per_s``.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axes, op in zip(panels, ('get', 'put'), strict=True):
        chosen = [r for r in records if r.op == op]
        for method in dict.fromkeys(r.method for r in chosen):
            points = sorted((r.size, r.mib_per_s) for r in chosen if r.method == method)
            axes.plot(*zip(*points, strict=True), marker='o', label=method)
        axes.set_xscale('log', base=2)
        axes.set_yscale('log')
        axes.set_xlabel('object size (bytes)')
        axes.set_title(f'{op}, one at a time')
        axes.legend()
    panels[0].set_ylabel('MiB/s')
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
