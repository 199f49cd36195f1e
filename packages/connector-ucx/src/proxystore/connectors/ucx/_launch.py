"""Starting, finding and stopping a node's data server process.

A server started in the background writes a state file (its pid, address and
port) in a per-user directory of this node, so that ``proxystore-ucx-server
stop`` and ``status`` find it by port.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

from proxystore.connectors.ucx._auth import TOKEN_ENV
from proxystore.connectors.ucx._client import ping
from proxystore.connectors.ucx.exceptions import UCXConnectorError
from proxystore.connectors.ucx.exceptions import UCXServerNotRunningError


def state_dir() -> pathlib.Path:
    """Where this user's servers on this node leave their state files."""
    runtime = os.environ.get('XDG_RUNTIME_DIR')
    base = pathlib.Path(runtime) if runtime else pathlib.Path(tempfile.gettempdir())
    return base / f'proxystore-ucx-{os.getuid()}'


def state_file(port: int) -> pathlib.Path:
    """The state file of the server on ``port``."""
    return state_dir() / f'server-{port}.json'


def write_state(address: str, port: int) -> pathlib.Path:
    """Record this process as the server on ``port``."""
    path = state_file(port)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    state = {'pid': os.getpid(), 'address': address, 'port': port}
    path.write_text(json.dumps(state))
    return path


def read_state(port: int) -> dict[str, object] | None:
    """The state of the server on ``port``, if one was started on this node."""
    try:
        state = json.loads(state_file(port).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def start_process(
    address: str,
    port: int,
    transports: str | None,
    devices: str | None,
    timeout: float,
    log: pathlib.Path | None = None,
    token: bytes | None = None,
    capacity: int | None = None,
    spill_directory: str | None = None,
) -> subprocess.Popen[bytes] | None:
    """Start a server in a new process and wait until it answers.

    The server reads ``token`` from its standard input (``--token-stdin``):
    not on its command line, which any user of the node may read, nor in its
    environment, which cannot hold every byte a store's secret may have.

    Returns:
        The process, or ``None`` if another process started one on that port
        first (and it answers).

    Raises:
        UCXConnectorError: If no server answers within ``timeout``.
    """
    command = [
        sys.executable, '-m', 'proxystore.connectors.ucx.cli', 'start',
        '--address', address, '--port', str(port),
    ]  # fmt: skip
    if capacity is not None:
        command += ['--capacity', str(capacity)]
    if spill_directory is not None:
        command += ['--spill-directory', spill_directory]
    if transports:
        command += ['--transports', transports]
    if devices:
        command += ['--devices', devices]
    if token is not None:
        command += ['--token-stdin']
    with contextlib.ExitStack() as stack:
        output = (
            stack.enter_context(log.open('ab'))
            if log is not None
            else subprocess.DEVNULL
        )
        # The server's token is exactly ``token``: none from this environment.
        environment = dict(os.environ)
        environment.pop(TOKEN_ENV, None)
        process = subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL if token is None else subprocess.PIPE,
            stdout=output,
            stderr=output,
            start_new_session=True,  # a Ctrl-C of the starter does not stop it
        )
    if token is not None:
        assert process.stdin is not None
        try:
            process.stdin.write(token)
            process.stdin.close()
        except OSError:
            pass  # it exited already: the wait below says so
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _, _ = ping(address, port, timeout=1.0)
        except UCXServerNotRunningError:
            if process.poll() is not None and process.returncode != 0:
                # Lost a race for the port? Then someone else's server answers.
                try:
                    ping(address, port, timeout=1.0)
                except UCXServerNotRunningError:
                    raise UCXConnectorError(
                        f'the UCX data server for {address}:{port} exited with '
                        f'status {process.returncode}; run `proxystore-ucx-server '
                        f'start --address {address} --port {port}` to see why',
                    ) from None
                return None
            time.sleep(0.05)
            continue
        if pid == process.pid:
            return process
        # Another server got the port first: ours is not needed (and must not
        # take the port over later, when that one stops).
        process.kill()
        process.wait()
        return None
    process.kill()
    process.wait()
    raise UCXConnectorError(
        f'the UCX data server for {address}:{port} did not answer within {timeout} s',
    )


def stop_process(port: int, timeout: float = 10.0) -> int | None:
    """Stop the server on ``port`` started on this node; its pid, if one ran."""
    state = read_state(port)
    if state is None or not isinstance(state.get('pid'), int):
        return None
    pid = state['pid']
    assert isinstance(pid, int)
    if not is_server(pid):
        # A stale file (the server was killed) whose pid now names another program.
        state_file(port).unlink(missing_ok=True)
        return None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        state_file(port).unlink(missing_ok=True)
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    state_file(port).unlink(missing_ok=True)
    return pid


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie does not)."""
    try:
        stat = pathlib.Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not pathlib.Path('/proc').is_dir()
    return stat.rsplit(')', 1)[1].split()[0] not in ('Z', 'X')


def is_server(pid: int) -> bool:
    """Whether ``pid`` runs a data server (``False`` if it cannot be told)."""
    try:
        command = pathlib.Path(f'/proc/{pid}/cmdline').read_bytes()
    except OSError:
        return alive(pid)  # no /proc: trust the state file
    return (
        b'proxystore.connectors.ucx' in command or b'proxystore-ucx-server' in command
    )
