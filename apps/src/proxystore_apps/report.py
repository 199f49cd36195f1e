"""What a person sees: a progress bar while tasks run, tables at the end."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING
from typing import Any

from rich.console import Console
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import TextColumn
from rich.progress import TimeElapsedColumn
from rich.table import Table

from proxystore_apps.engine import TaskFuture

if TYPE_CHECKING:
    from proxystore_apps.compare import Comparison
    from proxystore_apps.runner import RunResult

__all__ = ['TaskProgress', 'compare_table', 'data_label', 'summary_table']


class TaskProgress:
    """A progress bar of tasks: its total grows as tasks are submitted.

    Args:
        console: Where to draw it.
        label: Text before the bar.
        enabled: Draw nothing when false (the callbacks still work).
    """

    def __init__(self, console: Console, label: str, *, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn('{task.description}'),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn('{task.fields[failed]} failed'),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not enabled,
        )
        self._task = self._progress.add_task(label, total=0, failed=0)
        self._lock = threading.Lock()
        self._total = 0
        self._failed = 0

    def on_submit(self, future: TaskFuture) -> None:
        """Count a submitted task."""
        with self._lock:
            self._total += 1
            self._progress.update(self._task, total=self._total)

    def on_record(self, record: dict[str, Any]) -> None:
        """Count a finished task."""
        with self._lock:
            if record.get('status') == 'failed':
                self._failed += 1
            self._progress.update(self._task, advance=1, failed=self._failed)

    @contextlib.contextmanager
    def shown(self) -> Generator[TaskProgress]:
        """Show the bar meanwhile."""
        with self._progress:
            yield self


def data_label(result: RunResult) -> str:
    """``value``, or ``proxy (connector, filter)``."""
    data = result.config.data
    if data.mode == 'value':
        return 'value'
    flt = data.filter
    if flt.kind == 'size':
        detail = f'size >= {flt.min_bytes} B'
    elif flt.kind == 'type':
        detail = 'type in ' + ','.join(flt.types)
    else:
        detail = 'all'
    return f'proxy ({data.connector}, {detail})'


def _failed(result: RunResult) -> str:
    if not result.failed:
        return '0'
    parts = ', '.join(f'{n} {kind}' for kind, n in sorted(result.failed.items()))
    return f'{sum(result.failed.values())} ({parts})'


def _ms(seconds: float) -> str:
    return f'{seconds * 1000:.2f} ms'


def summary_table(result: RunResult) -> Table:
    """The summary of one run."""
    table = Table(title=f'{result.config.app}: summary', show_header=False)
    table.add_column('what', style='bold')
    table.add_column('value')
    table.add_row('executor', f'{result.config.executor.kind}')
    table.add_row('data', data_label(result))
    table.add_row('tasks', str(result.tasks))
    table.add_row('failed', _failed(result))
    table.add_row('makespan', f'{result.makespan_s:.3f} s')
    table.add_row('mean proxying inputs (driver)', _ms(result.mean('inputs_proxied_s')))
    table.add_row(
        'mean resolving inputs (worker)', _ms(result.mean('resolve_inputs_s'))
    )
    table.add_row('mean proxying results (worker)', _ms(result.mean('proxy_results_s')))
    for key, value in result.output.items():
        if isinstance(value, float):
            value = f'{value:.6g}'
        table.add_row(f'output: {key}', str(value))
    table.add_row('status', 'ok' if result.ok else f'[red]{result.error}[/]')
    table.add_row('run directory', str(result.run_dir))
    return table


def compare_table(comparison: Comparison) -> Table:
    """Makespans by value and by proxy, and the speedup."""
    value, proxy = comparison.value, comparison.proxy
    table = Table(
        title=(
            f'{value.config.app} on {value.config.executor.kind} '
            f'({value.config.executor.workers} workers): by value vs by proxy'
        ),
    )
    for column in ('data', 'makespan', 'tasks', 'failed', 'resolve (mean)', 'proxy'):
        table.add_column(column, justify='left' if column == 'data' else 'right')
    for result, makespans in (
        (value, comparison.value_makespans),
        (proxy, comparison.proxy_makespans),
    ):
        spread = ''
        if len(makespans) > 1:
            spread = f' [dim](min {min(makespans):.3f}, max {max(makespans):.3f})[/]'
        table.add_row(
            data_label(result),
            f'{comparison.makespan(result):.3f} s{spread}',
            str(result.tasks),
            _failed(result),
            _ms(result.mean('resolve_inputs_s')),
            _ms(result.mean('proxy_results_s') + result.mean('inputs_proxied_s')),
        )
    table.caption = (
        f'speedup (by value / by proxy): {comparison.speedup:.2f}x   '
        f'ratio (by proxy / by value): {comparison.ratio:.2f}'
    )
    return table
