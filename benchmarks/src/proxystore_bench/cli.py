"""``proxystore-bench``: run the benchmark suite and report it."""

from __future__ import annotations

import pathlib
import sys
from typing import Annotated

import typer
from rich.console import Console

from proxystore_bench import proxy_overhead
from proxystore_bench import report

app = typer.Typer(
    help='ProxyStore benchmarks, each measured side by side with its baselines.',
    no_args_is_help=True,
    add_completion=False,
)

QUICK = {'number': 20_000, 'repeat': 3}
FULL = {'number': 200_000, 'repeat': 7}


@app.callback()
def main() -> None:
    """ProxyStore benchmarks, each measured side by side with its baselines."""


@app.command()
def proxy(
    quick: Annotated[
        bool,
        typer.Option('--quick/--full', help='Short run (smoke) or full-length run.'),
    ] = True,
    baseline_python: Annotated[
        pathlib.Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help='Python of a venv with ProxyStore 1.1.0, measured side by side.',
        ),
    ] = None,
    out: Annotated[
        pathlib.Path,
        typer.Option(file_okay=False, help='Folder for proxy.csv/.json/.md/.png.'),
    ] = pathlib.Path('bench-results'),
    number: Annotated[
        int | None,
        typer.Option(min=1, help='Loops per timing (overrides --quick/--full).'),
    ] = None,
    repeat: Annotated[
        int | None,
        typer.Option(min=1, help='Timings per operation, best kept.'),
    ] = None,
    plot: Annotated[bool, typer.Option(help='Save a plot (proxy.png).')] = True,
) -> None:
    """Proxy overhead: construct, pickle size, first resolve, operations, import.

    Compared with the raw objects, lazy-object-proxy and (with
    --baseline-python) ProxyStore 1.1.0.
    """
    console = Console()
    settings = dict(QUICK if quick else FULL)
    if number is not None:
        settings['number'] = number
    if repeat is not None:
        settings['repeat'] = repeat
    baseline = None if baseline_python is None else str(baseline_python)
    if baseline is None:
        console.print(
            '[yellow]No --baseline-python: ProxyStore 1.1.0 is not measured '
            "(the 'bench' nox session sets it up).[/]",
        )
    subjects = proxy_overhead.default_subjects(sys.executable, baseline)
    with console.status('measuring...') as status:
        records = []
        for subject in subjects:
            status.update(f'measuring {subject.label}...')
            try:
                records += proxy_overhead.run(
                    [subject],
                    number=settings['number'],
                    repeat=settings['repeat'],
                )
            except proxy_overhead.BenchmarkError as e:
                console.print(f'[red]error:[/] {e}')
                raise typer.Exit(code=1) from e
    out.mkdir(parents=True, exist_ok=True)
    report.write_csv(records, out / 'proxy.csv')
    report.write_json(records, out / 'proxy.json')
    report.write_markdown(records, out / 'proxy.md')
    report.print_table(records, console)
    written = ['proxy.csv', 'proxy.json', 'proxy.md']
    if plot:
        report.plot_ratios(records, out / 'proxy.png')
        written.append('proxy.png')
    console.print(f'Wrote {", ".join(written)} to {out}/')
