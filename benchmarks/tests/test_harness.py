"""The harness: one registry of suites, options declared once, results reloadable."""

from __future__ import annotations

import io
import json
import pathlib

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import proxystore_bench
from proxystore_bench.cli import app
from proxystore_bench.harness.records import Record
from proxystore_bench.harness.settings import Settings
from proxystore_bench.harness.suite import Suite
from proxystore_bench.registry import SUITES
from proxystore_bench.registry import suite

RESULTS = pathlib.Path(__file__).parent.parent / 'results'
PACKAGE = pathlib.Path(proxystore_bench.__file__).parent
REPORTED = [s for s in SUITES if s.report is not None]

runner = CliRunner()


def test_every_command_of_the_docs_is_a_suite() -> None:
    names = [s.name for s in SUITES]
    assert len(names) == len(set(names))
    assert set(names) == {
        'workflow',
        'store',
        'memory',
        'budget',
        'pipelining',
        'mpi',
        'ucx',
        'endpoint',
        'stream',
        'proxy',
    }
    result = runner.invoke(app, ['--help'])
    assert result.exit_code == 0
    for name in names:
        assert name in result.output
    assert suite('proxy').name == 'proxy'
    with pytest.raises(KeyError, match="no suite 'nope'"):
        suite('nope')


COMMON = {'--quick', '--full', '--out', '--plot', '--no-plot'}
# Every option each command had before the harness (the docs and nox use them).
OPTIONS = {
    'workflow': {'--tasks', '--size', '--workers'},
    'store': COMMON | {'--baseline-python', '--sizes', '--roundtrip-sizes', '--repeat'},
    'memory': COMMON | {'--rounds', '--sizes', '--task-sleep'},
    'pipelining': COMMON
    | {'--length', '--size', '--task-sleep', '--overheads', '--connectors'}
    | {'--repeat'},
    'budget': COMMON | {'--budget', '--object-bytes', '--modes'},
    'mpi': COMMON | {'--sizes'},
    'ucx': COMMON | {'--sizes', '--transports', '--redis', '--no-redis'},
    'endpoint': COMMON
    | {'--baseline-python', '--sizes', '--channels', '--redis', '--no-redis'},
    'stream': COMMON | {'--sizes', '--count', '--seconds', '--stores', '--repeat'},
    'proxy': COMMON | {'--baseline-python', '--number', '--repeat'},
}


def test_every_command_keeps_its_options() -> None:
    group = typer.main.get_command(app)
    commands = getattr(group, 'commands')  # noqa: B009 (a click group's commands)
    found = {
        name: {
            flag
            for param in command.params
            for flag in (*param.opts, *param.secondary_opts)
        }
        for name, command in commands.items()
    }
    assert found == OPTIONS


def test_no_plot_writes_no_png(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(
        app,
        [
            'proxy',
            '--number',
            '20',
            '--repeat',
            '1',
            '--no-plot',
            '--out',
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'proxy.csv',
        'proxy.json',
        'proxy.md',
    ]


@pytest.mark.parametrize('chosen', REPORTED, ids=lambda s: s.name)
def test_reported_suites_share_out_and_plot(chosen: Suite) -> None:
    result = runner.invoke(app, [chosen.name, '--help'])
    assert result.exit_code == 0, result.output
    for option in ('--out', '--plot', '--no-plot', '--quick', '--full'):
        assert option in result.output


def test_common_options_are_declared_once() -> None:
    declared = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob('*.py')
        for text in (path.read_text(),)
        if "'--quick/--full'" in text or "'Folder for the results.'" in text
    }
    assert declared == {'harness/options.py'}


@pytest.mark.parametrize('chosen', REPORTED, ids=lambda s: s.name)
def test_committed_results_load_and_render(
    chosen: Suite, tmp_path: pathlib.Path
) -> None:
    report = chosen.report
    assert report is not None
    path = RESULTS / f'{chosen.name}.json'
    rows = json.loads(path.read_text())
    records = report.load(path)
    assert len(records) == len(rows) > 0
    assert all(isinstance(r, report.record) for r in records)
    for record, row in zip(records, rows, strict=True):
        written = record.as_dict()
        assert {k: written[k] for k in written if k in row} == {
            k: row[k] for k in written if k in row
        }
    # The committed Markdown is what the report writes of the committed JSON.
    report.markdown(records, tmp_path / 'out.md')
    committed = RESULTS / f'{chosen.name}.md'
    assert (tmp_path / 'out.md').read_text() == committed.read_text()
    console = Console(file=io.StringIO(), width=160)
    report.table(records, console)
    assert isinstance(console.file, io.StringIO)
    assert console.file.getvalue()


def test_settings_drop_unset_changes_and_validate() -> None:
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Shape(Settings):
        size: int = 10
        repeat: int = 3

        @classmethod
        def quick(cls) -> Shape:
            return cls(repeat=1)

        def validate(self) -> None:
            if self.repeat < 1:
                raise ValueError('repeat must be at least 1.')

    assert Shape.chosen(quick=True, size=None) == Shape(10, 1)
    assert Shape.chosen(quick=False, size=5) == Shape(5, 3)
    with pytest.raises(ValueError, match='repeat'):
        Shape.chosen(quick=True, repeat=0)


def test_a_record_without_a_target() -> None:
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Plain(Record):
        value: float

    row = Plain(1.5).as_dict()
    assert row == {'value': 1.5, 'target': None, 'meets_target': None}
    assert Plain.from_dict(row) == Plain(1.5)


@pytest.mark.parametrize(
    'chosen',
    [s for s in REPORTED if s.report is not None and s.report.plot is not None],
    ids=lambda s: s.name,
)
def test_committed_results_plot(chosen: Suite, tmp_path: pathlib.Path) -> None:
    report = chosen.report
    assert report is not None
    assert report.plot is not None
    report.plot(report.load(RESULTS / f'{chosen.name}.json'), tmp_path / 'out.png')
    assert (tmp_path / 'out.png').read_bytes()[:4] == b'\x89PNG'
