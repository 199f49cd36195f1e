"""Frames of one message, in any order, make that message or none at all.

A `PeerConnection` (a real aiortc peer connection, never negotiated here)
is fed frames as its data channels would deliver them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration

from proxystore.p2p.connection import FRAME
from proxystore.p2p.connection import PeerConnection
from proxystore.p2p.connection import split_frames

MESSAGE = bytes(random.Random(7).randbytes(40_000))
FRAME_BYTES = 4096


class Receiver:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.connection = PeerConnection(
            uuid.uuid4(),
            'session',
            initiator=False,
            channels=1,
            configuration=RTCConfiguration(iceServers=[]),
            max_message=1 << 20,
            on_message=lambda _, message: self.messages.append(bytes(message)),
            on_oversized=lambda _, data: None,
            on_closed=lambda _, error: None,
        )

    def feed(self, frames: list[bytes]) -> None:
        for frame in frames:
            self.connection._receive(frame)

    async def close(self) -> None:
        await self.connection.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    yield receiver
    await receiver.close()


def frames(message_id: int = 1) -> list[bytes]:
    return list(split_frames(message_id, [MESSAGE], frame_bytes=FRAME_BYTES))


async def test_frames_in_any_order(receiver: Receiver) -> None:
    shuffled = frames()
    random.Random(1).shuffle(shuffled)
    receiver.feed(shuffled)
    assert receiver.messages == [MESSAGE]


async def test_a_duplicated_frame_never_completes_a_message_with_holes(
    receiver: Receiver,
) -> None:
    sent = frames()
    assert len(sent) > 3
    # The second frame twice instead of the last: counted twice, the bytes
    # would have added up and the message come out with a hole of zeros.
    receiver.feed([*sent[:2], sent[1], *sent[2:-1]])
    receiver.feed(sent[-1:])
    assert receiver.messages == []


async def test_a_frame_of_another_length_drops_the_message(receiver: Receiver) -> None:
    sent = frames()
    version, message_id, total, offset = FRAME.unpack_from(sent[1])
    longer = (
        FRAME.pack(version, message_id, total + 100_000, offset) + sent[1][FRAME.size :]
    )
    receiver.feed([sent[0], longer, *sent[2:]])
    assert receiver.messages == []


async def test_overlapping_frames_drop_the_message(receiver: Receiver) -> None:
    sent = frames()
    version, message_id, total, offset = FRAME.unpack_from(sent[1])
    shifted = (
        FRAME.pack(version, message_id, total, offset + 10) + sent[1][FRAME.size : -10]
    )
    receiver.feed([sent[0], shifted, *sent[1:]])
    assert receiver.messages == []


async def test_other_messages_go_on_after_a_dropped_one(receiver: Receiver) -> None:
    sent = frames(1)
    receiver.feed([sent[0], sent[0]])  # message 1 dropped
    receiver.feed(sent[1:])  # its late frames are ignored
    receiver.feed(frames(2))
    assert receiver.messages == [MESSAGE]
    assert receiver.connection._assembling == 0
