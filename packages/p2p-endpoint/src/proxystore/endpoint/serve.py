"""Run an endpoint: its storage, its peering and its HTTP server, until stopped."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import signal
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from proxystore.endpoint._files import private_file
from proxystore.endpoint.app import create_app
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage
from proxystore.endpoint.storage import Storage

__all__ = ['make_endpoint', 'run', 'serve']

logger = logging.getLogger(__name__)


def _storage(config: EndpointConfig) -> Storage:
    limit = config.storage.max_object_size
    total = config.storage.total_bytes()
    if config.storage.database_path:
        return SQLiteStorage(
            config.storage.database_path, max_object_size=limit, max_total_bytes=total
        )
    return DictStorage(max_object_size=limit, max_total_bytes=total)


async def make_endpoint(
    config: EndpointConfig,
) -> tuple[Endpoint, Callable[[], dict[str, Any]]]:
    """The endpoint a configuration describes, with its peering started.

    Returns:
        The endpoint and a function giving its peering status.
    """
    endpoint = Endpoint(config.name, config.uuid, storage=_storage(config))
    if config.relay.address is None:
        return endpoint, lambda: {'peering': 'disabled'}
    from proxystore.p2p.manager import PeerManager

    manager = PeerManager(
        endpoint,
        config.relay.address,
        token=config.relay.token,
        channels=config.relay.peer_channels,
        ice_servers=config.relay.ice_servers,
        host_addresses=config.relay.host_addresses,
        timeout=config.relay.timeout,
        verify_certificate=config.relay.verify_certificate,
        packet_bytes=config.relay.peer_packet_bytes,
    )
    endpoint.peering = manager
    await manager.start()
    return endpoint, manager.status


async def run(config: EndpointConfig, stop: asyncio.Event) -> None:
    """Serve the endpoint of ``config`` until ``stop`` is set.

    Raises:
        OSError: If the HTTP server cannot bind its address.
    """
    if config.token is None:
        logger.warning(
            'endpoint %s has no token: its REST API answers any local process '
            '(run `proxystore-endpoint start` to make one)',
            config.name,
        )
    endpoint, status = await make_endpoint(config)
    runner = web.AppRunner(
        create_app(
            endpoint,
            status,
            body_timeout=config.body_timeout,
            token=config.token,
            host=config.host,
        ),
        access_log=None,
    )
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
        await site.start()
        logger.info(
            'endpoint %s (%s) serving on %s', config.name, config.uuid, config.address
        )
        await stop.wait()
        logger.info('endpoint %s stopping', config.name)
    finally:
        await runner.cleanup()
        await endpoint.close()


def _run_loop(main: Coroutine[Any, Any, None], use_uvloop: bool) -> None:
    if use_uvloop:
        try:
            import uvloop
        except ImportError:  # pragma: no cover (not on Windows)
            pass
        else:
            uvloop.run(main)
            return
    asyncio.run(main)


def serve(
    config: EndpointConfig,
    *,
    log_level: str = 'INFO',
    log_file: pathlib.Path | None = None,
    use_uvloop: bool = True,
) -> None:
    """Serve an endpoint in this process until SIGINT or SIGTERM.

    Args:
        config: The endpoint's configuration.
        log_level: Logging level.
        log_file: Append the log to this file (default: standard error).
        use_uvloop: Run on uvloop's event loop where it is installed.

    Raises:
        OSError: If the HTTP server cannot bind its address.
    """
    if log_file is not None:
        private_file(log_file)
    handler: logging.Handler = (
        logging.StreamHandler()
        if log_file is None
        else logging.FileHandler(log_file, encoding='utf-8')
    )
    handler.setFormatter(
        logging.Formatter('%(asctime)s %(levelname)s %(name)s: %(message)s')
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(log_level.upper())
    for noisy in ('aioice', 'aiortc', 'websockets', 'aiohttp.access'):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await run(config, stop)

    try:
        _run_loop(main(), use_uvloop)
    finally:
        root.removeHandler(handler)
        handler.close()
