"""Every check a developer or CI runs. `uv run --locked nox` runs the default set.

Sessions install the workspace from the committed uv.lock into their own venv,
so what is tested is what the lock pins.
"""

from __future__ import annotations

import pathlib
import zipfile
from typing import Any

import nox

nox.needs_version = '>=2024.10.9'
nox.options.default_venv_backend = 'uv'
nox.options.error_on_missing_interpreters = True
nox.options.sessions = [
    'tests',
    'mpi',
    'engines',
    'lint',
    'types',
    'docs',
    'wheels',
    'bench',
]  # not compat, slow

PYTHON = '3.11'
ROOT = pathlib.Path(__file__).parent
SOURCES = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob('packages/*/src'))
TESTS = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob('packages/*/tests'))
# Tests of the default sessions: those with a marker have a session of their own.
UNMARKED = 'not slow and not mpi and not engines and not fuzz and not soak'


def sync(session: nox.Session, *groups: str) -> None:
    """Install every workspace package and the given dependency groups."""
    session.run_install(
        'uv',
        'sync',
        '--locked',
        '--all-packages',
        '--no-default-groups',
        *(f'--group={group}' for group in groups),
        env={'UV_PROJECT_ENVIRONMENT': session.virtualenv.location},
    )


ALL_TESTS = [*TESTS, 'benchmarks/tests', 'apps/tests', 'tests']
# The folders whose tests exercise what a proxy does (forwarding, resolving,
# pickling, the patterns built on it): they run again on the pure-Python
# proxy. Transports, apps and benchmarks are indifferent to the proxy's base
# and run once, on the C one.
PROXY_TESTS = [
    'packages/proxy-core/tests',
    'packages/store/tests',
    'packages/patterns-ownership/tests',
    'packages/patterns-futures/tests',
    'packages/patterns-actors/tests',
    'packages/stream/tests',
    'packages/testing/tests',
    'tests',
]


def pytest(
    session: nox.Session, marker: str, folders: list[str] = ALL_TESTS, **kwargs: Any
) -> None:
    """Run the given test folders (default: all) on the tests ``marker`` selects."""
    session.run('pytest', *folders, '-m', marker, *session.posargs, **kwargs)


@nox.session(python=PYTHON)
@nox.parametrize('impl', ['c', 'python'])
def tests(session: nox.Session, impl: str) -> None:
    """Every test on the C proxy; the proxy's own and its patterns' on pure Python."""
    sync(session, 'test')
    folders = ALL_TESTS if impl == 'c' else PROXY_TESTS
    pytest(session, UNMARKED, folders, env={'PROXYSTORE_PROXY_IMPL': impl})


@nox.session(python=PYTHON)
def mpi(session: nox.Session) -> None:
    """MPI tests: every rank of ``mpiexec -n 2`` and ``-n 4`` jobs runs them.

    mpiexec comes from the MPICH wheel in the session's venv. ``-m mpi4py``
    aborts the job when a rank raises; MPIEXEC_TIMEOUT ends a job that hangs.
    """
    sync(session, 'test')
    tests = 'packages/connector-mpi/tests'
    for ranks in ('2', '4'):
        session.run(
            'mpiexec', '-n', ranks, 'python', '-m', 'mpi4py',
            '-m', 'pytest', f'{tests}/mpi', '-m', 'mpi', '-q', '-p', 'no:cacheprovider',
            env={'MPIEXEC_TIMEOUT': '600'},
        )  # fmt: skip
    # Whole jobs launched by the tests: ranks that leave, fail, mpi4py.futures,
    # and the apps under mpiexec (the mpi executor, the MPI connector).
    session.run('pytest', tests, 'apps/tests', '-m', 'mpi', *session.posargs)


@nox.session(python=PYTHON)
def engines(session: nox.Session) -> None:
    """The apps on the heavy task engines, Parsl and Ray (tests marked ``engines``)."""
    sync(session, 'test', 'engines')
    session.run(
        'pytest',
        'apps/tests',
        'benchmarks/tests/test_budget_benchmark.py',
        '-m',
        'engines',
        *session.posargs,
    )


@nox.session(python=['3.12', '3.13'])
@nox.parametrize('impl', ['c', 'python'])
def compat(session: nox.Session, impl: str) -> None:
    """The test suite on newer Pythons, where installed (not in the default set)."""
    sync(session, 'test')
    pytest(session, UNMARKED, env={'PROXYSTORE_PROXY_IMPL': impl})


@nox.session(python=PYTHON)
def slow(session: nox.Session) -> None:
    """Long-running tests (marked ``slow``: e.g. 50 UCX peer kills each way)."""
    sync(session, 'test')
    pytest(session, 'slow', success_codes=[0, 5])


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Fuzz every decoder of outside bytes (tests/fuzz, marked ``fuzz``).

    Each target runs from its seed corpus (tests/fuzz/corpus/<target>/), then on
    hypothesis' inputs for about ``FUZZ_SECONDS`` (default 20) seconds; the
    statistics give the inputs tried per target. ``-- -k NAME`` runs one target.
    """
    sync(session, 'fuzz')
    session.run(
        'pytest',
        'tests/fuzz',
        '-m',
        'fuzz',
        '-p',
        'no:cacheprovider',
        '--hypothesis-profile=fuzz',
        '--hypothesis-show-statistics',
        *session.posargs,
    )


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """Soak and chaos runs (tests/soak, marked ``soak``): faults under load.

    Each channel (Redis, shared memory, files, UCX, an endpoint) gets 4 worker
    processes x 8 threads for ``SOAK_SECONDS`` (default 120) while its server,
    or a worker, is killed at random moments; the figures go to
    ``soak-results/<channel>.json``. ``-- -k NAME`` runs one channel.
    """
    sync(session, 'test')
    session.run(
        'pytest', 'tests/soak', '-m', 'soak', '-p', 'no:cacheprovider', *session.posargs
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check; the walls between packages (import-linter)."""
    sync(session, 'lint')
    session.run('ruff', 'check', '.')
    session.run('ruff', 'format', '--check', '.')
    session.run('lint-imports')  # the contracts of .importlinter (DESIGN §3)


@nox.session(python=PYTHON)
def types(session: nox.Session) -> None:
    """mypy --strict over every package's src/, the benchmarks and the apps."""
    sync(session, 'types')
    session.run('mypy', *SOURCES, 'benchmarks/src', 'apps/src')


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (warnings are errors)."""
    sync(session, 'docs')
    session.run(
        'mkdocs',
        'build',
        '--strict',
        '--site-dir',
        str(ROOT / 'site'),
        env={'NO_MKDOCS_2_WARNING': '1'},
    )


@nox.session(python=PYTHON)
def wheels(session: nox.Session) -> None:
    """Build every package's wheel; install proxy-core alone and use it.

    Test helpers ship in one wheel only, proxystore-testing's: a production
    wheel with a ``proxystore/testing/`` file fails the session.
    """
    dist = pathlib.Path(session.create_tmp()) / 'dist'
    session.run('uv', 'build', '--all-packages', '--out-dir', str(dist), external=True)
    built = sorted(p.name for p in dist.glob('*.whl'))
    session.log('built: %s', ', '.join(built))
    for name in (
        'proxystore_proxy_core',
        'proxystore_bench',
        'proxystore_apps',
        'proxystore_testing',
        'proxystore-',
    ):
        if not any(p.startswith(name) for p in built):
            session.error(f'no wheel built for {name}')
    for wheel in built:
        with zipfile.ZipFile(dist / wheel) as archive:
            helpers = [
                n for n in archive.namelist() if n.startswith('proxystore/testing/')
            ]
        if wheel.startswith('proxystore_testing-'):
            if 'proxystore/testing/__init__.py' not in helpers:
                session.error(f'{wheel} lacks proxystore/testing/__init__.py')
        elif helpers:
            session.error(f'{wheel} ships test helpers: {", ".join(helpers)}')
    session.log('test helpers only in the proxystore-testing wheel: ok')

    # A venv with nothing of ours but proxy-core, installed from its folder.
    alone = pathlib.Path(session.create_tmp()) / 'alone'
    session.run('uv', 'venv', '--seed', '--python', PYTHON, str(alone), external=True)
    python = str(alone / 'bin' / 'python')
    session.run(python, '-m', 'pip', 'install', '--quiet', 'packages/proxy-core')
    session.run(
        python,
        '-c',
        'import proxystore.proxy as p, importlib.metadata as m;'
        'assert p.IMPLEMENTATION == "c", p.IMPLEMENTATION;'
        'names = {d.metadata["Name"] for d in m.distributions()};'
        'assert not {n for n in names if n.startswith("proxystore") and n != '
        '"proxystore-proxy-core"}, names;'
        'x = p.Proxy(lambda: [1, 2, 3]);'
        'assert isinstance(x, list) and sum(x) == 6;'
        'print("proxy-core alone: ok,", p.IMPLEMENTATION)',
        external=True,
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Quick benchmark runs, with ProxyStore 1.1.0 measured side by side.

    ProxyStore 1.1.0 lives in its own venv (it owns the same ``proxystore``
    import name); the benchmarks run their measurements there in a subprocess.
    Pass ``-- --full`` for full-length runs.
    """
    sync(session)
    baseline = pathlib.Path(session.create_tmp()) / 'proxystore-1.1.0'
    if not (baseline / 'bin' / 'python').exists():
        session.run('uv', 'venv', '--python', PYTHON, str(baseline), external=True)
    python = str(baseline / 'bin' / 'python')
    session.run(
        'uv',
        'pip',
        'install',
        '--python',
        python,
        # The endpoints extra brings 1.x's relay, endpoints and aiortc, for
        # the endpoint benchmark's side-by-side peering.
        'proxystore[endpoints]==1.1.0',
        'numpy',
        'redis',
        'hiredis',
        external=True,
    )
    args = session.posargs or ['--quick']
    out = str(ROOT / 'bench-results')
    for benchmark in ('proxy', 'store', 'endpoint'):
        session.run(
            'proxystore-bench',
            benchmark,
            *args,
            '--baseline-python',
            python,
            '--out',
            out,
        )
    # Patterns: their baselines (hand-written eviction, passing by value) are
    # measured in the same run; ProxyStore 1.1.0 is not needed.
    for benchmark in ('memory', 'pipelining', 'stream', 'mpi', 'ucx'):
        session.run('proxystore-bench', benchmark, *args, '--out', out)
    # The shared-memory modes only: Ray (the engines group) is not installed
    # here; `proxystore-bench budget` in a venv with it measures all four.
    session.run(
        'proxystore-bench',
        'budget',
        *args,
        '--modes',
        'shm-spill,shm-unbounded,shm-nospill',
        '--out',
        out,
    )
