"""ICE settings of peer connections: STUN servers and the host candidates offered.

aioice (aiortc's ICE agent) offers every address of the host as a host
candidate, loopback excepted. `restrict_host_addresses` narrows that to the
addresses given (and allows loopback), for hosts with many interfaces, for
keeping peering on one network, and for tests that must stay on 127.0.0.1.
`set_udp_buffers` enlarges the kernel buffers of the ICE sockets. aiortc's
SCTP does not limit the data in flight to the receiver's window, so on a fast
path a burst overflows the default receive buffer (about 200 KB on Linux);
the lost tail is then resent only after SCTP's one-second retransmission
timeout, which stalls large transfers.

Both apply to the whole process: an endpoint is a process of its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import aioice.ice
import aioice.turn
from aiortc import RTCConfiguration
from aiortc import RTCIceServer

__all__ = [
    'UDP_BUFFER_BYTES',
    'configuration',
    'restrict_host_addresses',
    'set_udp_buffers',
]

_original = aioice.ice.get_host_addresses

UDP_BUFFER_BYTES = 4 * 1024 * 1024
"""Kernel buffer size asked for each ICE socket (capped by ``net.core.rmem_max``)."""


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Offer only ``addresses`` as ICE host candidates (empty: aioice's choice).

    Raises:
        ValueError: If an address is not an IP address.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _original
        return
    parsed = [ipaddress.ip_address(address) for address in addresses]

    def chosen(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            str(address)
            for address in parsed
            if (address.version == 4 and use_ipv4)
            or (address.version == 6 and use_ipv6)
        ]

    aioice.ice.get_host_addresses = chosen


def configuration(ice_servers: Sequence[str]) -> RTCConfiguration:
    """A peer connection configuration with these STUN servers (and no others).

    aiortc falls back to a public STUN server when given none; an explicit
    empty list keeps peering on the host's own addresses.
    """
    return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])


def set_udp_buffers(size: int = UDP_BUFFER_BYTES) -> None:
    """Ask for ``size``-byte kernel receive buffers on the ICE sockets made from now on.

    aioice sets the receive buffer of each socket it makes to
    ``aioice.turn.UDP_SOCKET_BUFFER_SIZE`` (256 KiB); this raises that size.
    The kernel caps it at ``net.core.rmem_max``.
    """
    aioice.turn.UDP_SOCKET_BUFFER_SIZE = size
