"""``proxystore-apps``: run an app, or compare it by value and by proxy.

```
proxystore-apps list
proxystore-apps run cholesky -p matrix_size=1000 -p block_size=250 --data proxy
proxystore-apps compare synthetic --executor process --connector shm --plot cmp.png
proxystore-apps run synthetic --config run.toml --executor dask
```
"""

from __future__ import annotations

import json
import pathlib
from typing import Annotated
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from proxystore.store.config import connector_kinds
from proxystore_apps.apps import APPS
from proxystore_apps.apps import get_app
from proxystore_apps.compare import compare as compare_app
from proxystore_apps.compare import save_plot
from proxystore_apps.config import load_config
from proxystore_apps.errors import ConfigError
from proxystore_apps.executors import EXECUTORS
from proxystore_apps.report import TaskProgress
from proxystore_apps.report import compare_table
from proxystore_apps.report import summary_table
from proxystore_apps.runner import run_app

__all__ = ['app', 'build_overrides', 'parse_pairs']

app = typer.Typer(
    help='ProxyStore science apps on real task engines, by value or by proxy.',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as a dict; values are JSON when they parse as JSON.

    Raises:
        ConfigError: If a pair has no ``=``.
    """
    parsed: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition('=')
        if not sep or not name:
            raise ConfigError(f'{what} {pair!r} is not NAME=VALUE (e.g. {what} n=4).')
        try:
            parsed[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            parsed[name.strip()] = text
    return parsed


def build_overrides(
    *,
    app_name: str,
    params: list[str] | None = None,
    executor: str | None = None,
    workers: int | None = None,
    address: str | None = None,
    data: str | None = None,
    connector: str | None = None,
    connector_options: list[str] | None = None,
    filter_kind: str | None = None,
    min_bytes: int | None = None,
    filter_types: list[str] | None = None,
    run_dir: pathlib.Path | None = None,
    task_timeout: float | None = None,
) -> dict[str, Any]:
    """The config fields given as flags (those not given are left out)."""
    overrides: dict[str, Any] = {'app': app_name}
    if params:
        overrides['params'] = parse_pairs(params, '--param')
    executor_fields = {'kind': executor, 'workers': workers, 'address': address}
    overrides['executor'] = {k: v for k, v in executor_fields.items() if v is not None}
    data_fields: dict[str, Any] = {'mode': data, 'connector': connector}
    if connector_options:
        data_fields['options'] = parse_pairs(connector_options, '--connector-option')
    filter_fields = {'kind': filter_kind, 'min_bytes': min_bytes, 'types': filter_types}
    data_fields['filter'] = {k: v for k, v in filter_fields.items() if v is not None}
    overrides['data'] = {k: v for k, v in data_fields.items() if v is not None}
    if run_dir is not None:
        overrides['run_dir'] = str(run_dir)
    if task_timeout is not None:
        overrides['task_timeout'] = task_timeout
    return overrides


AppName = Annotated[str, typer.Argument(help='The app (proxystore-apps list).')]
ConfigFile = Annotated[
    pathlib.Path | None,
    typer.Option('--config', '-c', help='TOML file of the run; flags override it.'),
]
Params = Annotated[
    list[str] | None,
    typer.Option('--param', '-p', help='An app parameter, NAME=VALUE (repeatable).'),
]
ExecutorName = Annotated[
    str | None,
    typer.Option(help=f'Task engine: {", ".join(EXECUTORS)} [default: process].'),
]
Workers = Annotated[int | None, typer.Option(help='Workers [default: 2].')]
Address = Annotated[
    str | None, typer.Option(help='Address of a Dask scheduler (dask only).')
]
Connector = Annotated[
    str | None,
    typer.Option(
        help='Connector of proxy runs (file, shm, redis, ...) [default: shm].'
    ),
]
ConnectorOptions = Annotated[
    list[str] | None,
    typer.Option(
        '--connector-option', help='A connector option, NAME=VALUE (repeatable).'
    ),
]
FilterKind = Annotated[
    str | None,
    typer.Option(
        '--filter', help='What goes by proxy: all, size, type [default: size].'
    ),
]
MinBytes = Annotated[
    int | None,
    typer.Option(help='Size filter: smallest object proxied [default: 10000].'),
]
FilterTypes = Annotated[
    list[str] | None,
    typer.Option('--filter-type', help='Type filter: a class name (repeatable).'),
]
RunDir = Annotated[
    pathlib.Path | None, typer.Option(help='Folder of run directories [default: runs].')
]
TaskTimeout = Annotated[
    float | None, typer.Option(help='Longest wait for a task, seconds [default: 600].')
]
ShowProgress = Annotated[bool, typer.Option(help='Show a progress bar.')]


@app.command('list')
def list_() -> None:
    """The apps, the executors and the installed connectors."""
    console = Console()
    table = Table(title='apps')
    table.add_column('app', style='bold')
    table.add_column('what')
    for name in APPS:
        table.add_row(name, get_app(name).SUMMARY)
    console.print(table)
    table = Table(title='executors (--executor)')
    table.add_column('executor', style='bold')
    table.add_column('what')
    table.add_column('extra')
    for name, info in EXECUTORS.items():
        table.add_row(name, info.summary, info.extra or '')
    console.print(table)
    console.print('connectors (--connector): ' + ', '.join(connector_kinds()))


@app.command()
def run(
    app_name: AppName,
    config: ConfigFile = None,
    param: Params = None,
    executor: ExecutorName = None,
    workers: Workers = None,
    address: Address = None,
    data: Annotated[
        str | None, typer.Option(help='value or proxy [default: value].')
    ] = None,
    connector: Connector = None,
    connector_option: ConnectorOptions = None,
    filter_kind: FilterKind = None,
    min_bytes: MinBytes = None,
    filter_type: FilterTypes = None,
    run_dir: RunDir = None,
    task_timeout: TaskTimeout = None,
    progress: ShowProgress = True,
) -> None:
    """Run one app; write its run directory; print a summary."""
    console = Console()
    try:
        overrides = build_overrides(
            app_name=app_name,
            params=param,
            executor=executor,
            workers=workers,
            address=address,
            data=data,
            connector=connector,
            connector_options=connector_option,
            filter_kind=filter_kind,
            min_bytes=min_bytes,
            filter_types=filter_type,
            run_dir=run_dir,
            task_timeout=task_timeout,
        )
        run_config = load_config(config, overrides)
        bar = TaskProgress(console, app_name, enabled=progress)
        with bar.shown():
            result = run_app(
                run_config, on_submit=bar.on_submit, on_record=bar.on_record
            )
    except ConfigError as e:
        console.print(f'[red]error:[/] {e}')
        raise typer.Exit(2) from None
    console.print(summary_table(result))
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def compare(
    app_name: AppName,
    config: ConfigFile = None,
    param: Params = None,
    executor: ExecutorName = None,
    workers: Workers = None,
    address: Address = None,
    connector: Connector = None,
    connector_option: ConnectorOptions = None,
    filter_kind: FilterKind = None,
    min_bytes: MinBytes = None,
    filter_type: FilterTypes = None,
    run_dir: RunDir = None,
    task_timeout: TaskTimeout = None,
    repeat: Annotated[
        int, typer.Option(min=1, help='Runs of each mode (the median is shown).')
    ] = 1,
    plot: Annotated[
        pathlib.Path | None,
        typer.Option(help='Save a bar chart of the makespans here (PNG, SVG, PDF).'),
    ] = None,
    progress: ShowProgress = True,
) -> None:
    """Run one app by value and by proxy on the same executor; print the speedup."""
    console = Console()
    try:
        overrides = build_overrides(
            app_name=app_name,
            params=param,
            executor=executor,
            workers=workers,
            address=address,
            connector=connector,
            connector_options=connector_option,
            filter_kind=filter_kind,
            min_bytes=min_bytes,
            filter_types=filter_type,
            run_dir=run_dir,
            task_timeout=task_timeout,
        )
        run_config = load_config(config, overrides)
        bar = TaskProgress(console, app_name, enabled=progress)

        def announce(mode: str, i: int) -> None:
            if progress:
                console.log(f'{app_name}: by {mode}, run {i + 1} of {repeat}')

        with bar.shown():
            comparison = compare_app(
                run_config,
                repeat=repeat,
                on_submit=bar.on_submit,
                on_record=bar.on_record,
                on_run=announce,
            )
        saved = save_plot(comparison, plot) if plot is not None else None
    except ConfigError as e:
        console.print(f'[red]error:[/] {e}')
        raise typer.Exit(2) from None
    console.print(compare_table(comparison))
    console.print(f'by value: {comparison.makespan(comparison.value):.3f} s')
    console.print(f'by proxy: {comparison.makespan(comparison.proxy):.3f} s')
    console.print(f'speedup:  {comparison.speedup:.2f}x')
    for result in (comparison.value, comparison.proxy):
        console.print(f'run directory: {result.run_dir}')
        if not result.ok:
            console.print(
                f'[red]{result.config.data.mode} run failed:[/] {result.error}'
            )
    if saved is not None:
        console.print(f'plot: {saved}')
    if not comparison.ok:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - the console script
    """Entry point of ``python -m proxystore_apps.cli``."""
    app()


if __name__ == '__main__':  # pragma: no cover
    main()
