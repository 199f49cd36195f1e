"""UCX itself: importing ucxx, making a worker, and waiting for requests.

ucxx is imported on first use (it takes most of a second). Its core API is used
directly, without its asyncio layer, and with a worker in blocking progress
mode: a waiter progresses the worker and polls briefly, then sleeps on the
worker's event file descriptor (and on the control connection, whose end means
the peer is gone) until there is something to progress.
"""

from __future__ import annotations

import os
import pathlib
import select
import socket
import time
from collections.abc import Iterable
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from proxystore.connectors.ucx.exceptions import UCXConnectorError
from proxystore.connectors.ucx.exceptions import UCXServerGoneError
from proxystore.connectors.ucx.exceptions import UCXTimeoutError

SPIN = 50e-6
"""Seconds a waiter polls before it sleeps: covers a small request's round trip."""
TICK = 0.5
"""Most seconds a sleeping waiter goes without looking at its deadline."""

_ucxx: tuple[ModuleType, Any] | None = None


def ucxx() -> tuple[ModuleType, Any]:
    """``(libucxx, Array)``, imported on first use."""
    global _ucxx
    if _ucxx is None:
        # ucxx sets an option this UCX no longer knows; UCX would warn about it.
        os.environ.setdefault('UCX_WARN_UNUSED_ENV_VARS', 'n')
        try:
            import ucxx._lib.libucxx as libucxx
            from ucxx._lib.arr import Array
        except ImportError as error:
            raise UCXConnectorError(
                f'the UCX connector needs ucxx, which did not import ({error}); '
                "install it with `pip install 'proxystore[ucx]'` (Linux only)",
            ) from error
        except OSError as error:
            other = _foreign_ucx()
            if other is None:
                raise UCXConnectorError(
                    f'the UCX libraries of ucxx would not load: {error}'
                ) from error
            raise UCXConnectorError(
                f'another copy of UCX ({other}) was loaded in this process '
                "before ucxx's, and ucxx cannot load its own beside it. MPICH's "
                'wheel brings one: call proxystore.connectors.ucx.load_ucx() '
                'before importing mpi4py (MPICH then uses the same UCX).',
            ) from error
        _ucxx = (libucxx, Array)
    return _ucxx


def _foreign_ucx() -> str | None:
    """The path of a UCX library loaded from elsewhere than the libucx wheel."""
    try:
        maps = pathlib.Path('/proc/self/maps').read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.rsplit(' ', 1)[-1]
        if '/libucs.so' in path and '/libucx/' not in path:
            return path
    return None


def transports_option(transports: str | Sequence[str] | None) -> str | None:
    """A transport list as UCX's ``TLS`` option (``None``: UCX's choice)."""
    if transports is None or isinstance(transports, str):
        return transports or None
    return ','.join(transports) or None


def make_worker(transports: str | None, devices: str | None) -> tuple[Any, Any]:
    """A UCX context and worker with tag messages, in blocking progress mode."""
    libucxx, _ = ucxx()
    config = {}
    if transports:
        config['TLS'] = transports
    if devices:
        config['NET_DEVICES'] = devices
    features = (libucxx.Feature.TAG, libucxx.Feature.WAKEUP)
    try:
        context = libucxx.UCXContext(config_dict=config, feature_flags=features)
    except libucxx.UCXError as error:
        raise UCXConnectorError(
            f'UCX would not start with transports={transports!r}, '
            f'devices={devices!r}: {error}',
        ) from error
    worker = libucxx.UCXWorker(context)
    worker.init_blocking_progress_mode()
    return context, worker


def peer_gone(control: socket.socket) -> bool:
    """Whether the peer closed the control connection (it sends nothing else)."""
    try:
        return control.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b''
    except BlockingIOError:
        return False
    except OSError:
        return True


def wait(
    worker: Any,
    requests: Iterable[Any],
    deadline: float,
    control: socket.socket,
    what: str,
) -> None:
    """Progress ``worker`` until every request completed; raise its error if any.

    Raises:
        UCXServerGoneError: If the peer closes the control connection first.
        UCXTimeoutError: If ``deadline`` (``time.monotonic``) passes first.
    """
    pending = [request for request in requests if not request.completed]
    spin_until = time.perf_counter() + SPIN
    # poll, not select: a long-lived process may hold descriptors past 1024
    # (every UCX worker it made keeps some), which select cannot watch.
    poller = select.poll()
    poller.register(worker.epoll_file_descriptor, select.POLLIN)
    poller.register(control.fileno(), select.POLLIN)
    while pending:
        worker.progress()
        pending = [request for request in pending if not request.completed]
        if not pending:
            continue
        if time.perf_counter() < spin_until:
            # Polling, but yielding the core: on a busy node the peer (or the
            # server) may need it to answer.
            os.sched_yield()
            continue
        now = time.monotonic()
        if now >= deadline:
            raise UCXTimeoutError(f'no answer to {what} within the timeout')
        if not worker.arm():
            continue  # events came in while arming: progress them first
        events = poller.poll(min(TICK, deadline - now) * 1000)
        ready = {fd for fd, _ in events}
        if control.fileno() in ready and peer_gone(control):
            raise UCXServerGoneError(f'the UCX data server went away during {what}')
    for request in requests:
        request.check_error()
