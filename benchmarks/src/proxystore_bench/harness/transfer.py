"""What the transfer suites share (MPI, UCX, endpoints): settings, records, rows.

A transfer suite times gets and puts of objects of several sizes with
`proxystore_bench.harness.timing.best_run` and keeps, per ``(op, method,
size)``, the fastest run: `Times`.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import Self

from rich.console import Console

from proxystore_bench.harness.records import Record
from proxystore_bench.harness.report import Report
from proxystore_bench.harness.report import format_size
from proxystore_bench.harness.report import markdown_table
from proxystore_bench.harness.report import plot_get_put_bandwidth
from proxystore_bench.harness.report import print_table
from proxystore_bench.harness.report import ratio
from proxystore_bench.harness.report import verdict
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.timing import best_run

__all__ = [
    'HEADER',
    'MIB',
    'SIZES',
    'SIZES_TO_256_MIB',
    'Times',
    'TransferRecord',
    'TransferSettings',
    'keep_best',
    'report',
    'rows',
]

MIB = 1024 * 1024

Times = dict[tuple[str, str, int], tuple[int, float]]
"""``(op, method, size)`` to ``(operations, seconds)`` of the fastest run."""

SIZES = (1024, 64 * 1024, MIB, 4 * MIB, 16 * MIB, 64 * MIB)
"""The default object sizes: 1 KiB to 64 MiB."""
SIZES_TO_256_MIB = (*SIZES, 256 * MIB)
"""The object sizes of the MPI and UCX suites: 1 KiB to 256 MiB."""

HEADER = ('op', 'size', 'method', 'operations', 'µs per op', 'MiB/s')
"""The columns of `rows`, but the last (the ratio, named by the suite)."""


@dataclasses.dataclass(frozen=True)
class TransferSettings(Settings):
    """Sizes, and how long each size is timed.

    Attributes:
        sizes: Object sizes in bytes.
        count: Most operations of a run.
        seconds: A run stops after this many seconds (and 3 operations).
        repeat: Runs per case; the fastest is kept.
        rounds: The methods take turns this many times; the best is kept.
    """

    sizes: tuple[int, ...] = SIZES
    count: int = 2000
    seconds: float = 1.0
    repeat: int = 3
    rounds: int = 1

    @classmethod
    def quick(cls) -> Self:
        """1 KiB, 1 MiB and 16 MiB, a fraction of a second each, one round."""
        return cls(
            sizes=(1024, MIB, 16 * MIB), count=300, seconds=0.2, repeat=1, rounds=1
        )

    def validate(self) -> None:
        """Raise `ValueError` for a run that cannot be made."""
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError('sizes must be at least 1 byte.')
        if self.count < 3 or self.repeat < 1 or self.seconds <= 0 or self.rounds < 1:
            raise ValueError(
                'count must be >= 3, repeat >= 1, rounds >= 1, seconds > 0.'
            )

    def best(self, operation: Callable[[], float]) -> tuple[int, float]:
        """`best_run` of ``operation`` with these settings."""
        return best_run(
            operation, count=self.count, seconds=self.seconds, repeat=self.repeat
        )


def keep_best(times: Times, found: Times) -> None:
    """Keep in ``times`` the faster of each case of ``found`` and its own."""
    for case, (done, spent) in found.items():
        best = times.get(case)
        if best is None or spent / done < best[1] / best[0]:
            times[case] = (done, spent)


@dataclasses.dataclass(frozen=True)
class TransferRecord(Record):
    """The best of one method at one size and operation.

    A suite's record adds its ratio (the last column of its CSV).
    """

    op: str
    method: str
    size: int
    operations: int
    seconds: float
    latency_us: float
    mib_per_s: float

    @classmethod
    def timed(
        cls, case: tuple[str, str, int], done: int, spent: float, **extra: Any
    ) -> Self:
        """The record of ``done`` operations in ``spent`` seconds, and its ratio."""
        op, method, size = case
        per_op = spent / done
        return cls(
            op=op,
            method=method,
            size=size,
            operations=done,
            seconds=spent,
            latency_us=per_op * 1e6,
            mib_per_s=size / per_op / MIB,
            **extra,
        )

    @property
    def vs(self) -> float | None:
        """The suite's ratio (bandwidth against its baseline)."""
        return None


def rows(records: Sequence[TransferRecord]) -> list[list[str]]:
    """The cells of `HEADER`, then the ratio and whether it meets the target."""
    return [
        [
            r.op, format_size(r.size), r.method, str(r.operations),
            f'{r.latency_us:,.1f}', f'{r.mib_per_s:,.1f}',
            ratio(r.vs) + verdict(r.meets_target, rich=False),
        ]
        for r in records
    ]  # fmt: skip


_LEFT = ('op', 'method')


def report(
    record: type[TransferRecord], *, title: str, vs: str, note: str, plot_title: str
) -> Report:
    """The `Report` of a transfer suite.

    Args:
        record: The suite's record type.
        title: Title of the console table.
        vs: Header of the ratio's column.
        note: Printed under the console table (the targets).
        plot_title: Title of the get/put bandwidth plot.
    """

    def markdown(records: Sequence[TransferRecord], path: pathlib.Path) -> None:
        lines = markdown_table([*HEADER, vs], rows(records), left=_LEFT)
        path.write_text('\n'.join(lines) + '\n')

    def table(records: Sequence[TransferRecord], console: Console) -> None:
        print_table(console, title, [*HEADER, vs], rows(records), left=_LEFT, note=note)

    def plot(records: Sequence[TransferRecord], path: pathlib.Path) -> None:
        plot_get_put_bandwidth(records, path, plot_title)

    return Report(record, markdown, table, plot)
