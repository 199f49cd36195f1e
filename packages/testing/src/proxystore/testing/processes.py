"""Servers in processes of their own, for the tests of every package."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

__all__ = ['ServerProcess']

_START_TIMEOUT = 30.0


class ServerProcess:
    """A server in a process of its own, stopped by `stop` (or ``with``)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None, 'not started'
        return self.process.pid

    def command(self) -> list[str]:
        """The command line of the server."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The server's environment."""
        return dict(os.environ)

    def ready(self) -> bool:
        """Whether the server answers."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the process and wait until it answers.

        Raises:
            RuntimeError: If it exits or does not answer within 30 s.
        """
        self.process = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, env=self.environment()
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                code = self.process.poll()
                self.stop()
                raise RuntimeError(f'{self!r} did not start (exit code {code})')
            time.sleep(0.05)

    def freeze(self) -> None:
        """Suspend the process (SIGSTOP)."""
        os.kill(self.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """End the process at once (SIGKILL), as a crash would."""
        assert self.process is not None, 'not started'
        os.kill(self.process.pid, signal.SIGCONT)
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL after 10 s)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
