"""`PeerManager`: the peering of an endpoint, over WebRTC through a relay.

The manager keeps the endpoint registered with the relay, opens one WebRTC
connection per peer on first use (or when the peer offers one), sends the
endpoint's requests for other endpoints' keys and answers the peers'
requests from the endpoint's own storage.

Failures are bounded in time: a connection that cannot be made within the
timeout, a peer that takes or sends no data for the timeout, and a peer that
leaves the relay and then does not answer a ping within `PROBE_TIMEOUT` all
end the requests waiting on it with a `PeerRequestError` that says which.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any

from proxystore.p2p import messages
from proxystore.p2p.connection import PeerConnection
from proxystore.p2p.exceptions import ObjectSizeExceededError
from proxystore.p2p.exceptions import PeerRequestError
from proxystore.p2p.exceptions import PeerTimeoutError
from proxystore.p2p.exceptions import PeerUnreachableError
from proxystore.p2p.exceptions import SupersededError
from proxystore.p2p.ice import configuration
from proxystore.p2p.ice import restrict_host_addresses
from proxystore.p2p.ice import set_udp_buffers
from proxystore.p2p.messages import Kind
from proxystore.p2p.messages import Op
from proxystore.p2p.messages import PeerMessage
from proxystore.p2p.messages import PeerMessageError
from proxystore.p2p.messages import Status
from proxystore.p2p.packets import packet_sizes
from proxystore.p2p.protocols import Blob
from proxystore.p2p.protocols import LocalEndpoint
from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.exceptions import RelayError
from proxystore.p2p.relay.messages import ErrorMessage
from proxystore.p2p.relay.messages import Message
from proxystore.p2p.relay.messages import PeerGone
from proxystore.p2p.relay.messages import Signal

__all__ = ['PROBE_TIMEOUT', 'PeerManager']

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
"""Seconds a peer that left the relay has to show it is still there."""
_MAX_ATTEMPTS = 4
_KEY_ROOM = messages.HEADER.size + messages.MAX_KEY_BYTES


class _Pending:
    __slots__ = ('connection', 'future', 'key', 'op')

    def __init__(
        self,
        connection: PeerConnection,
        future: asyncio.Future[PeerMessage],
        op: Op,
        key: str,
    ) -> None:
        self.connection = connection
        self.future = future
        self.op = op
        self.key = key


class PeerManager:
    """Connections to the peers of an endpoint, made through a relay.

    Args:
        endpoint: The endpoint whose storage answers the peers' requests.
        relay_address: The relay (``ws://`` or ``wss://``).
        token: The relay token of this endpoint's user.
        channels: Data channels per peer connection.
        ice_servers: STUN server URLs.
        host_addresses: Addresses offered as ICE host candidates (empty:
            every address of the host but loopback).
        timeout: Seconds to make a connection, and that a peer may take or
            send no data before a request fails.
        verify_certificate: Check the relay's TLS certificate.
        packet_bytes: Data bytes per SCTP packet (``None``: chosen per path,
            see `proxystore.p2p.packets`).
    """

    def __init__(
        self,
        endpoint: LocalEndpoint,
        relay_address: str,
        *,
        token: str | None = None,
        channels: int = 4,
        ice_servers: Sequence[str] = (),
        host_addresses: Sequence[str] = (),
        timeout: float = 30.0,
        verify_certificate: bool = True,
        packet_bytes: int | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.packet_bytes = packet_bytes
        self.channels = channels
        self.ice_servers = list(ice_servers)
        self.host_addresses = list(host_addresses)
        self.timeout = timeout
        self.relay = RelayClient(
            relay_address,
            endpoint.uuid,
            endpoint.name,
            self._on_relay_message,
            token=token,
            verify_certificate=verify_certificate,
        )
        limit = endpoint.storage.max_object_size
        self.max_message = (1 << 62) if limit is None else limit + _KEY_ROOM
        self._connections: dict[uuid.UUID, PeerConnection] = {}
        self._pending: dict[int, _Pending] = {}
        self._request_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f'PeerManager({self.endpoint.name!r}, relay={self.relay.address!r})'

    # --- life -----------------------------------------------------------------------

    async def start(self) -> None:
        """Apply the ICE settings and start connecting to the relay."""
        restrict_host_addresses(self.host_addresses)
        set_udp_buffers()
        await self.relay.start()

    async def close(self) -> None:
        """Close every peer connection and the relay connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self.relay.close()
        for connection in list(self._connections.values()):
            await connection.close()
        self._connections.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def status(self) -> dict[str, Any]:
        """The peering state, for the endpoint's ``GET /``."""
        status: dict[str, Any] = {
            'peering': self.relay.state,
            'relay': self.relay.address,
            'peers': sorted(str(p) for p, c in self._connections.items() if c.is_ready),
            'channels': {
                str(p): c.open_channels
                for p, c in self._connections.items()
                if c.is_ready
            },
            'packet_bytes': packet_sizes.current,
        }
        if self.relay.refused is not None:
            status['relay_error'] = str(self.relay.refused)
        elif self.relay.last_error:
            status['relay_error'] = self.relay.last_error
        return status

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- connections ----------------------------------------------------------------

    def _new_connection(
        self, peer: uuid.UUID, session: str, *, initiator: bool
    ) -> PeerConnection:
        connection = PeerConnection(
            peer,
            session,
            initiator=initiator,
            channels=self.channels,
            configuration=configuration(self.ice_servers),
            max_message=self.max_message,
            on_message=self._on_peer_message,
            on_oversized=self._on_oversized,
            on_closed=self._on_connection_closed,
            packet_bytes=self.packet_bytes,
        )
        self._connections[peer] = connection
        return connection

    async def _offer(self, connection: PeerConnection) -> None:
        try:
            sdp = await connection.make_offer()
            await self.relay.send(
                Signal(connection.peer, 'offer', connection.session, sdp),
                timeout=self.timeout,
            )
        except RelayError as error:
            connection.fail(
                PeerUnreachableError(
                    f'cannot reach endpoint {connection.peer} through the relay: '
                    f'{error}'
                )
            )
        except Exception as error:  # aiortc's own errors
            logger.exception('offer to endpoint %s failed', connection.peer)
            connection.fail(
                PeerUnreachableError(
                    f'offer to endpoint {connection.peer} failed: {error!r}'
                )
            )

    async def connection(self, peer: uuid.UUID) -> PeerConnection:
        """The open connection to ``peer``, made now if there is none.

        Raises:
            PeerUnreachableError: If it cannot be made within the timeout.
        """
        deadline = time.monotonic() + self.timeout
        for _ in range(_MAX_ATTEMPTS):
            connection = self._connections.get(peer)
            if connection is None or connection.closed:
                if self._closed:
                    raise PeerUnreachableError('the endpoint is closing')
                connection = self._new_connection(
                    peer, secrets.token_hex(8), initiator=True
                )
                self._spawn(self._offer(connection))
            remaining = deadline - time.monotonic()
            try:
                await asyncio.wait_for(
                    asyncio.shield(connection.ready), max(remaining, 0)
                )
                return connection
            except TimeoutError:
                error = PeerUnreachableError(
                    f'no connection to endpoint {peer} within {self.timeout} s '
                    f'(ICE state {connection.ice_state}; relay {self.relay.state})'
                )
                connection.fail(error)
                raise error from None
            except SupersededError:
                continue
        raise PeerUnreachableError(
            f'no connection to endpoint {peer}: too many attempts'
        )

    def _on_connection_closed(
        self, connection: PeerConnection, error: Exception
    ) -> None:
        if self._connections.get(connection.peer) is connection:
            del self._connections[connection.peer]
        if isinstance(error, SupersededError):
            return
        for pending in list(self._pending.values()):
            if pending.connection is connection and not pending.future.done():
                pending.future.set_exception(error)

    # --- relay messages -------------------------------------------------------------

    async def _on_relay_message(self, message: Message) -> None:
        if isinstance(message, Signal):
            if message.kind == 'offer':
                self._spawn(self._answer(message))
            else:
                connection = self._connections.get(message.peer)
                if (
                    connection is not None
                    and connection.session == message.session
                    and connection.initiator
                ):
                    self._spawn(self._take_answer(connection, message.sdp))
        elif isinstance(message, ErrorMessage):
            connection = self._connections.get(message.peer)
            if connection is not None and connection.session == message.session:
                connection.fail(PeerUnreachableError(message.message))
        elif isinstance(message, PeerGone):
            connection = self._connections.get(message.peer)
            if connection is not None:
                self._spawn(self._probe(connection))

    async def _answer(self, offer: Signal) -> None:
        existing = self._connections.get(offer.peer)
        if existing is not None and not existing.closed:
            if (
                existing.initiator
                and not existing.is_ready
                and self.endpoint.uuid.int < offer.peer.int
            ):
                return  # simultaneous offers: the smaller UUID's offer wins
            existing.fail(
                SupersededError()
                if not existing.is_ready
                else PeerUnreachableError(
                    f'endpoint {offer.peer} opened a new connection'
                )
            )
        connection = self._new_connection(offer.peer, offer.session, initiator=False)
        try:
            sdp = await connection.accept_offer(offer.sdp)
            await self.relay.send(
                Signal(offer.peer, 'answer', offer.session, sdp), timeout=self.timeout
            )
        except Exception as error:
            logger.warning('cannot answer endpoint %s: %r', offer.peer, error)
            connection.fail(
                PeerUnreachableError(f'cannot answer endpoint {offer.peer}: {error!r}')
            )

    async def _take_answer(self, connection: PeerConnection, sdp: str) -> None:
        try:
            await connection.accept_answer(sdp)
        except Exception as error:
            connection.fail(
                PeerUnreachableError(
                    f'bad answer from endpoint {connection.peer}: {error!r}'
                )
            )

    async def _probe(self, connection: PeerConnection) -> None:
        """The peer left the relay: end the connection unless it shows it is alive.

        It is alive if it answers a ping, or while its frames keep coming (a
        ping may wait behind a large answer); it is gone once nothing has
        come from it for `PROBE_TIMEOUT` seconds.
        """
        if not connection.is_ready:
            connection.fail(
                PeerUnreachableError(f'endpoint {connection.peer} left the relay')
            )
            return
        try:
            await self._request(connection, Op.PING, '-', timeout=PROBE_TIMEOUT)
        except PeerTimeoutError:
            connection.fail(
                PeerUnreachableError(
                    f'endpoint {connection.peer} left the relay and stopped answering'
                )
            )
        except PeerRequestError:
            pass  # the connection ended anyway

    # --- requests -------------------------------------------------------------------

    async def _request(
        self,
        connection: PeerConnection,
        op: Op,
        key: str,
        payload: Blob = b'',
        *,
        timeout: float | None = None,
    ) -> PeerMessage:
        timeout = self.timeout if timeout is None else timeout
        request_id = next(self._request_ids)
        future: asyncio.Future[PeerMessage] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Pending(connection, future, op, key)
        try:
            request = PeerMessage(Kind.REQUEST, op, request_id, key, payload=payload)
            await connection.send(
                messages.encode(request), timeout=timeout, abort=future
            )
            # Wait while the peer keeps sending (a large answer takes a while).
            for _ in range(1_000_000):
                try:
                    return await asyncio.wait_for(asyncio.shield(future), timeout)
                except TimeoutError:
                    if time.monotonic() - connection.last_activity >= timeout:
                        raise PeerTimeoutError(
                            f'endpoint {connection.peer} did not answer '
                            f'{op.name.lower()} of {key!r} within {timeout} s'
                        ) from None
            raise PeerTimeoutError(f'endpoint {connection.peer} answers too slowly')
        finally:
            del self._pending[request_id]
            if not future.done():
                future.cancel()

    async def _call(
        self, peer: uuid.UUID, op: Op, key: str, payload: Blob = b''
    ) -> PeerMessage:
        connection = await self.connection(peer)
        response = await self._request(connection, op, key, payload)
        if response.status == Status.ERROR:
            raise PeerRequestError(
                f'endpoint {peer} failed {op.name.lower()} of {key!r}: '
                f'{response.text()}'
            )
        if response.status == Status.TOO_LARGE:
            raise ObjectSizeExceededError(f'endpoint {peer}: {response.text()}')
        return response

    async def get(self, peer: uuid.UUID, key: str) -> Blob | None:
        """The object under ``key`` on ``peer``, or ``None``."""
        response = await self._call(peer, Op.GET, key)
        return None if response.status == Status.NOT_FOUND else response.payload

    async def set(self, peer: uuid.UUID, key: str, blob: Blob) -> None:
        """Store ``blob`` under ``key`` on ``peer``."""
        await self._call(peer, Op.SET, key, blob)

    async def exists(self, peer: uuid.UUID, key: str) -> bool:
        """Whether ``peer`` holds an object under ``key``."""
        response = await self._call(peer, Op.EXISTS, key)
        return response.status == Status.OK

    async def evict(self, peer: uuid.UUID, key: str) -> None:
        """Remove the object under ``key`` from ``peer``."""
        await self._call(peer, Op.EVICT, key)

    # --- peer messages --------------------------------------------------------------

    def _on_peer_message(self, connection: PeerConnection, data: bytearray) -> None:
        try:
            message = messages.decode(data)
        except PeerMessageError as error:
            logger.warning(
                'dropping a bad message from endpoint %s: %s', connection.peer, error
            )
            return
        if message.kind == Kind.RESPONSE:
            pending = self._pending.get(message.request_id)
            if (
                pending is not None
                and pending.connection is connection
                and not pending.future.done()
            ):
                pending.future.set_result(message)
            return
        self._spawn(self._serve(connection, message))

    def _on_oversized(self, connection: PeerConnection, first: bytes) -> None:
        try:
            header, size = messages.decode_header(first)
        except PeerMessageError as error:
            logger.warning(
                'dropping a bad message from endpoint %s: %s', connection.peer, error
            )
            return
        if header.kind != Kind.REQUEST:
            pending = self._pending.get(header.request_id)
            if pending is not None and not pending.future.done():
                pending.future.set_exception(
                    ObjectSizeExceededError(
                        f'the object from endpoint {connection.peer} exceeds the '
                        f'limit of {self.endpoint.storage.max_object_size} bytes '
                        'of this endpoint'
                    )
                )
            return
        text = (
            f'object of {size} bytes exceeds the endpoint limit of '
            f'{self.endpoint.storage.max_object_size} bytes per object'
        )
        reply = PeerMessage(
            Kind.RESPONSE,
            header.op,
            header.request_id,
            header.key,
            Status.TOO_LARGE,
            text.encode(),
        )
        self._spawn(self._reply(connection, reply))

    async def _serve(self, connection: PeerConnection, request: PeerMessage) -> None:
        storage = self.endpoint.storage
        status, payload = Status.OK, b''
        result: Blob = b''
        try:
            if request.op == Op.GET:
                found = await storage.get(request.key)
                if found is None:
                    status = Status.NOT_FOUND
                else:
                    result = found
            elif request.op == Op.SET:
                await storage.set(request.key, request.payload)
            elif request.op == Op.EXISTS:
                status = (
                    Status.OK if await storage.exists(request.key) else Status.NOT_FOUND
                )
            elif request.op == Op.EVICT:
                await storage.evict(request.key)
        except ObjectSizeExceededError as error:
            status, payload = Status.TOO_LARGE, str(error).encode()
        except Exception as error:
            logger.exception(
                '%s of %r for endpoint %s failed',
                request.op.name,
                request.key,
                connection.peer,
            )
            status, payload = Status.ERROR, f'{type(error).__name__}: {error}'.encode()
        reply = PeerMessage(
            Kind.RESPONSE,
            request.op,
            request.request_id,
            request.key,
            status,
            result if status == Status.OK else payload,
        )
        await self._reply(connection, reply)

    async def _reply(self, connection: PeerConnection, reply: PeerMessage) -> None:
        try:
            await connection.send(messages.encode(reply), timeout=self.timeout)
        except PeerRequestError as error:
            logger.warning('cannot answer endpoint %s: %s', connection.peer, error)
