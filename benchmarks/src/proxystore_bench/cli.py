"""``proxystore-bench``: run the benchmark suite and report it."""

from __future__ import annotations

import dataclasses
import pathlib
import sys
from typing import Annotated

import typer
from rich.console import Console

from proxystore_bench import endpoint_bench
from proxystore_bench import endpoint_report
from proxystore_bench import memory as memory_module
from proxystore_bench import memory_report
from proxystore_bench import mpi_report
from proxystore_bench import pipelining as pipelining_module
from proxystore_bench import pipelining_report
from proxystore_bench import proxy_overhead
from proxystore_bench import proxy_report
from proxystore_bench import report
from proxystore_bench import store_bench
from proxystore_bench import store_report
from proxystore_bench import stream_bench
from proxystore_bench import stream_report
from proxystore_bench import ucx_bench
from proxystore_bench import ucx_report
from proxystore_bench import workflow as workflow_module
from proxystore_bench._subprocess import BenchmarkError

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


def _no_baseline_note(console: Console) -> None:
    console.print(
        '[yellow]No --baseline-python: ProxyStore 1.1.0 is not measured '
        "(the 'bench' nox session sets it up).[/]",
    )


def _sizes(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        sizes = tuple(int(part) for part in text.split(',') if part)
    except ValueError as e:
        raise typer.BadParameter(f'{text!r}: sizes are comma-separated integers') from e
    if not sizes or min(sizes) < 8:
        raise typer.BadParameter(f'{text!r}: give sizes of at least 8 bytes')
    return sizes


@app.command()
def workflow(
    tasks: Annotated[int, typer.Option(min=1, help='Number of tasks.')] = 8,
    size: Annotated[
        int,
        typer.Option(min=8, help="Bytes of each task's input array."),
    ] = 32 * 1024 * 1024,
    workers: Annotated[int, typer.Option(min=1, help='Process-pool workers.')] = 2,
) -> None:
    """A small workflow on a process pool, by value and by proxy (shared memory)."""
    console = Console()
    with console.status(f'running {tasks} tasks of {size / 2**20:.3g} MiB...'):
        result = workflow_module.run_workflow(
            tasks=tasks, size_bytes=size, workers=workers
        )
    console.print(
        f'{result.tasks} tasks, {result.size_bytes / 2**20:.3g} MiB each, '
        f'{result.workers} workers (ProcessPoolExecutor, shared-memory store)',
    )
    console.print(f'  by value: {result.by_value_s:8.3f} s')
    console.print(f'  by proxy: {result.by_proxy_s:8.3f} s')
    console.print(f'  speedup:  {result.speedup:8.2f}x   (answer {result.answer:.6f})')


@app.command()
def store(
    quick: Quick = True,
    baseline_python: BaselinePython = None,
    out: Out = pathlib.Path('bench-results'),
    plot: Plot = True,
    sizes: Annotated[
        str | None,
        typer.Option(help='Object sizes for put+get, e.g. 1024,1048576.'),
    ] = None,
    roundtrip_sizes: Annotated[
        str | None,
        typer.Option(help='Array sizes for the task round trips.'),
    ] = None,
    repeat: Annotated[int | None, typer.Option(min=1, help='Timings per case.')] = None,
) -> None:
    """Store: put+get vs the raw channel, first resolve, proxy size, task round trips.

    Per connector (local, file on disk, file on /dev/shm, shared memory), for
    bytes and numpy arrays; with --baseline-python, ProxyStore 1.1.0 too.
    """
    console = Console()
    settings = (
        store_bench.StoreSettings.quick() if quick else store_bench.StoreSettings.full()
    )
    settings = dataclasses.replace(
        settings,
        sizes=_sizes(sizes) or settings.sizes,
        roundtrip_sizes=_sizes(roundtrip_sizes) or settings.roundtrip_sizes,
        repeat=repeat or settings.repeat,
    )
    baseline = None if baseline_python is None else str(baseline_python)
    if baseline is None:
        _no_baseline_note(console)
    with console.status('measuring the store...'):
        try:
            records = store_bench.run_store_benchmark(
                settings, baseline_python=baseline
            )
        except BenchmarkError as e:
            console.print(f'[red]error:[/] {e}')
            raise typer.Exit(code=1) from e
    report.save_results(
        console,
        out,
        'store',
        records,
        markdown=store_report.write_store_markdown,
        table=store_report.print_store_table,
        plot=(lambda path: store_report.plot_store(records, path)) if plot else None,
    )


@app.command()
def memory(
    quick: Quick = True,
    out: Out = pathlib.Path('bench-results'),
    plot: Plot = True,
    rounds: Annotated[int | None, typer.Option(min=1, help='Workflow rounds.')] = None,
    sizes: Annotated[
        str | None,
        typer.Option(help='Bytes of the large, medium and small objects: L,M,S.'),
    ] = None,
    task_sleep: Annotated[
        float | None, typer.Option(min=0, help='Seconds each task works.')
    ] = None,
) -> None:
    """Memory of a staged fan-out/fan-in workflow: default, manual, owned proxies.

    On a Redis server and a process pool of 2 workers; the store's memory, its
    number of objects and the processes' RSS are sampled every 10 ms.
    """
    console = Console()
    settings = (
        memory_module.MemorySettings.quick()
        if quick
        else memory_module.MemorySettings.full()
    )
    if sizes is not None:
        parsed = _sizes(sizes) or ()
        if len(parsed) != 3:
            raise typer.BadParameter(f'{sizes!r}: give three sizes, L,M,S')
        settings = dataclasses.replace(
            settings, sizes=(parsed[0], parsed[1], parsed[2])
        )
    settings = dataclasses.replace(
        settings,
        rounds=rounds or settings.rounds,
        task_sleep=settings.task_sleep if task_sleep is None else task_sleep,
    )
    with console.status('running the workflow three ways...'):
        result = memory_module.run_memory_benchmark(settings)
    report.save_results(
        console,
        out,
        'memory',
        result.records,
        markdown=memory_report.write_memory_markdown,
        table=memory_report.print_memory_table,
        plot=(lambda path: memory_report.plot_memory(result.samples, path))
        if plot
        else None,
        extra={
            'memory-samples.csv': lambda path: memory_report.write_samples_csv(
                result.samples, path
            ),
        },
    )


@app.command()
def pipelining(
    quick: Quick = True,
    out: Out = pathlib.Path('bench-results'),
    plot: Plot = True,
    length: Annotated[
        int | None, typer.Option(min=1, help='Tasks in the chain.')
    ] = None,
    size: Annotated[
        int | None, typer.Option(min=1, help='Bytes passed between tasks.')
    ] = None,
    task_sleep: Annotated[
        float | None, typer.Option(min=0.001, help='Seconds each task runs.')
    ] = None,
    overheads: Annotated[
        str | None,
        typer.Option(help='Start-up fractions of a task, e.g. 0,0.5,0.9.'),
    ] = None,
    connectors: Annotated[
        str | None, typer.Option(help='Channels of the proxies: redis,shm.')
    ] = None,
    repeat: Annotated[int | None, typer.Option(min=1, help='Runs per case.')] = None,
) -> None:
    """Task pipelining: a chain of dependent tasks, sequential or pipelined.

    Sequential by value, sequential by proxy, and pipelined with futures (tasks
    submitted before their input exists), on a process pool.
    """
    console = Console()
    settings = (
        pipelining_module.PipelineSettings.quick()
        if quick
        else pipelining_module.PipelineSettings.full()
    )
    changes: dict[str, object] = {}
    if overheads is not None:
        try:
            changes['overheads'] = tuple(float(x) for x in overheads.split(',') if x)
        except ValueError as e:
            raise typer.BadParameter(f'{overheads!r}: comma-separated numbers') from e
    if connectors is not None:
        changes['connectors'] = tuple(c for c in connectors.split(',') if c)
    for name, value in (
        ('length', length),
        ('size', size),
        ('task_sleep', task_sleep),
        ('repeat', repeat),
    ):
        if value is not None:
            changes[name] = value
    settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    try:
        settings.validate()
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    with console.status('running the chains...'):
        records = pipelining_module.run_pipelining_benchmark(settings)
    report.save_results(
        console,
        out,
        'pipelining',
        records,
        markdown=pipelining_report.write_pipelining_markdown,
        table=pipelining_report.print_pipelining_table,
        plot=(lambda path: pipelining_report.plot_pipelining(records, path))
        if plot
        else None,
    )


@app.command()
def mpi(
    quick: Quick = True,
    out: Out = pathlib.Path('bench-results'),
    plot: Plot = True,
    sizes: Annotated[
        str | None,
        typer.Option(help='Object sizes in bytes, e.g. 1024,1048576.'),
    ] = None,
) -> None:
    """MPI connector get bandwidth and latency vs raw mpi4py, mpiexec -n 2."""
    console = Console()
    settings = mpi_report.MPISettings.quick() if quick else mpi_report.MPISettings()
    chosen = _sizes(sizes)
    if chosen is not None:
        settings = dataclasses.replace(settings, sizes=chosen)
    try:
        settings.validate()
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    with console.status('measuring MPI gets under mpiexec -n 2...'):
        records = mpi_report.run_mpi_benchmark(settings)
    report.save_results(
        console,
        out,
        'mpi',
        records,
        markdown=mpi_report.write_mpi_markdown,
        table=mpi_report.print_mpi_table,
        plot=(lambda path: mpi_report.plot_mpi(records, path)) if plot else None,
    )


@app.command()
def ucx(
    quick: Quick = True,
    out: Out = pathlib.Path('bench-results'),
    plot: Plot = True,
    sizes: Annotated[
        str | None,
        typer.Option(help='Object sizes in bytes, e.g. 1024,1048576.'),
    ] = None,
    transports: Annotated[
        str | None,
        typer.Option(help="UCX transports, e.g. 'tcp,self'; default: UCX's choice."),
    ] = None,
    redis: Annotated[
        bool, typer.Option(help='Also measure the Redis connector.')
    ] = True,
) -> None:
    """UCX connector get/put vs raw ucxx and the Redis connector, two processes."""
    console = Console()
    settings = ucx_bench.UCXSettings.quick() if quick else ucx_bench.UCXSettings()
    settings = dataclasses.replace(settings, transports=transports, redis=redis)
    chosen = _sizes(sizes)
    if chosen is not None:
        settings = dataclasses.replace(settings, sizes=chosen)
    try:
        settings.validate()
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    with console.status('measuring UCX gets and puts...'):
        records = ucx_bench.run_ucx_benchmark(settings)
    name = 'ucx' if transports is None else f'ucx-{transports.replace(",", "-")}'
    report.save_results(
        console,
        out,
        name,
        records,
        markdown=ucx_report.write_ucx_markdown,
        table=ucx_report.print_ucx_table,
        plot=(lambda path: ucx_report.plot_ucx(records, path)) if plot else None,
    )


@app.command()
def endpoint(
    quick: Quick = True,
    baseline_python: BaselinePython = None,
    out: Out = pathlib.Path('bench-results'),
    plot: Plot = True,
    sizes: Annotated[
        str | None,
        typer.Option(help='Object sizes in bytes, e.g. 1024,1048576.'),
    ] = None,
    channels: Annotated[
        int, typer.Option(min=1, max=64, help='Data channels per peer connection.')
    ] = 4,
    redis: Annotated[
        bool, typer.Option(help='Also measure the Redis connector.')
    ] = True,
) -> None:
    """Endpoint get/put, local and peer to peer, vs Redis and ProxyStore 1.x."""
    console = Console()
    settings = (
        endpoint_bench.EndpointSettings.quick()
        if quick
        else endpoint_bench.EndpointSettings()
    )
    settings = dataclasses.replace(
        settings,
        channels=channels,
        redis=redis,
        baseline_python=None if baseline_python is None else str(baseline_python),
    )
    chosen = _sizes(sizes)
    if chosen is not None:
        settings = dataclasses.replace(settings, sizes=chosen)
    try:
        settings.validate()
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    if baseline_python is None:
        _no_baseline_note(console)
    with console.status('measuring endpoint gets and puts...'):
        try:
            records = endpoint_bench.run_endpoint_benchmark(settings)
        except BenchmarkError as e:
            console.print(f'[red]{e}[/]')
            raise typer.Exit(1) from e
    report.save_results(
        console,
        out,
        'endpoint',
        records,
        markdown=endpoint_report.write_endpoint_markdown,
        table=endpoint_report.print_endpoint_table,
        plot=(lambda path: endpoint_report.plot_endpoint(records, path))
        if plot
        else None,
    )


@app.command()
def stream(
    quick: Quick = True,
    out: Out = pathlib.Path('bench-results'),
    plot: Plot = True,
    sizes: Annotated[
        str | None,
        typer.Option(help='Item sizes in bytes, e.g. 10000,1000000.'),
    ] = None,
    count: Annotated[int | None, typer.Option(help='Most items sent per case.')] = None,
    seconds: Annotated[
        float | None, typer.Option(help='Time budget of a case, in seconds.')
    ] = None,
    stores: Annotated[
        str | None, typer.Option(help='Stores of the proxy methods: redis,shm.')
    ] = None,
    repeat: Annotated[
        int | None, typer.Option(help='Runs per case, best kept.')
    ] = None,
) -> None:
    """Stream throughput: data through Redis pub/sub vs stream-by-proxy.

    One producer and one consumer process; items through the broker
    (pubsub-data), events through the broker and items in a store, resolved by
    the consumer (proxy-resolve) or only forwarded (proxy-dispatch); the store's
    raw bandwidth (raw-store) as the baseline.
    """
    console = Console()
    settings = (
        stream_bench.StreamSettings.quick()
        if quick
        else stream_bench.StreamSettings.full()
    )
    changes: dict[str, object] = {}
    if sizes is not None:
        changes['sizes'] = _sizes(sizes)
    if stores is not None:
        changes['stores'] = tuple(s for s in stores.split(',') if s)
    for name, value in (('count', count), ('seconds', seconds), ('repeat', repeat)):
        if value is not None:
            changes[name] = value
    settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    try:
        settings.validate()
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    with console.status('measuring stream throughput...') as status:
        records = stream_bench.run_stream_benchmark(
            settings, progress=lambda text: status.update(f'measuring {text}...')
        )
    report.save_results(
        console,
        out,
        'stream',
        records,
        markdown=stream_report.write_stream_markdown,
        table=stream_report.print_stream_table,
        plot=(lambda path: stream_report.plot_stream(records, path)) if plot else None,
    )


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
            except BenchmarkError as e:
                console.print(f'[red]error:[/] {e}')
                raise typer.Exit(code=1) from e
    report.save_results(
        console,
        out,
        'proxy',
        records,
        markdown=proxy_report.write_markdown,
        table=proxy_report.print_table,
        plot=(lambda path: proxy_report.plot_ratios(records, path)) if plot else None,
    )
