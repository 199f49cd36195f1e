"""The CLI options the suites share, declared once, and the parsers of lists.

A suite's command takes these as its parameters' annotations; `--out` and
`--plot` are added to every suite with a report by `proxystore_bench.harness.suite`.
"""

from __future__ import annotations

import pathlib
from typing import Annotated

import typer

__all__ = [
    'BaselinePython',
    'Count',
    'Out',
    'Plot',
    'Quick',
    'Repeat',
    'Seconds',
    'Sizes',
    'names',
    'numbers',
    'sizes',
]

Quick = Annotated[
    bool,
    typer.Option('--quick/--full', help='Short run (smoke) or full-length run.'),
]
BaselinePython = Annotated[
    pathlib.Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help='Python of a venv with ProxyStore 1.1.0, measured side by side.',
    ),
]
Out = Annotated[
    pathlib.Path,
    typer.Option(file_okay=False, help='Folder for the results.'),
]
Plot = Annotated[bool, typer.Option(help='Save a plot.')]
Repeat = Annotated[
    int | None,
    typer.Option(help='Runs (timings) per case, best kept.'),
]
# No ``min=`` on the numbers: each suite's `Settings.validate` says what it needs.
Sizes = Annotated[
    str | None,
    typer.Option(help='Object sizes in bytes, comma-separated, e.g. 1024,1048576.'),
]
Count = Annotated[int | None, typer.Option(help='Most items sent per case.')]
Seconds = Annotated[
    float | None, typer.Option(help='Time budget of a case, in seconds.')
]


def sizes(text: str | None) -> tuple[int, ...] | None:
    """Comma-separated sizes of at least 8 bytes (``None`` stays ``None``).

    Raises:
        typer.BadParameter: If a part is not an integer or a size is below 8.
    """
    if text is None:
        return None
    try:
        parsed = tuple(int(part) for part in text.split(',') if part)
    except ValueError as e:
        raise typer.BadParameter(f'{text!r}: sizes are comma-separated integers') from e
    if not parsed or min(parsed) < 8:
        raise typer.BadParameter(f'{text!r}: give sizes of at least 8 bytes')
    return parsed


def numbers(text: str | None) -> tuple[float, ...] | None:
    """Comma-separated numbers (``None`` stays ``None``).

    Raises:
        typer.BadParameter: If a part is not a number.
    """
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(',') if part)
    except ValueError as e:
        raise typer.BadParameter(f'{text!r}: comma-separated numbers') from e


def names(text: str | None) -> tuple[str, ...] | None:
    """Comma-separated names (``None`` stays ``None``)."""
    return None if text is None else tuple(part for part in text.split(',') if part)
