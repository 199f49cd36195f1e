"""A suite: one benchmark's command and report, and the CLI command made of it.

A suite's ``run`` is a function whose parameters are its own CLI options
(annotated with `proxystore_bench.harness.options`) and which returns its
`Results`; `Suite.command` adds the options every suite with a report shares
(``--out``, ``--plot``) and saves the results.
"""

from __future__ import annotations

import dataclasses
import inspect
import pathlib
import typing
from collections.abc import Callable
from typing import Any
from typing import TypeVar

import typer
from rich.console import Console

from proxystore_bench.harness.options import Out
from proxystore_bench.harness.options import Plot
from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.report import save_results
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.subprocesses import BenchmarkError

__all__ = [
    'Suite',
    'choose',
    'measure',
    'no_baseline_note',
]

S = TypeVar('S', bound=Settings)
T = TypeVar('T')

DEFAULT_OUT = pathlib.Path('bench-results')


@dataclasses.dataclass(frozen=True)
class Suite:
    """One benchmark: its CLI name, its run, and how its records are shown.

    Attributes:
        name: The command, ``proxystore-bench <name>``.
        run: Takes the suite's own options; returns `Results` when the suite
            has a ``report``, else prints its outcome and returns ``None``.
        report: Tables, Markdown and plot of the records; ``None`` for a
            suite that only prints.
    """

    name: str
    run: Callable[..., Results | None]
    report: Report | None = None

    def command(self) -> Callable[..., None]:
        """The typer command: ``run``'s options, plus ``--out`` and ``--plot``."""
        run, report = self.run, self.report
        hints = typing.get_type_hints(run, include_extras=True)
        parameters = [
            p.replace(annotation=hints[p.name])
            for p in inspect.signature(run).parameters.values()
        ]
        if report is not None:
            parameters += [
                inspect.Parameter(
                    'out', inspect.Parameter.KEYWORD_ONLY, default=DEFAULT_OUT,
                    annotation=Out,
                ),
                inspect.Parameter(
                    'plot', inspect.Parameter.KEYWORD_ONLY, default=True,
                    annotation=Plot,
                ),
            ]  # fmt: skip

        def command(**options: Any) -> None:
            out = options.pop('out', DEFAULT_OUT)
            plot = options.pop('plot', False)
            results = run(**options)
            if report is not None and results is not None:
                save_results(Console(), out, results, report, plot=plot)

        command.__name__ = self.name
        command.__doc__ = run.__doc__
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        return command


def choose(settings: type[S], *, quick: bool, **changes: Any) -> S:
    """`Settings.chosen`, with an invalid choice reported as a bad CLI option.

    Raises:
        typer.BadParameter: If the settings are invalid.
    """
    try:
        return settings.chosen(quick=quick, **changes)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e


def measure(message: str, run: Callable[[Callable[[str], None]], T]) -> T:
    """Call ``run`` under a status line, a failed worker reported as exit code 1.

    ``run`` gets a function that updates the status line.

    Raises:
        typer.Exit: If a worker failed (`BenchmarkError`); its error is printed.
    """
    console = Console()
    with console.status(message) as status:
        try:
            return run(lambda text: status.update(text))
        except BenchmarkError as e:
            console.print(f'[red]error:[/] {e}')
            raise typer.Exit(code=1) from e


def no_baseline_note(baseline_python: pathlib.Path | None) -> str | None:
    """Print that ProxyStore 1.1.0 is not measured, if no baseline is given.

    Returns:
        The baseline interpreter as a string, or ``None``.
    """
    if baseline_python is not None:
        return str(baseline_python)
    Console().print(
        '[yellow]No --baseline-python: ProxyStore 1.1.0 is not measured '
        "(the 'bench' nox session sets it up).[/]",
    )
    return None
