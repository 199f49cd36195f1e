"""Run a benchmark worker in another interpreter and read its JSON result."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

__all__ = ['BenchmarkError', 'run_json']


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
