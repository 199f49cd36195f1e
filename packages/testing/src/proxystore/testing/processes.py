"""Servers in processes of their own, for the tests of every package.

`ServerProcess` is the one base of the test servers (Redis, UCX, endpoints,
relays): a subclass says how to run its server (`command`, `environment`) and
how to tell that it answers (`ready`); the base starts the process, waits for
it within a deadline, and ends it (SIGTERM, then SIGKILL), so the fixture that
starts a server is the one that stops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import ClassVar
from typing import Self

__all__ = ['ServerProcess', 'ServerStartError', 'ServerStartTimeoutError']

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


class ServerStartError(RuntimeError):
    """A test server did not start; the message ends with what it logged."""


class ServerStartTimeoutError(ServerStartError, TimeoutError):
    """A test server is running but did not answer in time."""


class ServerProcess:
    """A server in a process of its own, stopped by `stop` (or ``with``).

    Attributes:
        process: The running process (``None`` before `start` and after `stop`).
        start_timeout: Seconds `start` waits for the server to answer.
        discard_output: Send the server's stdout and stderr to ``/dev/null``
            (for servers that write a log file of their own).
    """

    start_timeout: ClassVar[float] = _START_TIMEOUT
    discard_output: ClassVar[bool] = False

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None, 'not started'
        return self.process.pid

    @property
    def running(self) -> bool:
        """Whether the process is started and has not ended."""
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        """The command line of the server."""
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The server's environment."""
        return dict(os.environ)

    def ready(self) -> bool:
        """Whether the server answers."""
        raise NotImplementedError

    def diagnostics(self) -> str:
        """What the server said, for the error of a failed start (default: nothing)."""
        return ''

    def start(self, timeout: float | None = None) -> Self:
        """Start the process and wait until it answers.

        Args:
            timeout: Seconds to wait (default: `start_timeout`).

        Returns:
            This server, started.

        Raises:
            ServerStartError: If the process exits before it answers.
            ServerStartTimeoutError: If it does not answer in time; the
                process is ended.
        """
        wait = self.start_timeout if timeout is None else timeout
        output = subprocess.DEVNULL if self.discard_output else None
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env=self.environment(),
        )
        deadline = time.monotonic() + wait
        try:
            while not self.ready():
                code = self.process.poll()
                if code is not None:
                    raise ServerStartError(self._failure(f'exited with {code}'))
                if time.monotonic() > deadline:
                    raise ServerStartTimeoutError(
                        self._failure(f'did not answer within {wait} s'),
                    )
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise
        return self

    def _failure(self, what: str) -> str:
        detail = self.diagnostics()
        message = f'{self!r} {what}'
        return f'{message}:\n{detail}' if detail else message

    def restart(self, timeout: float | None = None) -> Self:
        """Stop the server and start it again with the same command line."""
        self.stop()
        return self.start(timeout)

    def freeze(self) -> None:
        """Suspend the process (SIGSTOP)."""
        os.kill(self.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """End the process at once (SIGKILL), as a crash would.

        The process stays known (`process` is kept, `start` may follow); a
        process that ended already is left alone.
        """
        assert self.process is not None, 'not started'
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGCONT)
        self.process.kill()
        self.process.wait(timeout=_STOP_TIMEOUT)

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        """End the process: SIGTERM, then SIGKILL after ``timeout`` seconds.

        A frozen process is resumed first, so that it can exit. Calling it
        again, or before `start`, does nothing.
        """
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_TIMEOUT)
