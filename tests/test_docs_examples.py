"""Every Python example in the README and the docs runs as written."""

from __future__ import annotations

import contextlib
import pathlib
import re
import socket
from collections.abc import Generator

import pytest

from proxystore.testing.redis import RedisServer

# The examples share this process, and the MPI guide's imports mpi4py: MPICH's
# wheel would load its own UCX first, which keeps ucxx's out (see the UCX guide).
with contextlib.suppress(ImportError):
    from proxystore.connectors.ucx import load_ucx

    load_ucx()

ROOT = pathlib.Path(__file__).parents[1]
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').rglob('*.md'))]
BLOCK = re.compile(r'^```python\n(.*?)^```', re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for i, match in enumerate(BLOCK.finditer(page.read_text())):
            found.append((f'{page.relative_to(ROOT)}#{i}', match.group(1)))
    return found


EXAMPLES = _examples()
# Examples written for a Redis server on its default port get a real one there.
NEEDS_REDIS = "'localhost', 6379"


@pytest.fixture
def redis_on_default_port(tmp_path: pathlib.Path) -> Generator[RedisServer]:
    with socket.socket() as probe:
        try:
            probe.bind(('127.0.0.1', 6379))
        except OSError:
            pytest.skip('port 6379 is in use: this example needs it')
    with RedisServer(tmp_path / 'redis', port=6379) as server:
        yield server


def test_examples_were_found() -> None:
    assert len(EXAMPLES) >= 5


# Examples fork process pools; Python 3.12+ warns when the test process has threads.
@pytest.mark.filterwarnings('ignore::DeprecationWarning')
@pytest.mark.parametrize(('where', 'code'), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_runs(
    where: str,
    code: str,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    if NEEDS_REDIS in code:
        request.getfixturevalue('redis_on_default_port')
    exec(compile(code, where, 'exec'), {'__name__': '__docs__'})
