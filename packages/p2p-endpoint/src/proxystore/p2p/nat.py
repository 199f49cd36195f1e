"""What kind of NAT this host is behind, found with STUN servers.

ICE punches holes through most NATs; a *symmetric* NAT gives each destination
its own public port, so the address a STUN server sees is not the one a peer
would see, and peering through it needs a TURN relay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import ipaddress
import socket
from collections.abc import Sequence

from proxystore.p2p.stun import StunError
from proxystore.p2p.stun import parse_stun_url
from proxystore.p2p.stun import stun_binding

__all__ = ['NatReport', 'NatType', 'check_nat', 'local_address_towards']


class NatType(enum.Enum):
    """How this host's traffic is mapped on its way out."""

    OPEN = 'no NAT (the public address is this host)'
    ENDPOINT_INDEPENDENT = 'NAT with endpoint-independent mapping (hole punching works)'
    SYMMETRIC = 'symmetric NAT (hole punching unlikely: use a TURN server)'
    UNKNOWN = 'unknown (give two STUN servers to tell mapping types apart)'


@dataclasses.dataclass(frozen=True)
class NatReport:
    """The result of `check_nat`."""

    nat_type: NatType
    local: tuple[str, int]
    """The socket's local address (as the host sees it)."""
    mapped: tuple[tuple[str, int], ...]
    """The address each STUN server saw, in order."""

    @property
    def public_address(self) -> str:
        """The public address the first server saw."""
        return self.mapped[0][0]

    def summary(self) -> str:
        """One line: the NAT type and the public address."""
        seen = ', '.join(f'{h}:{p}' for h, p in self.mapped)
        return (
            f'{self.nat_type.value}; local {self.local[0]}:{self.local[1]}, '
            f'seen as {seen}'
        )


def local_address_towards(host: str, port: int) -> str:
    """The local address the kernel would send from to reach ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, port))  # UDP: no packet is sent
        return str(probe.getsockname()[0])


async def check_nat(
    stun_urls: Sequence[str],
    *,
    source_port: int = 0,
    timeout: float = 1.0,
) -> NatReport:
    """Find the NAT type with one or more STUN servers (``stun:host:port``).

    All requests leave from one socket, so two servers that see different
    ports reveal a symmetric NAT.

    Raises:
        StunError: If a URL is invalid or a server does not answer.
    """
    if not stun_urls:
        raise StunError('check_nat needs at least one STUN server')
    servers = [parse_stun_url(url) for url in stun_urls]
    loop = asyncio.get_running_loop()
    first = servers[0]
    resolved = await loop.run_in_executor(None, socket.gethostbyname, first[0])
    local_host = local_address_towards(resolved, first[1])
    local, mapped = await stun_binding(
        first, local=(local_host, source_port), timeout=timeout
    )
    seen = [mapped]
    for server in servers[1:]:
        _, other = await stun_binding(server, local=local, timeout=timeout)
        seen.append(other)
    if ipaddress.ip_address(mapped[0]) == ipaddress.ip_address(local[0]) and (
        mapped[1] == local[1]
    ):
        nat_type = NatType.OPEN
    elif len(seen) < 2:
        nat_type = NatType.UNKNOWN
    elif len(set(seen)) == 1:
        nat_type = NatType.ENDPOINT_INDEPENDENT
    else:
        nat_type = NatType.SYMMETRIC
    return NatReport(nat_type, local, tuple(seen))
