"""The import-linter contracts hold, and they catch a wall that is broken.

The lint session runs ``lint-imports`` on ``.importlinter``; this test also
shows that the contracts are not vacuous: without its one allowed exception,
the store-layers contract fails and names the import that breaks it.
"""

from __future__ import annotations

import configparser
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).parents[1]
CONFIG = ROOT / '.importlinter'


def _lint(config: pathlib.Path) -> subprocess.CompletedProcess[str]:
    program = shutil.which('lint-imports')
    assert program is not None, 'import-linter is in the test dependency group'
    return subprocess.run(
        [program, str(config), '--no-cache'],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_every_wall_holds() -> None:
    done = _lint(CONFIG)
    assert done.returncode == 0, done.stdout[-3000:]
    assert 'BROKEN' not in done.stdout


@pytest.mark.parametrize(
    ('contract', 'import_'),
    [
        ('store-layers', 'proxystore.store.factory -> proxystore.store._locate'),
        ('store', 'proxystore.store.ref -> proxystore.ownership'),
        ('p2p-endpoint', 'proxystore.endpoint.cli -> proxystore.connectors.endpoint'),
    ],
)
def test_a_contract_without_its_exception_fails(
    contract: str, import_: str, tmp_path: pathlib.Path
) -> None:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    section = f'importlinter:contract:{contract}'
    del parser[section]['ignore_imports']
    broken = tmp_path / 'broken.ini'
    with broken.open('w') as f:
        parser.write(f)
    done = _lint(broken)
    assert done.returncode != 0
    assert f'{parser[section]["name"]} BROKEN' in done.stdout
    source, target = import_.split(' -> ')
    line = rf'-\s+{re.escape(source)} -> {re.escape(target)}'
    assert re.search(line, done.stdout), done.stdout[-3000:]
