"""SCTP packet sizes of peer connections: standard, or large where the path allows.

aiortc's SCTP carries at most 1,172 bytes of data per packet, a size that
crosses any Internet path without IP fragmentation. Its SCTP and DTLS are
written in Python, so every packet costs tens of microseconds of CPU: that
cost, not the network, bounds a peer connection at about 30 MB/s.

Where the path takes larger datagrams, larger packets move the same bytes for
a fraction of the CPU:

- on loopback (both endpoints on one host: every ICE candidate of a
  connection is a loopback address) packets of `LARGE_PACKET_BYTES` are used
  by default;
- elsewhere the standard size is kept unless the endpoint's configuration
  sets ``relay.peer_packet_bytes`` (a LAN with jumbo frames, or one whose
  hosts fragment and reassemble IP datagrams).

aiortc reads the packet size from a module constant, so the size applies to
the whole process: it is the smallest size that the process's open
connections allow. Receiving large packets needs nothing of the sender but
DTLS records read whole, which `widen_records` arranges for every connection.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

import aiortc.rtcsctptransport as sctp

__all__ = [
    'LARGE_PACKET_BYTES',
    'MAX_PACKET_BYTES',
    'STANDARD_PACKET_BYTES',
    'PacketSizes',
    'all_loopback',
    'packet_sizes',
    'widen_records',
]

logger = logging.getLogger(__name__)

STANDARD_PACKET_BYTES: int = sctp.USERDATA_MAX_LENGTH
"""aiortc's data per SCTP packet (fits the minimum IPv6 MTU)."""
MAX_PACKET_BYTES = 16_000
"""Most data per packet: an SCTP packet must fit one DTLS record (16 KiB)."""
LARGE_PACKET_BYTES = MAX_PACKET_BYTES
"""Data per packet on loopback paths."""
_RECORD_READ = 65536


def all_loopback(addresses: Iterable[str]) -> bool:
    """Whether every address is a loopback address (and there is one)."""
    seen = False
    for address in addresses:
        try:
            if not ipaddress.ip_address(address).is_loopback:
                return False
        except ValueError:
            return False  # a name (mDNS): not known to be loopback
        seen = True
    return seen


class _WholeRecords:
    """A DTLS connection whose reads take whole records (up to 64 KiB).

    aiortc reads at most 1,500 bytes per datagram from OpenSSL, which would cut
    a large packet's record short.
    """

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def recv(self, size: int) -> Any:
        return self._connection.recv(max(size, _RECORD_READ))

    def bio_read(self, size: int) -> Any:
        return self._connection.bio_read(max(size, _RECORD_READ))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def widen_records(dtls: Any) -> bool:
    """Make an established DTLS transport read and write whole records.

    Returns:
        Whether it was done (``False`` if this aiortc version differs).
    """
    connection = getattr(dtls, '_ssl', None)
    if connection is None or isinstance(connection, _WholeRecords):
        return isinstance(connection, _WholeRecords)
    if not hasattr(connection, 'recv') or not hasattr(connection, 'bio_read'):
        return False
    dtls._ssl = _WholeRecords(connection)
    return True


class PacketSizes:
    """The process's SCTP packet size: the smallest any open connection allows."""

    def __init__(self) -> None:
        self._allowed: dict[int, int] = {}
        self._lock = threading.Lock()
        self.supported = hasattr(sctp, 'USERDATA_MAX_LENGTH')

    @property
    def current(self) -> int:
        """Data bytes per packet now."""
        return int(getattr(sctp, 'USERDATA_MAX_LENGTH', STANDARD_PACKET_BYTES))

    def allow(self, owner: object, size: int) -> None:
        """Let ``owner`` (a connection) allow packets of ``size`` data bytes."""
        size = max(4, min(size, MAX_PACKET_BYTES)) // 4 * 4
        with self._lock:
            self._allowed[id(owner)] = size
            self._apply()

    def release(self, owner: object) -> None:
        """Forget ``owner``'s allowance (its connection closed)."""
        with self._lock:
            if self._allowed.pop(id(owner), None) is not None:
                self._apply()

    def _apply(self) -> None:
        size = min(self._allowed.values(), default=STANDARD_PACKET_BYTES)
        if self.supported and size != self.current:
            sctp.USERDATA_MAX_LENGTH = size
            logger.info('SCTP packets now carry up to %d bytes', size)


packet_sizes = PacketSizes()
"""The process's packet sizes."""


def _renew_lock_in_child() -> None:
    # A thread of the parent may have held it when another thread forked.
    packet_sizes._lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_lock_in_child)
