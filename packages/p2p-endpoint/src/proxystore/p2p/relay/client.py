"""`RelayClient`: an endpoint's connection to the relay, kept up in the background.

The client registers its endpoint, hands every message from the relay to a
callback, and reconnects with exponential backoff when the relay goes away
(restarts included). A refusal (bad token, replaced by
another connection) stops it for good: reconnecting would not help.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
import urllib.parse
import uuid
import warnings
from collections.abc import Awaitable
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.exceptions import InvalidHandshake
from websockets.exceptions import InvalidURI

from proxystore.p2p.relay.exceptions import RelayInsecureTokenWarning
from proxystore.p2p.relay.exceptions import RelayMessageError
from proxystore.p2p.relay.exceptions import RelayNotConnectedError
from proxystore.p2p.relay.exceptions import RelayRefusedError
from proxystore.p2p.relay.messages import UNRECOVERABLE
from proxystore.p2p.relay.messages import Message
from proxystore.p2p.relay.messages import Register
from proxystore.p2p.relay.messages import Registered
from proxystore.p2p.relay.messages import decode
from proxystore.p2p.relay.messages import encode

__all__ = ['RelayClient', 'is_loopback_url']

logger = logging.getLogger(__name__)

Callback = Callable[[Message], Awaitable[None]]


def is_loopback_url(address: str) -> bool:
    """Whether a relay address names this host (``localhost`` or a loopback IP)."""
    host = urllib.parse.urlsplit(address).hostname
    if host is None:
        return False
    if host == 'localhost' or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RelayClient:
    """Keeps an endpoint registered with a relay.

    Args:
        address: The relay (``ws://host:port`` or ``wss://host:port``).
        uuid: This endpoint's UUID.
        name: This endpoint's name.
        on_message: Called with each message from the relay (in order).
        token: Bearer token of this endpoint's user.
        verify_certificate: Check the relay's TLS certificate.
        ssl_context: TLS settings for ``wss://`` (overrides
            ``verify_certificate``).
        initial_backoff: First wait before reconnecting, in seconds.
        max_backoff: Longest wait between reconnection attempts.
        open_timeout: Most seconds for one connection attempt.

    Warns:
        RelayInsecureTokenWarning: If a ``token`` would travel over plain
            ``ws://`` to a host other than this one.
    """

    def __init__(
        self,
        address: str,
        uuid: uuid.UUID,
        name: str,
        on_message: Callback,
        *,
        token: str | None = None,
        verify_certificate: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        initial_backoff: float = 0.25,
        max_backoff: float = 10.0,
        open_timeout: float = 10.0,
    ) -> None:
        self.address = address
        self.uuid = uuid
        self.name = name
        self.on_message = on_message
        self.token = token
        if (
            token is not None
            and address.lower().startswith('ws://')
            and not is_loopback_url(address)
        ):
            message = (
                f'the relay client sends its token unencrypted to {address} '
                '(plain ws:// to another host): anyone on the path can read '
                'it. Use a wss:// relay address.'
            )
            logger.warning(message)
            warnings.warn(message, RelayInsecureTokenWarning, stacklevel=2)
        if ssl_context is None and address.startswith('wss://'):
            ssl_context = ssl.create_default_context()
            if not verify_certificate:
                ssl_context.check_hostname = False
                ssl_context.verify_mode = ssl.CERT_NONE
        self.ssl_context = ssl_context
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.state = 'stopped'
        """``stopped``, ``connecting``, ``connected``, ``refused`` or ``closed``."""
        self.refused: RelayRefusedError | None = None
        self.last_error: str | None = None
        self.connections = 0
        """Successful registrations so far (reconnections included)."""
        self._connection: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f'RelayClient({self.address!r}, state={self.state!r})'

    async def start(self) -> None:
        """Start connecting in the background (returns at once)."""
        if self._task is None:
            self.state = 'connecting'
            self._task = asyncio.create_task(self._run(), name='relay-client')

    async def wait_connected(self, timeout: float) -> None:
        """Wait until registered with the relay.

        Raises:
            RelayRefusedError: If the relay refused this client.
            RelayNotConnectedError: If not registered within ``timeout``.
        """
        if self.refused is not None:
            raise self.refused
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            if self.refused is not None:
                raise self.refused from None
            detail = f' (last error: {self.last_error})' if self.last_error else ''
            raise RelayNotConnectedError(
                f'not connected to the relay at {self.address} within {timeout} s'
                f'{detail}'
            ) from None
        if self.refused is not None:
            raise self.refused

    async def send(self, message: Message, timeout: float) -> None:
        """Send a message, waiting up to ``timeout`` for the connection.

        Raises:
            RelayRefusedError: If the relay refused this client.
            RelayNotConnectedError: If the relay cannot be reached in time.
        """
        await self.wait_connected(timeout)
        connection = self._connection
        if connection is None:
            raise RelayNotConnectedError(f'the connection to {self.address} was lost')
        try:
            await connection.send(encode(message))
        except ConnectionClosed as error:
            raise RelayNotConnectedError(
                f'the connection to the relay at {self.address} was lost: {error}'
            ) from None

    async def close(self) -> None:
        """Stop the client and close its connection (idempotent)."""
        task, self._task = self._task, None
        if self.state != 'refused':
            self.state = 'closed'
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _session(self) -> None:
        headers = (
            {} if self.token is None else {'Authorization': f'Bearer {self.token}'}
        )
        async with connect(
            self.address,
            additional_headers=headers,
            ssl=self.ssl_context,
            open_timeout=self.open_timeout,
            proxy=None,
        ) as connection:
            await connection.send(encode(Register(self.uuid, self.name)))
            reply = decode(await asyncio.wait_for(connection.recv(), self.open_timeout))
            if not isinstance(reply, Registered):
                raise RelayMessageError(f'expected registered, got {reply.type}')
            self._connection = connection
            self.state = 'connected'
            self.last_error = None
            self.connections += 1
            self._connected.set()
            logger.info(
                'registered with the relay at %s as user %s', self.address, reply.user
            )
            try:
                async for text in connection:
                    try:
                        message = decode(text)
                    except RelayMessageError as error:
                        logger.warning(
                            'ignoring a bad message from the relay: %s', error
                        )
                        continue
                    await self.on_message(message)
            finally:
                self._connected.clear()
                self._connection = None
                self.state = 'connecting'

    async def _run(self) -> None:
        delay = self.initial_backoff
        while True:
            before = self.connections
            try:
                await self._session()
                self.last_error = 'the relay closed the connection'
            except ConnectionClosed as error:
                received = error.rcvd
                if received is not None and received.code in UNRECOVERABLE:
                    self.refused = RelayRefusedError(received.code, received.reason)
                    self.state = 'refused'
                    self._connected.set()  # wake waiters: they raise the refusal
                    logger.error('%s', self.refused)
                    return
                self.last_error = f'connection closed ({error})'
            except (
                OSError,
                TimeoutError,
                InvalidHandshake,
                RelayMessageError,
            ) as error:
                self.last_error = f'{type(error).__name__}: {error}'
            except InvalidURI as error:
                self.refused = RelayRefusedError(0, f'invalid relay address: {error}')
                self.state = 'refused'
                self._connected.set()
                return
            if self.connections > before:
                delay = self.initial_backoff
            logger.warning(
                'relay %s unavailable (%s); retrying in %.2f s',
                self.address,
                self.last_error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(self.max_backoff, delay * 2)
