"""Endpoint processes of this host: PID files, liveness, starting in the background."""

from __future__ import annotations

import enum
import os
import pathlib
import signal
import subprocess
import sys
import time

import psutil

from proxystore.endpoint._files import open_private
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import log_path
from proxystore.endpoint.config import pid_path
from proxystore.endpoint.exceptions import EndpointError

__all__ = [
    'EndpointStatus',
    'endpoint_status',
    'read_pid',
    'start_detached',
    'stop_process',
    'write_pid',
]

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class EndpointStatus(enum.Enum):
    """What ``proxystore-endpoint list`` shows."""

    RUNNING = 'RUNNING'
    """Its process is alive and answers HTTP."""
    STOPPED = 'STOPPED'
    """No process."""
    HANGING = 'HANGING'
    """Its process is alive but does not answer."""


def write_pid(name: str, home: pathlib.Path | None = None) -> pathlib.Path:
    """Record this process as the one serving endpoint ``name``."""
    path = pid_path(name, home)
    descriptor = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(descriptor, 'w') as file:
        file.write(f'{os.getpid()}\n')
    return path


def read_pid(name: str, home: pathlib.Path | None = None) -> int | None:
    """The PID of the process serving ``name``, if one is alive (else ``None``).

    A PID file left by a process that died, or whose PID now belongs to
    another program, is removed.
    """
    path = pid_path(name, home)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        process = psutil.Process(pid)
        alive = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        ours = any('proxystore' in part for part in process.cmdline())
    except psutil.Error:
        alive = ours = False
    if alive and ours:
        return pid
    path.unlink(missing_ok=True)
    return None


def answers(config: EndpointConfig, timeout: float = 2.0) -> bool:
    """Whether the endpoint of ``config`` answers ``GET /endpoint`` with its UUID."""
    import http.client
    import json

    connection = http.client.HTTPConnection(
        '127.0.0.1' if config.host in ('0.0.0.0', '') else config.host,
        config.port,
        timeout=timeout,
    )
    try:
        connection.request('GET', '/endpoint')
        response = connection.getresponse()
        return response.status == 200 and json.loads(response.read()).get(
            'uuid'
        ) == str(config.uuid)
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def endpoint_status(
    config: EndpointConfig, home: pathlib.Path | None = None
) -> EndpointStatus:
    """Whether the endpoint runs, and answers."""
    pid = read_pid(config.name, home)
    if pid is None:
        return EndpointStatus.RUNNING if answers(config) else EndpointStatus.STOPPED
    return EndpointStatus.RUNNING if answers(config) else EndpointStatus.HANGING


def start_detached(
    config: EndpointConfig, home: pathlib.Path | None = None, *, log_level: str = 'INFO'
) -> int:
    """Start the endpoint in a background process and wait until it answers.

    Returns:
        The process's PID.

    Raises:
        EndpointError: If it exits or does not answer within 30 s (the
            message ends with its log).
    """
    log = log_path(config.name, home)
    environment = dict(os.environ)
    if home is not None:
        environment['PROXYSTORE_HOME'] = str(home)
    with os.fdopen(open_private(log, os.O_WRONLY | os.O_APPEND), 'ab') as output:
        process = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'proxystore.endpoint.cli',
                'start',
                config.name,
                '--no-detach',
                '--log-level',
                log_level,
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
            env=environment,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(config, timeout=1.0):
        code = process.poll()
        if code is not None or time.monotonic() > deadline:
            if code is None:
                process.kill()
                process.wait()
            tail = '\n'.join(log.read_text(errors='replace').splitlines()[-10:])
            raise EndpointError(
                f'endpoint {config.name!r} did not start; its log ends with:\n{tail}'
            )
        time.sleep(0.1)
    return process.pid


def stop_process(pid: int) -> None:
    """SIGTERM ``pid``, then SIGKILL it if it still runs after 10 s."""
    try:
        process = psutil.Process(pid)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
    except psutil.NoSuchProcess:
        pass
