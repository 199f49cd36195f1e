"""The proxy suite: every proxy implementation measured side by side in one run.

Each implementation runs `workers/proxy_worker.py` in its own interpreter (ours
twice, once per implementation of the proxy base; ProxyStore 1.1.0 in its own
virtualenv) and reports its costs next to the raw objects, measured in that same
process.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from collections.abc import Sequence
from typing import Annotated
from typing import Any

import typer

from proxystore_bench.harness import options
from proxystore_bench.harness.records import Record
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.subprocesses import BenchmarkError
from proxystore_bench.harness.subprocesses import run_json
from proxystore_bench.harness.subprocesses import worker_script
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure
from proxystore_bench.harness.suite import no_baseline_note

__all__ = [
    'TARGETS',
    'BenchmarkError',
    'ProxyRecord',
    'ProxySettings',
    'Subject',
    'command',
    'default_subjects',
    'run',
]

WORKER = worker_script('proxy_worker')

# The targets this project sets for its C proxy (issue 2): op -> maximum value.
TARGETS: dict[str, float] = {
    'len': 2.0,
    'getitem': 2.0,
    'add': 2.0,
    'attr': 5.0,
    'import': 30.0,
}
REFERENCE_LABEL = 'proxystore (C)'


@dataclasses.dataclass(frozen=True)
class Subject:
    """One proxy implementation and the interpreter that measures it."""

    label: str
    name: str
    python: str
    env: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ProxySettings(Settings):
    """Loops per timing and timings per operation."""

    number: int = 200_000
    repeat: int = 7

    @classmethod
    def quick(cls) -> ProxySettings:
        """20,000 loops, best of 3."""
        return cls(number=20_000, repeat=3)

    def validate(self) -> None:
        """Raise `ValueError` for a run that cannot be made."""
        if self.number < 1 or self.repeat < 1:
            raise ValueError('number and repeat must be at least 1.')


@dataclasses.dataclass(frozen=True)
class ProxyRecord(Record):
    """One measurement: an operation of a subject, next to the raw object."""

    subject: str
    version: str
    implementation: str
    op: str
    unit: str
    raw: float | None
    value: float
    ratio: float | None

    @property
    def target(self) -> float | None:
        """The project's target for this measurement, if one is set."""
        return TARGETS.get(self.op) if self.subject == REFERENCE_LABEL else None

    @property
    def meets_target(self) -> bool | None:
        """Whether the target is met (``None`` when there is none)."""
        if self.target is None:
            return None
        measured = self.value if self.unit == 'ms' else self.ratio
        return measured is not None and measured <= self.target


def default_subjects(python: str, baseline_python: str | None) -> list[Subject]:
    """Our proxy (C, pure Python), lazy-object-proxy and maybe ProxyStore 1.1.0."""
    subjects = [
        Subject(REFERENCE_LABEL, 'proxystore', python, {'PROXYSTORE_PROXY_IMPL': 'c'}),
        Subject(
            'proxystore (pure Python)',
            'proxystore',
            python,
            {'PROXYSTORE_PROXY_IMPL': 'python'},
        ),
        Subject('lazy-object-proxy', 'lazy-object-proxy', python),
    ]
    if baseline_python is not None:
        subjects.append(Subject('proxystore 1.1.0', 'proxystore', baseline_python))
    return subjects


def _run_worker(subject: Subject, number: int, repeat: int) -> dict[str, Any]:
    command = [
        subject.python,
        str(WORKER),
        '--subject',
        subject.name,
        '--number',
        str(number),
        '--repeat',
        str(repeat),
    ]
    return run_json(subject.label, command, env=subject.env)


def run(subjects: Sequence[Subject], *, number: int, repeat: int) -> list[ProxyRecord]:
    """Measure every subject, one after the other, and return all records."""
    records = []
    for subject in subjects:
        result = _run_worker(subject, number, repeat)
        for row in result['rows']:
            records.append(
                ProxyRecord(
                    subject=subject.label,
                    version=result['version'],
                    implementation=result['implementation'],
                    op=row['op'],
                    unit=row['unit'],
                    raw=row['raw'],
                    value=row['value'],
                    ratio=row['ratio'],
                ),
            )
    return records


def command(
    quick: options.Quick = True,
    baseline_python: options.BaselinePython = None,
    number: Annotated[
        int | None,
        typer.Option(min=1, help='Loops per timing (overrides --quick/--full).'),
    ] = None,
    repeat: options.Repeat = None,
) -> Results:
    """Proxy overhead: construct, pickle size, first resolve, operations, import.

    Compared with the raw objects, lazy-object-proxy and (with
    --baseline-python) ProxyStore 1.1.0.
    """
    settings = choose(ProxySettings, quick=quick, number=number, repeat=repeat)
    subjects = default_subjects(sys.executable, no_baseline_note(baseline_python))

    def measure_all(status: Callable[[str], None]) -> list[ProxyRecord]:
        records = []
        for subject in subjects:
            status(f'measuring {subject.label}...')
            records += run([subject], number=settings.number, repeat=settings.repeat)
        return records

    return Results('proxy', measure('measuring...', measure_all))
