"""A user's ``mypy --strict`` checks calls through a handle against the method."""

from __future__ import annotations

import pathlib
import subprocess
import sys

_USER_CODE = """\
from proxystore.actors import ActorFuture, ActorHandle
from proxystore.testing.actors import Counter

def use(handle: ActorHandle[Counter]) -> None:
    a: ActorFuture[int] = handle.call(Counter.add, 3)
    b: ActorFuture[int] = handle.call(Counter.async_add, 3)
    c: ActorFuture[str] = handle.call(Counter.add, 3)
    handle.call(Counter.add, 'three')
    handle.tell(Counter.add, n=1)
    handle.tell(Counter.add, m=1)
    d: ActorFuture[int] = handle.with_timeout(5).call(Counter.get)
"""
_ERRORS = {7, 8, 10}  # a wrong answer type, a wrong argument, a wrong keyword


def test_mypy_checks_calls_through_handles(tmp_path: pathlib.Path) -> None:
    user = tmp_path / 'user.py'
    user.write_text(_USER_CODE)
    config = tmp_path / 'mypy.ini'
    config.write_text('[mypy]\n')
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'mypy',
            '--strict',
            '--config-file',
            str(config),
            '--cache-dir',
            str(tmp_path / 'cache'),
            '--no-error-summary',
            str(user),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    reported = set()
    for line in output.splitlines():
        parts = line.split(':', 3)
        if len(parts) == 4 and parts[2].strip() == 'error':
            reported.add(int(parts[1]))
    assert reported == _ERRORS, output
