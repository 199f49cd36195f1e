"""Worker scripts import only the standard library and the code under test.

A worker runs by path in ProxyStore 1.1.0's venv, under ``mpiexec`` or as a
peer process: an import of this package's harness, or of a library only this
venv has, would break it there.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

from proxystore_bench.harness.subprocesses import WORKERS
from proxystore_bench.harness.subprocesses import worker_script

# Each top-level name a worker may import beyond the standard library, and why.
ALLOWED = {
    # The code under test: this project's packages here, 1.1.0's in its venv.
    'proxystore': 'the code under test',
    # proxy_worker measures it side by side with our proxies.
    'lazy_object_proxy': 'a proxy implementation under test',
    # The arrays the store worker puts and gets; the raw UCX baseline's buffers.
    'numpy': 'the data moved (installed with both proxystores)',
    # store_worker's baseline: raw redis-py SET/GET on the same server.
    'redis': 'the raw Redis baseline',
    # mpi_worker's baseline: raw mpi4py Send/Recv.
    'mpi4py': 'the raw MPI baseline',
    # ucx_raw, the UCX baseline: ucxx with nothing on top.
    'ucxx': 'the raw UCX baseline',
    # endpoint_v1_worker runs 1.x's relay (websockets) and keeps 1.x's ICE
    # (aioice) on loopback: the 1.x endpoints' own dependencies.
    'websockets': "ProxyStore 1.x's relay server",
    'aioice': "ProxyStore 1.x's peer connections",
}
# Sibling workers, held to this same rule (ucx_peer uses ucx_raw).
SIBLINGS = 'proxystore_bench.workers'

SCRIPTS = sorted(p for p in WORKERS.glob('*.py') if p.name != '__init__.py')


def imported(path: pathlib.Path) -> set[str]:
    """Every module a file imports (at any depth of its code)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f'{path.name}: a relative import'
            assert node.module is not None
            names.add(node.module)
    return names


def allowed(name: str) -> bool:
    """Whether a worker may import ``name``."""
    top = name.split('.')[0]
    if top in sys.stdlib_module_names or top in ALLOWED:
        return True
    return name == SIBLINGS or name.startswith(f'{SIBLINGS}.')


def test_every_worker_is_checked() -> None:
    assert {p.stem for p in SCRIPTS} >= {
        'endpoint_v1_worker',
        'mpi_worker',
        'proxy_worker',
        'store_worker',
        'ucx_peer',
        'ucx_raw',
    }


@pytest.mark.parametrize('path', SCRIPTS, ids=lambda p: p.name)
def test_worker_imports_only_stdlib_and_code_under_test(path: pathlib.Path) -> None:
    bad = sorted(name for name in imported(path) if not allowed(name))
    assert not bad, f'{path.name} imports {bad}'


def test_the_check_catches_the_harness(tmp_path: pathlib.Path) -> None:
    script = tmp_path / 'worker.py'
    script.write_text(
        'import json\n'
        'def f():\n'
        '    from proxystore_bench.harness.timing import best_run\n'
        '    import rich\n',
    )
    assert sorted(n for n in imported(script) if not allowed(n)) == [
        'proxystore_bench.harness.timing',
        'rich',
    ]


def test_worker_script_paths() -> None:
    assert worker_script('proxy_worker').is_file()
    with pytest.raises(FileNotFoundError, match='no worker script'):
        worker_script('nope')
