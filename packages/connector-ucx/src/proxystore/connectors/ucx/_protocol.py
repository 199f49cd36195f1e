"""What client and server say to each other: the control handshake and UCX messages.

A client opens a TCP connection to the server's address and port (the control
connection), sends its UCX worker address and gets the server's back, with a
client number. Each side then makes a UCX endpoint to the other's worker: there
is no UCX listener, so UCX is free to pick shared memory within a node. The
control connection stays open, idle, for as long as the client is connected:
its end tells either side that the other is gone, whatever UCX's error
handling (on by default: see ``UCXConnector``'s ``error_handling``).

A server given a token answers the hello with a challenge instead (a welcome
of status ``CHALLENGE``, then a random nonce and the server's id); the client
proves it knows the token with `proof` of the nonce, the server's id and its
own hello, and only then gets the server's worker address. Once per control
connection: requests carry no authentication of their own.

Requests, replies and object bytes are UCX tagged messages. A tag is
``kind (8 bits) | client (24 bits) | sequence (32 bits)``; a request takes a
block of sequence numbers, one for itself and one for each payload or data
message that goes with it, so every message of a request has a tag of its own.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import struct
from collections.abc import Iterator
from collections.abc import Sequence
from typing import NamedTuple

from proxystore.connectors.ucx.exceptions import UCXProtocolError

MAGIC = b'PSUX'
VERSION = 2

HELLO = struct.Struct('!4sHHI')
"""Client to server: magic, version, flags, length of the worker address."""
WELCOME = struct.Struct('!4sHHIII')
"""Server to client: magic, version, status, client number, server pid, length of
the server's worker address (0 for a ping)."""
STATS = struct.Struct('!QQ')
"""After the welcome of a ping: objects held, bytes held."""

FLAG_PING = 1
"""A hello that only asks whether a server answers (and its stats)."""
FLAG_ERROR_HANDLING = 2
"""The client's endpoint has UCX error handling on; the server's must match."""


class Welcome(enum.IntEnum):
    """Status of a welcome."""

    OK = 0
    VERSION_MISMATCH = 1
    SHUTTING_DOWN = 2
    CHALLENGE = 3
    """The server has a token: a `CHALLENGE` follows, the client answers a proof."""
    REFUSED = 4
    """The proof was wrong: the server closes the connection."""


CHALLENGE = struct.Struct('!32s16s')
"""After a welcome of status ``CHALLENGE``: a random nonce, the server's id."""
PROOF = struct.Struct('!32s')
"""Client to server, after a challenge: `proof` (HMAC-SHA256)."""
AUTH_LABEL = b'proxystore-ucx-control-v1'
"""What the token's authentication key is derived for (no other use shares it)."""


def auth_key(token: bytes) -> bytes:
    """The key of the control connection's proofs, derived from a token."""
    return hmac.new(token, AUTH_LABEL, hashlib.sha256).digest()


def proof(key: bytes, nonce: bytes, server_id: bytes, hello: bytes) -> bytes:
    """HMAC of a challenge (nonce and server id) and the client's whole hello.

    The hello (flags and worker address) is covered so that a proof relayed
    by someone in the middle cannot vouch for another worker address.
    """
    return hmac.new(key, nonce + server_id + hello, hashlib.sha256).digest()


INLINE = 8192
"""Objects this small travel inside the request or reply message."""


class Kind(enum.IntEnum):
    """The kind of a UCX message, in the top byte of its tag."""

    REQUEST = 1
    PAYLOAD = 2
    REPLY = 3
    DATA = 4
    """An object of the size the client expected: it posted the receive early."""
    DATA_OTHER_SIZE = 5
    """An object whose size the client did not know: it receives after the reply."""


KIND_MASK = 0xFF << 56


def tag(kind: Kind, client: int, sequence: int) -> int:
    """The tag of one message."""
    return (kind << 56) | ((client & 0xFFFFFF) << 32) | (sequence & 0xFFFFFFFF)


def split_tag(value: int) -> tuple[int, int, int]:
    """``(kind, client, sequence)`` of a tag."""
    return value >> 56, (value >> 32) & 0xFFFFFF, value & 0xFFFFFFFF


class Op(enum.IntEnum):
    """A request's operation."""

    PUT = 1
    GET = 2
    EXISTS = 3
    EVICT = 4
    LIST = 5
    """What the server holds: the reply tells how many objects and the size of
    the listing, which follows as a ``DATA_OTHER_SIZE`` message."""


class Status(enum.IntEnum):
    """A reply's status."""

    OK = 0
    BAD_REQUEST = 1
    FULL = 2
    """A put that does not fit the server's capacity (its text says why)."""


HEADER = struct.Struct('!BBHI')
"""Request and reply header: op or status, version, reserved, entry count."""
OBJECT_ID = 16
PUT_ENTRY = struct.Struct('!16sQI')
"""Object id, total size, frame count; the frame sizes (``!Q`` each) follow."""
FRAME = struct.Struct('!Q')
GET_ENTRY = struct.Struct('!16sq')
"""Object id, the size the client expects (``-1``: not known)."""
LIST_ENTRY = struct.Struct('!16sQB')
"""One object of a listing: id, size, whether it is spilled to disk."""
SIZE = struct.Struct('!q')
"""Per entry of a get reply: the object's size, ``-1`` when missing."""


ProtocolError = UCXProtocolError
"""A message that does not follow this module's format (`UCXProtocolError`)."""


def prepost(expected: int) -> bool:
    """Whether a get posts its receive before the reply (large, size known)."""
    return expected > INLINE


def inline(expected: int, actual: int) -> bool:
    """Whether a get reply carries the object in itself.

    Both sides apply the same rule: the client sized its reply buffer for the
    objects it expects inline, so only an object of exactly that size may be.
    """
    return 0 <= actual <= INLINE and expected == actual


class PutEntry(NamedTuple):
    """One object of a put request."""

    object_id: bytes
    size: int
    frames: tuple[int, ...]


def encode_put(entries: Sequence[PutEntry], inline_data: Sequence[bytes]) -> bytes:
    """A put request; ``inline_data`` are the small objects' bytes, in order."""
    parts = [HEADER.pack(Op.PUT, VERSION, 0, len(entries))]
    for entry in entries:
        parts.append(PUT_ENTRY.pack(entry.object_id, entry.size, len(entry.frames)))
        parts.extend(FRAME.pack(size) for size in entry.frames)
    parts.extend(inline_data)
    return b''.join(parts)


def encode_ids(op: Op, ids: Sequence[bytes]) -> bytes:
    """An exists or evict request."""
    return HEADER.pack(op, VERSION, 0, len(ids)) + b''.join(ids)


def encode_get(entries: Sequence[tuple[bytes, int]]) -> bytes:
    """A get request of ``(object id, expected size)`` entries."""
    return HEADER.pack(Op.GET, VERSION, 0, len(entries)) + b''.join(
        GET_ENTRY.pack(object_id, size) for object_id, size in entries
    )


def encode_list() -> bytes:
    """A list request."""
    return HEADER.pack(Op.LIST, VERSION, 0, 0)


def encode_listing(entries: Sequence[tuple[bytes, int, bool]]) -> bytes:
    """The listing that follows a list reply."""
    return b''.join(
        LIST_ENTRY.pack(object_id, size, spilled)
        for object_id, size, spilled in entries
    )


def decode_listing(message: memoryview, count: int) -> list[tuple[bytes, int, bool]]:
    """The ``(object id, size, spilled)`` entries of a listing.

    Raises:
        ProtocolError: If the listing is not ``count`` entries long, or a
            spilled flag is neither 0 nor 1.
    """
    if len(message) != count * LIST_ENTRY.size:
        raise ProtocolError(
            f'a listing of {count} objects has {len(message)} bytes, not '
            f'{count * LIST_ENTRY.size}'
        )
    entries = []
    for object_id, size, spilled in LIST_ENTRY.iter_unpack(message):
        if spilled not in (0, 1):
            raise ProtocolError(f'a listing entry with spilled flag {spilled}')
        entries.append((bytes(object_id), size, bool(spilled)))
    return entries


def decode_header(message: memoryview) -> tuple[int, int]:
    """``(op or status, entry count)`` of a request or reply."""
    if len(message) < HEADER.size:
        raise ProtocolError(f'a message of {len(message)} bytes has no header')
    code, version, _, count = HEADER.unpack_from(message)
    if version != VERSION:
        raise ProtocolError(f'protocol version {version}, expected {VERSION}')
    return code, count


def decode_put(message: memoryview, count: int) -> tuple[list[PutEntry], int]:
    """The entries of a put request and the offset of its inline bytes."""
    offset = HEADER.size
    entries = []
    try:
        for _ in range(count):
            object_id, size, frames = PUT_ENTRY.unpack_from(message, offset)
            offset += PUT_ENTRY.size
            sizes = tuple(
                FRAME.unpack_from(message, offset + i * FRAME.size)[0]
                for i in range(frames)
            )
            offset += frames * FRAME.size
            if sum(sizes) != size:
                raise ProtocolError('frame sizes do not add up to the object size')
            entries.append(PutEntry(object_id, size, sizes))
    except struct.error as error:
        raise ProtocolError(f'truncated put request: {error}') from None
    return entries, offset


def decode_ids(message: memoryview, count: int) -> list[bytes]:
    """The object ids of an exists or evict request."""
    end = HEADER.size + count * OBJECT_ID
    if len(message) != end:
        raise ProtocolError(f'{count} ids need {end} bytes, not {len(message)}')
    return [
        bytes(message[offset : offset + OBJECT_ID])
        for offset in range(HEADER.size, end, OBJECT_ID)
    ]


def decode_get(message: memoryview, count: int) -> list[tuple[bytes, int]]:
    """The ``(object id, expected size)`` entries of a get request."""
    if len(message) != HEADER.size + count * GET_ENTRY.size:
        raise ProtocolError(f'a get of {count} keys has {len(message)} bytes')
    return list(GET_ENTRY.iter_unpack(message[HEADER.size :]))


def iter_sizes(message: memoryview, count: int) -> Iterator[int]:
    """The per-entry sizes of a get reply.

    Raises:
        ProtocolError: If the reply is too short for ``count`` sizes, or a
            size is below ``-1`` (missing).
    """
    if len(message) < HEADER.size + count * SIZE.size:
        raise ProtocolError(
            f'a get reply of {len(message)} bytes is too short for {count} sizes'
        )
    for index in range(count):
        size: int = SIZE.unpack_from(message, HEADER.size + index * SIZE.size)[0]
        if size < -1:
            raise ProtocolError(f'a get reply gives entry {index} a size of {size}')
        yield size
