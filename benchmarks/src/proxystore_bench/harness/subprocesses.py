"""Run a worker script (`proxystore_bench.workers`), also in another venv.

A worker prints one JSON document on stdout; `run_json` runs it and parses it.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

__all__ = ['WORKERS', 'BenchmarkError', 'run_json', 'worker_script']

WORKERS = pathlib.Path(__file__).parent.parent / 'workers'
"""The folder of the worker scripts."""


class BenchmarkError(RuntimeError):
    """A benchmark worker failed; the message holds its error output."""


def run_json(
    label: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 1800,
) -> dict[str, Any]:
    """Run ``command`` (a worker printing one JSON document) and parse its output.

    The environment is this process's, without ``PYTHONPATH`` and
    ``PROXYSTORE_PROXY_IMPL`` (so nothing of this venv leaks into another
    interpreter), updated with ``env``.

    Raises:
        BenchmarkError: If the worker cannot start, fails, times out or prints no
            JSON; the message names ``label`` and ends with the worker's stderr.
    """
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ('PYTHONPATH', 'PROXYSTORE_PROXY_IMPL')
    }
    environment.update(env or {})
    try:
        done = subprocess.run(
            list(command),
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchmarkError(f'{label}: could not run {command[0]}: {e}') from e
    if done.returncode != 0:
        tail = '\n'.join(done.stderr.strip().splitlines()[-15:])
        raise BenchmarkError(f'{label}: worker exited with {done.returncode}:\n{tail}')
    try:
        return json.loads(done.stdout)  # type: ignore[no-any-return]
    except json.JSONDecodeError as e:
        raise BenchmarkError(f'{label}: worker printed no JSON: {e}') from e


def worker_script(name: str) -> pathlib.Path:
    """The path of the worker script ``workers/<name>.py``, to run by path.

    Run by path (not imported here), a worker also runs in an interpreter
    that has none of this package: ProxyStore 1.1.0's venv.

    Raises:
        FileNotFoundError: If there is no such worker.
    """
    path = WORKERS / f'{name}.py'
    if not path.is_file():
        raise FileNotFoundError(f'no worker script {path}')
    return path
