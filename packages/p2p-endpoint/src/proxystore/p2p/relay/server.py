"""`RelayServer`: registers endpoints and forwards their session descriptions.

The relay sees only signaling: who is online, and the offers and answers that
let two endpoints open a WebRTC connection. Object data never passes through
it. Each connection must authenticate (``Authorization: Bearer TOKEN``), then
register its endpoint's UUID. Registrations are keyed by user and UUID: each
user has a namespace of its own, signals go only between endpoints of the same
user, and a user registering (or signaling) a UUID another user's endpoint
uses neither disturbs that endpoint nor learns whether it is online.
See `proxystore.p2p.relay.messages` for the messages and close codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http
import logging
import ssl
from uuid import UUID

from websockets.asyncio.server import Server
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request
from websockets.http11 import Response

from proxystore.p2p.relay.auth import Authenticator
from proxystore.p2p.relay.auth import bearer_token
from proxystore.p2p.relay.exceptions import RelayMessageError
from proxystore.p2p.relay.messages import CloseCode
from proxystore.p2p.relay.messages import ErrorMessage
from proxystore.p2p.relay.messages import PeerGone
from proxystore.p2p.relay.messages import Register
from proxystore.p2p.relay.messages import Registered
from proxystore.p2p.relay.messages import Signal
from proxystore.p2p.relay.messages import decode
from proxystore.p2p.relay.messages import encode

__all__ = ['DEFAULT_MAX_MESSAGE_BYTES', 'DEFAULT_PORT', 'RelayServer']

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8700
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
"""Largest message (a session description is a few KB)."""
REGISTER_TIMEOUT = 10.0


def _reason(text: str) -> str:
    # A close frame's reason holds at most 123 bytes.
    return text.encode()[:123].decode(errors='ignore')


@dataclasses.dataclass
class _Client:
    connection: ServerConnection
    user: str
    uuid: UUID
    name: str
    contacts: set[UUID] = dataclasses.field(default_factory=set)


class RelayServer:
    """The relay's state and its websocket handler.

    Args:
        authenticator: Maps a client's token to its user.
        max_message_bytes: Largest message a client may send; a larger one
            closes its connection with code 1009.
    """

    def __init__(
        self,
        authenticator: Authenticator,
        *,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        if max_message_bytes < 1024:
            raise ValueError(
                f'max_message_bytes must be at least 1024, not {max_message_bytes}'
            )
        self.authenticator = authenticator
        self.max_message_bytes = max_message_bytes
        self.clients: dict[tuple[str, UUID], _Client] = {}
        """Registered endpoints by user and UUID."""

    async def _register(
        self, connection: ServerConnection, user: str
    ) -> _Client | None:
        try:
            text = await asyncio.wait_for(connection.recv(), REGISTER_TIMEOUT)
        except TimeoutError:
            await connection.close(
                CloseCode.BAD_MESSAGE, 'no register message within 10 s'
            )
            return None
        try:
            message = decode(text)
        except RelayMessageError as error:
            await connection.close(
                CloseCode.BAD_MESSAGE, _reason(f'bad message: {error}')
            )
            return None
        if not isinstance(message, Register):
            await connection.close(
                CloseCode.BAD_MESSAGE,
                _reason(f'the first message must be register, not {message.type}'),
            )
            return None
        # Only this user's registrations are looked at: another user's endpoint
        # with this UUID is neither replaced nor revealed.
        known = self.clients.get((user, message.uuid))
        client = _Client(connection, user, message.uuid, message.name)
        self.clients[(user, message.uuid)] = client
        if known is not None:
            logger.info(
                'endpoint %s registered again; closing its old connection', message.uuid
            )
            await known.connection.close(
                CloseCode.REPLACED, 'this endpoint registered from another connection'
            )
        await connection.send(encode(Registered(message.uuid, user)))
        logger.info(
            'registered endpoint %s (%s) of user %s', message.name, message.uuid, user
        )
        return client

    async def _forward(self, client: _Client, message: Signal) -> None:
        target = self.clients.get((client.user, message.peer))
        if target is None:
            error = ErrorMessage(
                message.peer,
                message.session,
                f'endpoint {message.peer} is not connected to the relay',
            )
            await client.connection.send(encode(error))
            return
        client.contacts.add(target.uuid)
        target.contacts.add(client.uuid)
        forwarded = dataclasses.replace(message, peer=client.uuid, name=client.name)
        try:
            await target.connection.send(encode(forwarded))
        except ConnectionClosed:
            error = ErrorMessage(
                message.peer, message.session, f'endpoint {message.peer} left the relay'
            )
            await client.connection.send(encode(error))

    async def _unregister(self, client: _Client) -> None:
        if self.clients.get((client.user, client.uuid)) is not client:
            return  # replaced by a newer connection
        del self.clients[(client.user, client.uuid)]
        logger.info('endpoint %s (%s) left', client.name, client.uuid)
        for contact in client.contacts:
            other = self.clients.get((client.user, contact))
            if other is not None:
                other.contacts.discard(client.uuid)
                with contextlib.suppress(ConnectionClosed):
                    await other.connection.send(encode(PeerGone(client.uuid)))

    async def handler(self, connection: ServerConnection) -> None:
        """Serve one client connection until it closes."""
        token = bearer_token(
            connection.request.headers.get('Authorization')
            if connection.request
            else None
        )
        user = self.authenticator.authenticate(token)
        if user is None:
            await connection.close(
                CloseCode.UNAUTHORIZED,
                'missing or unknown token (Authorization: Bearer TOKEN)',
            )
            return
        client = await self._register(connection, user)
        if client is None:
            return
        try:
            async for text in connection:
                try:
                    message = decode(text)
                except RelayMessageError as error:
                    await connection.close(
                        CloseCode.BAD_MESSAGE, _reason(f'bad message: {error}')
                    )
                    break
                if not isinstance(message, Signal):
                    await connection.close(
                        CloseCode.BAD_MESSAGE,
                        _reason(f'unexpected {message.type} message'),
                    )
                    break
                await self._forward(client, message)
        except ConnectionClosed:
            pass
        finally:
            await self._unregister(client)

    def _health(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if request.path == '/health':
            return connection.respond(
                http.HTTPStatus.OK, f'OK {len(self.clients)} endpoints\n'
            )
        return None

    def serve(
        self,
        host: str = '127.0.0.1',
        port: int = DEFAULT_PORT,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> contextlib.AbstractAsyncContextManager[Server]:
        """A websockets server of this relay (``async with relay.serve(...):``)."""
        return serve(
            self.handler,
            host,
            port,
            ssl=ssl_context,
            max_size=self.max_message_bytes,
            process_request=self._health,
        )
