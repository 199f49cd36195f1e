"""Run one app by value and by proxy on the same executor, and compare."""

from __future__ import annotations

import contextlib
import pathlib
import statistics
from collections.abc import Callable
from collections.abc import Generator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from proxystore_apps._require import require
from proxystore_apps.config import RunConfig
from proxystore_apps.engine import TaskFuture
from proxystore_apps.executors import open_executor
from proxystore_apps.runner import RunResult
from proxystore_apps.runner import resolve
from proxystore_apps.runner import run_app

__all__ = ['Comparison', 'compare', 'save_plot']


@dataclass
class Comparison:
    """Runs of one app by value and by proxy.

    Attributes:
        value: The by-value run of median makespan.
        proxy: The by-proxy run of median makespan.
        value_makespans: Makespans of every by-value run.
        proxy_makespans: Makespans of every by-proxy run.
    """

    value: RunResult
    proxy: RunResult
    value_makespans: list[float]
    proxy_makespans: list[float]

    def makespan(self, result: RunResult) -> float:
        """The median makespan of the runs in ``result``'s mode."""
        runs = self.value_makespans if result is self.value else self.proxy_makespans
        return statistics.median(runs)

    @property
    def speedup(self) -> float:
        """Median by-value makespan over median by-proxy makespan."""
        return statistics.median(self.value_makespans) / statistics.median(
            self.proxy_makespans
        )

    @property
    def ratio(self) -> float:
        """Median by-proxy makespan over median by-value makespan."""
        return 1 / self.speedup

    @property
    def ok(self) -> bool:
        """Whether both runs finished with a correct output."""
        return self.value.ok and self.proxy.ok

    def summary(self) -> dict[str, Any]:
        """The comparison as plain data."""
        return {
            'value': self.value.summary(),
            'proxy': self.proxy.summary(),
            'value_makespans_s': self.value_makespans,
            'proxy_makespans_s': self.proxy_makespans,
            'speedup': self.speedup,
            'ratio': self.ratio,
        }


def _median_run(runs: list[RunResult]) -> RunResult:
    ordered = sorted(runs, key=lambda r: r.makespan_s)
    return ordered[(len(ordered) - 1) // 2]


@contextlib.contextmanager
def _shared(config: RunConfig, executor: Executor | None) -> Generator[Executor]:
    if executor is not None:
        yield executor
    else:
        with open_executor(config.executor) as started:
            yield started


def compare(
    config: RunConfig,
    *,
    repeat: int = 1,
    executor: Executor | None = None,
    on_submit: Callable[[TaskFuture], None] | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_run: Callable[[str, int], None] | None = None,
) -> Comparison:
    """Run ``config``'s app by value and by proxy, ``repeat`` times each.

    Both modes run on one executor, started once (and warm) for all runs;
    the modes alternate, so that drifts of the machine's load hit both.

    Args:
        config: The run; its ``data`` gives the connector and filter of the
            by-proxy runs (its ``mode`` is ignored).
        repeat: Runs of each mode; the run of median makespan is reported.
        executor: An executor already started (else one is started here).
        on_submit: Called with each task future.
        on_record: Called with each task's record.
        on_run: Called with the mode and the repeat number of each run.

    Raises:
        ConfigError: If the config is invalid for either mode.
        ValueError: If ``repeat`` is less than 1.
    """
    if repeat < 1:
        raise ValueError(f'repeat must be at least 1, not {repeat}')
    value_config = config.model_copy(deep=True)
    value_config.data.mode = 'value'
    proxy_config = config.model_copy(deep=True)
    proxy_config.data.mode = 'proxy'
    resolve(value_config)
    resolve(proxy_config)
    runs: dict[str, list[RunResult]] = {'value': [], 'proxy': []}
    with _shared(config, executor) as pool:
        for i in range(repeat):
            for mode, run_config in (('value', value_config), ('proxy', proxy_config)):
                if on_run is not None:
                    on_run(mode, i)
                runs[mode].append(
                    run_app(
                        run_config,
                        executor=pool,
                        on_submit=on_submit,
                        on_record=on_record,
                    )
                )
    return Comparison(
        value=_median_run(runs['value']),
        proxy=_median_run(runs['proxy']),
        value_makespans=[r.makespan_s for r in runs['value']],
        proxy_makespans=[r.makespan_s for r in runs['proxy']],
    )


def save_plot(comparison: Comparison, path: pathlib.Path) -> pathlib.Path:
    """Save a bar chart of the makespans (PNG, SVG or PDF by the suffix).

    Raises:
        MissingPackageError: If matplotlib is not installed.
    """
    require('matplotlib', extra='plot', what='Saving a plot')
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    config = comparison.value.config
    labels = ['by value', f'by proxy\n({config.data.connector})']
    runs = [comparison.value_makespans, comparison.proxy_makespans]
    medians = [statistics.median(r) for r in runs]
    figure, axes = plt.subplots(figsize=(4.5, 3.5), layout='constrained')
    axes.bar(labels, medians, color=['#9e9e9e', '#1f77b4'], width=0.6)
    for x, makespans in enumerate(runs):
        axes.scatter([x] * len(makespans), makespans, color='black', s=10, zorder=3)
    axes.set_ylabel('makespan (s)')
    axes.set_title(
        f'{config.app} on {config.executor.kind} ({config.executor.workers} '
        f'workers): {comparison.speedup:.2f}x',
    )
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
