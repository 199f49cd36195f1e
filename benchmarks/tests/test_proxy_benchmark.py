"""The proxy benchmark runs end to end and reports clearly when it cannot."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites import proxy as proxy_suite
from proxystore_bench.workers import proxy_worker

runner = CliRunner()
TINY = ['--number', '20', '--repeat', '1']


def test_cli_writes_csv_json_plot_and_table(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(app, ['proxy', *TINY, '--out', str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert 'No --baseline-python' in result.output
    assert 'Proxy overhead' in result.output
    for name in ('proxy.csv', 'proxy.json', 'proxy.md', 'proxy.png'):
        assert (tmp_path / name).stat().st_size > 0
    records = json.loads((tmp_path / 'proxy.json').read_text())
    subjects = {r['subject'] for r in records}
    assert subjects == {
        'proxystore (C)',
        'proxystore (pure Python)',
        'lazy-object-proxy',
    }
    ops = {r['op'] for r in records}
    assert {'import', 'construct', 'first_resolve', 'pickle_size', 'len', 'attr'} <= ops
    header = (tmp_path / 'proxy.csv').read_text().splitlines()[0]
    assert header.startswith('subject,version,implementation,op,unit,raw,value,ratio')
    ours = {
        r['implementation'] for r in records if r['subject'].startswith('proxystore')
    }
    assert ours == {'c', 'python'}


def test_baseline_python_must_exist(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / 'nope' / 'python'
    result = runner.invoke(app, ['proxy', '--baseline-python', str(missing)])
    assert result.exit_code == 2
    assert 'does not exist' in result.output


def test_baseline_without_proxystore_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    # An interpreter whose proxystore import fails stands in for a broken baseline.
    fake = tmp_path / 'python'
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} -S -I "$@"\n')
    fake.chmod(0o755)
    result = runner.invoke(
        app,
        ['proxy', *TINY, '--baseline-python', str(fake), '--out', str(tmp_path)],
    )
    assert result.exit_code == 1
    assert 'proxystore 1.1.0: worker exited with 1' in result.output
    assert 'ModuleNotFoundError' in result.output


def test_number_must_be_positive() -> None:
    result = runner.invoke(app, ['proxy', '--number', '0'])
    assert result.exit_code == 2
    assert '--number' in result.output


def test_worker_rejects_unknown_subject() -> None:
    subject = proxy_suite.Subject('bogus', 'bogus', sys.executable)
    with pytest.raises(proxy_suite.BenchmarkError, match="invalid choice: 'bogus'"):
        proxy_suite.run([subject], number=1, repeat=1)


def test_worker_runs_as_a_script() -> None:
    done = subprocess.run(
        [
            sys.executable,
            proxy_worker.__file__,
            '--subject',
            'lazy-object-proxy',
            *TINY,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert result['subject'] == 'lazy-object-proxy'
    assert {row['op'] for row in result['rows']} >= {'len', 'pickle_size'}


def test_targets_apply_to_our_c_proxy_only() -> None:
    def record(
        subject: str, op: str, value: float, ratio: float | None
    ) -> proxy_suite.ProxyRecord:
        unit = 'ms' if op == 'import' else 'ns'
        return proxy_suite.ProxyRecord(subject, '2', 'c', op, unit, 1.0, value, ratio)

    assert record('proxystore (C)', 'len', 15, 1.5).meets_target is True
    assert record('proxystore (C)', 'len', 25, 2.5).meets_target is False
    assert record('proxystore (C)', 'import', 12.0, None).meets_target is True
    assert record('proxystore (C)', 'iterate', 1, 1.0).meets_target is None
    assert record('lazy-object-proxy', 'len', 25, 2.5).meets_target is None
