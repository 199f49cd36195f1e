"""`PeerConnection`: a WebRTC connection to a peer endpoint, and message framing.

A message is cut into frames of at most `FRAME_BYTES`, each with a header
(frame format version, message id, message length, offset), sent round-robin
over the connection's data channels. A channel whose send buffer holds more
than `HIGH_WATER` bytes is waited on until it drains below `LOW_WATER`
(``bufferedamountlow``), so a large object never piles up in memory. The
receiver writes each frame at its offset in a buffer of the message's length
and hands the message on once every byte has arrived; a message longer than
its limit is refused from its first frame.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import itertools
import logging
import struct
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

from aiortc import RTCConfiguration
from aiortc import RTCDataChannel
from aiortc import RTCPeerConnection
from aiortc import RTCSessionDescription

from proxystore.p2p.exceptions import PeerTimeoutError
from proxystore.p2p.exceptions import PeerUnreachableError
from proxystore.p2p.exceptions import SupersededError
from proxystore.p2p.packets import LARGE_PACKET_BYTES
from proxystore.p2p.packets import STANDARD_PACKET_BYTES
from proxystore.p2p.packets import all_loopback
from proxystore.p2p.packets import packet_sizes
from proxystore.p2p.packets import widen_records

__all__ = [
    'FRAME',
    'FRAME_BYTES',
    'HIGH_WATER',
    'LOW_WATER',
    'PeerConnection',
    'SupersededError',
    'split_frames',
]

logger = logging.getLogger(__name__)

FRAME = struct.Struct('!BxxxQQQ')
"""Frame header: format version, message id, message length, offset."""
FRAME_VERSION = 1
FRAME_BYTES = 64 * 1024
"""Largest frame (the message size every WebRTC stack accepts)."""
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024
MAX_ASSEMBLIES = 256
"""Messages of one peer being received at once, at most."""
ASSEMBLY_BUDGET = 4
"""Bytes of one peer's messages being received at once, in largest messages."""

Payload = bytes | bytearray | memoryview


def split_frames(
    message_id: int, parts: Sequence[Payload], frame_bytes: int = FRAME_BYTES
) -> Iterator[bytes]:
    """The frames of the message made of ``parts`` (joined, without a copy first)."""
    views = [memoryview(p).cast('B') for p in parts]
    total = sum(v.nbytes for v in views)
    room = frame_bytes - FRAME.size
    offset = 0
    index = 0
    position = 0  # within views[index]
    while True:
        pieces: list[Payload] = [FRAME.pack(FRAME_VERSION, message_id, total, offset)]
        size = 0
        while size < room and index < len(views):
            view = views[index]
            take = min(room - size, view.nbytes - position)
            pieces.append(view[position : position + take])
            size += take
            position += take
            if position == view.nbytes:
                index += 1
                position = 0
        yield b''.join(pieces)
        offset += size
        if offset >= total:
            return


MIN_FRAME_DATA = 1024
"""Fewest data bytes in a frame of a message sent in several (the last frame
excepted): bounds the frames one message may take, hence the bookkeeping."""


class _Assembly:
    """A message being received: its buffer and the ranges filled so far.

    Frames of one message come over several channels, so in any order; each
    must fill a range no other frame filled, or the message would complete
    with holes (a duplicated frame counted twice).
    """

    __slots__ = ('buffer', 'ends', 'received', 'started', 'starts', 'total')

    def __init__(self, total: int) -> None:
        self.total = total
        self.buffer = bytearray(total)
        self.received = 0
        self.started = time.monotonic()
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, offset: int, data: memoryview) -> bool:
        """Fill ``data`` at ``offset``; `False` if the range overlaps another.

        The caller checked that the range lies within the message.
        """
        end = offset + data.nbytes
        index = bisect.bisect_right(self.starts, offset)
        if index > 0 and self.ends[index - 1] > offset:
            return False
        if index < len(self.starts) and self.starts[index] < end:
            return False
        if len(self.starts) > self.total // MIN_FRAME_DATA + 1:
            return False
        self.starts.insert(index, offset)
        self.ends.insert(index, end)
        self.buffer[offset:end] = data
        self.received += data.nbytes
        return True


class PeerConnection:
    """A WebRTC connection to one peer endpoint.

    Args:
        peer: The peer's UUID.
        session: Id of this connection attempt (shared with the peer).
        initiator: Whether this side makes the offer (and the channels).
        channels: Data channels to open (initiator only; the other side uses
            the channels the initiator opened).
        configuration: ICE settings.
        max_message: Longest message accepted from the peer.
        on_message: Called with each complete message from the peer.
        on_oversized: Called with the first frame's data (header and key) of
            a message longer than ``max_message`` (it is not received).
        on_closed: Called once when the connection ends, with the reason.
        packet_bytes: Data bytes per SCTP packet (``None``: large packets on
            loopback paths, the standard size elsewhere; see
            `proxystore.p2p.packets`).
    """

    def __init__(
        self,
        peer: uuid.UUID,
        session: str,
        *,
        initiator: bool,
        channels: int,
        configuration: RTCConfiguration,
        max_message: int,
        on_message: Callable[[PeerConnection, bytearray], None],
        on_oversized: Callable[[PeerConnection, bytes], None],
        on_closed: Callable[[PeerConnection, Exception], None],
        packet_bytes: int | None = None,
    ) -> None:
        self.peer = peer
        self.session = session
        self.initiator = initiator
        self.channel_count = channels
        self.max_message = max_message
        self.packet_bytes = packet_bytes
        self._whole_records = False
        self._on_message = on_message
        self._on_oversized = on_oversized
        self._on_closed = on_closed
        self._pc = RTCPeerConnection(configuration)
        self._channels: list[RTCDataChannel] = []
        self._drained: dict[int, asyncio.Event] = {}
        self._next_channel = itertools.count()
        self._message_ids = itertools.count(1)
        self._assemblies: dict[int, _Assembly] = {}
        self._assembling = 0
        self._refused: collections.OrderedDict[int, None] = collections.OrderedDict()
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.error: Exception | None = None
        self._closing: asyncio.Task[None] | None = None
        self.last_activity = time.monotonic()
        """When a frame last came from the peer (monotonic seconds)."""
        self._pc.on('connectionstatechange', self._state_changed)
        self._pc.on('datachannel', self._add_channel)

    def __repr__(self) -> str:
        state = 'closed' if self.closed else ('open' if self.is_ready else 'opening')
        return (
            f'PeerConnection(peer={self.peer}, {state}, channels={len(self._channels)})'
        )

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self.error is not None

    @property
    def is_ready(self) -> bool:
        """Whether the connection is open for messages."""
        return self.ready.done() and not self.ready.exception() and not self.closed

    @property
    def open_channels(self) -> int:
        """Data channels open to the peer."""
        return len(self._channels)

    @property
    def ice_state(self) -> str:
        """The ICE connection state (for messages)."""
        return str(self._pc.iceConnectionState)

    # --- signaling ------------------------------------------------------------------

    async def make_offer(self) -> str:
        """Open the data channels and return this side's offer (SDP)."""
        for index in range(self.channel_count):
            channel = self._pc.createDataChannel(f'proxystore-{index}')
            self._add_channel(channel)
        self._watch_dtls()
        await self._pc.setLocalDescription(await self._pc.createOffer())
        return str(self._pc.localDescription.sdp)

    async def accept_offer(self, sdp: str) -> str:
        """Take the peer's offer and return this side's answer (SDP)."""
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp, 'offer'))
        self._watch_dtls()
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        return str(self._pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        """Take the peer's answer to this side's offer."""
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp, 'answer'))

    # --- packets --------------------------------------------------------------------

    def _watch_dtls(self) -> None:
        """Read DTLS records whole once the handshake is done (large packets)."""
        sctp_transport = self._pc.sctp
        if sctp_transport is None:
            return
        dtls = sctp_transport.transport

        def changed() -> None:
            if dtls.state == 'connected':
                self._whole_records = widen_records(dtls)
                if not self._whole_records:
                    logger.info('this aiortc keeps DTLS reads of 1500 bytes')

        dtls.on('statechange', changed)
        changed()

    def path_is_loopback(self) -> bool:
        """Whether every ICE candidate, local and remote, is a loopback address."""
        if self._pc.sctp is None:
            return False
        ice = self._pc.sctp.transport.transport
        addresses = [c.ip for c in ice.iceGatherer.getLocalCandidates()]
        addresses += [c.ip for c in ice.getRemoteCandidates()]
        return all_loopback(addresses)

    def _choose_packets(self) -> None:
        size = self.packet_bytes
        if size is None:
            large = self._whole_records and self.path_is_loopback()
            size = LARGE_PACKET_BYTES if large else STANDARD_PACKET_BYTES
        packet_sizes.allow(self, size)

    # --- channels -------------------------------------------------------------------

    def _add_channel(self, channel: RTCDataChannel) -> None:
        channel.bufferedAmountLowThreshold = LOW_WATER
        drained = asyncio.Event()
        self._drained[id(channel)] = drained
        channel.on('bufferedamountlow', drained.set)
        channel.on('message', self._receive)
        channel.on('open', lambda: self._opened(channel))
        channel.on('close', lambda: self._channel_closed(channel))
        if channel.readyState == 'open':
            self._opened(channel)

    def _opened(self, channel: RTCDataChannel) -> None:
        if channel not in self._channels:
            self._channels.append(channel)
        # The initiator waits for all its channels; the answerer for the first.
        wanted = self.channel_count if self.initiator else 1
        if len(self._channels) >= wanted and not self.ready.done():
            self._choose_packets()
            self.ready.set_result(None)
            logger.info(
                'connected to endpoint %s (%d channels)', self.peer, len(self._channels)
            )

    def _channel_closed(self, channel: RTCDataChannel) -> None:
        if channel in self._channels:
            self._channels.remove(channel)
        self._drained.pop(id(channel), asyncio.Event()).set()
        if not self._channels and self.ready.done():
            self.fail(
                PeerUnreachableError(
                    f'the data channels to endpoint {self.peer} closed'
                )
            )

    async def _state_changed(self) -> None:
        state = self._pc.connectionState
        if state in ('failed', 'closed'):
            self.fail(
                PeerUnreachableError(
                    f'the connection to endpoint {self.peer} {state} '
                    f'(ICE state {self._pc.iceConnectionState})'
                )
            )

    # --- sending --------------------------------------------------------------------

    async def send(
        self,
        parts: Sequence[Payload],
        *,
        timeout: float,
        abort: asyncio.Future[Any] | None = None,
    ) -> None:
        """Send one message, framed across the channels with backpressure.

        Args:
            parts: The message, as buffers to join.
            timeout: Most seconds to wait for a channel to drain.
            abort: Stop sending once this future is done (the peer answered).

        Raises:
            PeerUnreachableError: If the connection is or becomes closed.
            PeerTimeoutError: If a channel does not drain within ``timeout``.
        """
        message_id = next(self._message_ids)
        for frame in split_frames(message_id, parts):
            if abort is not None and abort.done():
                return
            channel = await self._writable_channel(timeout)
            channel.send(frame)

    async def _writable_channel(self, timeout: float) -> RTCDataChannel:
        deadline = time.monotonic() + timeout
        while True:
            if self.error is not None:
                raise self.error
            if not self._channels:
                raise PeerUnreachableError(
                    f'no open data channel to endpoint {self.peer}'
                )
            channel = self._channels[next(self._next_channel) % len(self._channels)]
            if channel.bufferedAmount <= HIGH_WATER and channel.readyState == 'open':
                return channel
            drained = self._drained.get(id(channel))
            remaining = deadline - time.monotonic()
            if drained is None or remaining <= 0:
                raise PeerTimeoutError(
                    f'endpoint {self.peer} took no data for {timeout} s '
                    f'({channel.bufferedAmount} bytes waiting)'
                )
            drained.clear()
            try:
                await asyncio.wait_for(drained.wait(), remaining)
            except TimeoutError:
                continue

    # --- receiving ------------------------------------------------------------------

    def _receive(self, frame: bytes | str) -> None:
        self.last_activity = time.monotonic()
        if isinstance(frame, str) or len(frame) < FRAME.size:
            logger.warning('dropping a malformed frame from endpoint %s', self.peer)
            return
        version, message_id, total, offset = FRAME.unpack_from(frame)
        data = memoryview(frame)[FRAME.size :]
        end = offset + data.nbytes
        if version != FRAME_VERSION or end > total:
            logger.warning('dropping an invalid frame from endpoint %s', self.peer)
            return
        if total > self.max_message:
            self._refuse(message_id, offset, bytes(data))
            return
        if message_id in self._refused:
            return
        assembly = self._assemblies.get(message_id)
        if assembly is None:
            if total == data.nbytes:  # the whole message in one frame
                self._on_message(self, bytearray(data))
                return
            budget = ASSEMBLY_BUDGET * self.max_message
            if (
                len(self._assemblies) >= MAX_ASSEMBLIES
                or self._assembling + total > budget
            ):
                logger.warning(
                    'endpoint %s has too much in flight; dropping a message',
                    self.peer,
                )
                self._refused[message_id] = None
                return
            assembly = self._assemblies[message_id] = _Assembly(total)
            self._assembling += total
        if total != assembly.total or not data.nbytes or not assembly.add(offset, data):
            # Another length, an empty frame or a range already filled: not
            # what a sender of this format makes. The message is dropped.
            logger.warning(
                'dropping message %d from endpoint %s: a frame of another '
                'length or overlapping another frame',
                message_id,
                self.peer,
            )
            del self._assemblies[message_id]
            self._assembling -= assembly.total
            self._refused[message_id] = None
            while len(self._refused) > MAX_ASSEMBLIES:
                self._refused.popitem(last=False)
            return
        if assembly.received == assembly.total:
            del self._assemblies[message_id]
            self._assembling -= assembly.total
            self._on_message(self, assembly.buffer)

    def _refuse(self, message_id: int, offset: int, data: bytes) -> None:
        if message_id not in self._refused:
            self._refused[message_id] = None
            while len(self._refused) > MAX_ASSEMBLIES:
                self._refused.popitem(last=False)
        if offset == 0:
            self._on_oversized(self, data)

    # --- closing --------------------------------------------------------------------

    def fail(self, error: Exception) -> None:
        """End the connection with ``error`` (waiters and senders raise it)."""
        if self.error is not None:
            return
        self.error = error
        if not self.ready.done():
            self.ready.set_exception(error)
            self.ready.exception()  # retrieved: no "never retrieved" warning
        for event in self._drained.values():
            event.set()
        self._assemblies.clear()
        self._assembling = 0
        packet_sizes.release(self)
        logger.info('connection to endpoint %s ended: %s', self.peer, error)
        self._on_closed(self, error)
        self._closing = asyncio.get_running_loop().create_task(self._pc.close())

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self.error is None:
            self.fail(
                PeerUnreachableError(
                    f'the connection to endpoint {self.peer} was closed'
                )
            )
        if self._closing is not None:
            await self._closing
