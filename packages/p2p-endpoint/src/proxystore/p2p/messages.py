"""The messages endpoints exchange over their peer connections.

A message is a fixed binary header, the key, and the payload::

    magic 'PSP' | version u8 | kind u8 | op u8 | status u8 | reserved u8 |
    request id u64 | key length u16 | payload length u64 | key (UTF-8) | payload

(network byte order, 26 bytes of header). Payloads are raw object bytes, or
UTF-8 error text; nothing is ever unpickled. A message that does not parse
raises `PeerMessageError` and is dropped.
"""

from __future__ import annotations

import dataclasses
import enum
import struct

from proxystore.p2p.exceptions import PeerMessageError

__all__ = [
    'HEADER',
    'MAX_KEY_BYTES',
    'VERSION',
    'Kind',
    'Op',
    'PeerMessage',
    'PeerMessageError',
    'Status',
    'decode',
    'decode_header',
    'encode',
]

MAGIC = b'PSP'
VERSION = 1
HEADER = struct.Struct('!3sBBBBxQHQ')
MAX_KEY_BYTES = 4096

Payload = bytes | bytearray | memoryview


class Kind(enum.IntEnum):
    """Whether a message asks or answers."""

    REQUEST = 0
    RESPONSE = 1


class Op(enum.IntEnum):
    """The operation a request asks for."""

    GET = 1
    SET = 2
    EXISTS = 3
    EVICT = 4
    PING = 5


class Status(enum.IntEnum):
    """The outcome a response reports (requests carry ``OK``)."""

    OK = 0
    NOT_FOUND = 1
    """``get``: no such object; ``exists``: false."""
    ERROR = 2
    """The payload is the error's text."""
    TOO_LARGE = 3
    """The object exceeds the peer's size limit; the payload is the text."""


@dataclasses.dataclass(frozen=True)
class PeerMessage:
    """A request or a response between endpoints."""

    kind: Kind
    op: Op
    request_id: int
    key: str
    status: Status = Status.OK
    payload: Payload = b''

    def text(self) -> str:
        """The payload as text (for ``ERROR`` and ``TOO_LARGE``)."""
        return bytes(self.payload).decode('utf-8', errors='replace')


def encode(message: PeerMessage) -> list[Payload]:
    """The message as buffers: the header with the key, then the payload."""
    key = message.key.encode()
    if len(key) > MAX_KEY_BYTES:
        raise PeerMessageError(f'key of {len(key)} bytes exceeds {MAX_KEY_BYTES} bytes')
    payload = memoryview(message.payload).cast('B')
    header = HEADER.pack(
        MAGIC,
        VERSION,
        message.kind,
        message.op,
        message.status,
        message.request_id,
        len(key),
        payload.nbytes,
    )
    return [header + key, payload]


def decode_header(data: Payload) -> tuple[PeerMessage, int]:
    """The header and key of a message (payload left empty), and the payload size.

    ``data`` needs to hold only the header and the key.

    Raises:
        PeerMessageError: If the header or the key is not valid.
    """
    view = memoryview(data).cast('B')
    if view.nbytes < HEADER.size:
        raise PeerMessageError(
            f'message of {view.nbytes} bytes is shorter than a header'
        )
    magic, version, kind, op, status, request_id, key_size, payload_size = (
        HEADER.unpack_from(view)
    )
    if magic != MAGIC:
        raise PeerMessageError('not a ProxyStore peer message (bad magic)')
    if version != VERSION:
        raise PeerMessageError(
            f'peer message version {version} is not supported '
            f'(this endpoint speaks {VERSION})'
        )
    try:
        kind, op, status = Kind(kind), Op(op), Status(status)
    except ValueError as error:
        raise PeerMessageError(f'invalid peer message header: {error}') from None
    if key_size > MAX_KEY_BYTES or view.nbytes < HEADER.size + key_size:
        raise PeerMessageError('peer message key is truncated or too long')
    try:
        key = bytes(view[HEADER.size : HEADER.size + key_size]).decode()
    except UnicodeDecodeError:
        raise PeerMessageError('peer message key is not UTF-8') from None
    return PeerMessage(kind, op, request_id, key, status), payload_size


def decode(data: Payload) -> PeerMessage:
    """Parse a whole message; its payload is a view of ``data`` (no copy).

    Raises:
        PeerMessageError: If the message is not valid or its length is wrong.
    """
    header, payload_size = decode_header(data)
    view = memoryview(data).cast('B')
    start = HEADER.size + len(header.key.encode())
    if view.nbytes != start + payload_size:
        raise PeerMessageError(
            f'peer message is {view.nbytes} bytes but its header says '
            f'{start + payload_size}'
        )
    return dataclasses.replace(header, payload=view[start:])
