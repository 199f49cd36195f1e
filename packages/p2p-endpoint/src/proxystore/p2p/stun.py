"""A minimal STUN server (RFC 8489 Binding) and client, for NAT traversal.

An endpoint behind a NAT learns its public address and port (its
server-reflexive ICE candidate) by asking a STUN server on the public side.
`StunServer` answers Binding requests with the address they came from; the
relay can run one beside it (``proxystore-relay serve --stun-port 3478``).
`stun_binding` asks a server which address it sees.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any
from typing import cast

from aioice import stun

from proxystore.p2p.exceptions import StunError

__all__ = ['StunError', 'StunServer', 'parse_stun_url', 'stun_binding']

logger = logging.getLogger(__name__)

DEFAULT_STUN_PORT = 3478


def parse_stun_url(url: str) -> tuple[str, int]:
    """The host and port of a ``stun:host[:port]`` URL.

    Raises:
        StunError: If ``url`` is not a ``stun:`` URL with a valid port.
    """
    if not url.startswith('stun:'):
        raise StunError(f'not a stun: URL: {url!r}')
    rest = url[len('stun:') :]
    host, colon, port_text = rest.rpartition(':')
    if not colon:
        host, port_text = rest, str(DEFAULT_STUN_PORT)
    try:
        port = int(port_text)
    except ValueError:
        raise StunError(f'invalid port in STUN URL {url!r}') from None
    if not host or not 0 < port < 65536:
        raise StunError(f'invalid STUN URL {url!r}')
    return host.strip('[]'), port


class _ServerProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            request = stun.parse_message(data)
        except ValueError:
            return  # not STUN: ignore
        if (
            request.message_method != stun.Method.BINDING
            or request.message_class != stun.Class.REQUEST
        ):
            return
        response = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        response.attributes['XOR-MAPPED-ADDRESS'] = (addr[0], addr[1])
        response.add_fingerprint()
        assert self.transport is not None
        self.transport.sendto(bytes(response), addr)
        self.answered += 1


class StunServer:
    """Answers STUN Binding requests on a UDP port.

    Args:
        host: Address to bind to.
        port: UDP port.
    """

    def __init__(self, host: str = '127.0.0.1', port: int = DEFAULT_STUN_PORT) -> None:
        self.host = host
        self.port = port
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _ServerProtocol | None = None

    @property
    def answered(self) -> int:
        """Binding requests answered so far."""
        return 0 if self._protocol is None else self._protocol.answered

    async def start(self) -> None:
        """Bind the port and start answering.

        Raises:
            OSError: If the port cannot be bound.
        """
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            _ServerProtocol, local_addr=(self.host, self.port)
        )
        self._transport, self._protocol = transport, protocol
        self.port = transport.get_extra_info('sockname')[1]
        logger.info('STUN server on udp %s:%d', self.host, self.port)

    async def close(self) -> None:
        """Stop answering (idempotent)."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> StunServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class _ClientProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.responses: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.responses.put_nowait(data)


async def stun_binding(
    server: tuple[str, int],
    *,
    local: tuple[str, int] = ('0.0.0.0', 0),
    attempts: int = 3,
    timeout: float = 1.0,
) -> tuple[tuple[str, int], tuple[str, int]]:
    """Ask a STUN server which address and port it sees this socket at.

    Args:
        server: The STUN server's host and port.
        local: Address and port to send from.
        attempts: Requests sent before giving up.
        timeout: Seconds to wait for each answer.

    Returns:
        The local address of the socket and the mapped (public) address.

    Raises:
        StunError: If the server does not answer.
    """
    loop = asyncio.get_running_loop()
    host = await loop.run_in_executor(None, socket.gethostbyname, server[0])
    transport, protocol = await loop.create_datagram_endpoint(
        _ClientProtocol, local_addr=local, family=socket.AF_INET
    )
    try:
        request = stun.Message(
            message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST
        )
        for _ in range(attempts):
            transport.sendto(bytes(request), (host, server[1]))
            try:
                while True:
                    data = await asyncio.wait_for(protocol.responses.get(), timeout)
                    try:
                        response = stun.parse_message(data)
                    except ValueError:
                        continue
                    if response.transaction_id != request.transaction_id:
                        continue
                    mapped = response.attributes.get('XOR-MAPPED-ADDRESS')
                    if mapped is None:
                        raise StunError(
                            f'{server[0]}:{server[1]} sent no mapped address'
                        )
                    sockname = transport.get_extra_info('sockname')
                    return (sockname[0], sockname[1]), (mapped[0], mapped[1])
            except TimeoutError:
                continue
        raise StunError(
            f'the STUN server {server[0]}:{server[1]} did not answer '
            f'({attempts} requests, {timeout} s each)'
        )
    finally:
        transport.close()
