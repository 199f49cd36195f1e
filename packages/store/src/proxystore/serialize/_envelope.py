"""The payload envelope: a small versioned header, then the frames.

Layout (integers little-endian)::

    offset  size  field
    0       2     magic b'PS'
    2       1     format version (1)
    3       1     flags (bit 0: authenticated)
    4       2     serializer id, two ASCII bytes
    6       2     number of frames, n
    8       8*n   length of each frame
    ...     32    HMAC-SHA256 tag, only when authenticated
    ...           frame 0, then each later frame at an offset aligned to 64 bytes

Frame 0 follows the header at once; the later frames (out-of-band buffers such as
numpy data) start on 64-byte boundaries, so that arrays built on them are aligned.
The tag covers the header (without the tag) and every frame, and is checked before
anything is deserialized.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import struct
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import Union

from proxystore.serialize._errors import AuthenticationError
from proxystore.serialize._errors import CorruptPayloadError

__all__ = ['MAGIC', 'VERSION', 'Envelope', 'Payload', 'open_envelope', 'seal']

MAGIC = b'PS'
VERSION = 1
ALIGN = 64
TAG_SIZE = 32
_FLAG_AUTHENTICATED = 0x01
_FIXED = struct.Struct('<2sBB2sH')
_LENGTH = struct.Struct('<Q')
_PADDING = bytes(ALIGN)

Buffer = Union[bytes, bytearray, memoryview]  # noqa: UP007


def _padding(offset: int) -> int:
    return -offset % ALIGN


@dataclasses.dataclass(frozen=True)
class Payload:
    """A serialized object as a list of buffers, ready to write without joining.

    ``buffers`` are, in order, the header and the frames with their alignment
    padding; writing them one after the other (``writev``, a copy into shared
    memory) produces the same bytes as `join`.
    """

    serializer_id: bytes
    buffers: tuple[Buffer, ...]
    nbytes: int

    def join(self) -> bytes:
        """The payload as one contiguous bytes object (one copy)."""
        return b''.join(self.buffers)


def _tag(secret: bytes, header: Buffer, frames: Sequence[Buffer]) -> bytes:
    mac = hmac.new(secret, header, hashlib.sha256)
    for frame in frames:
        mac.update(frame)
    return mac.digest()


def seal(
    serializer_id: bytes,
    frames: Sequence[Buffer],
    *,
    secret: bytes | None = None,
) -> Payload:
    """Put frames in an envelope, authenticated when a secret is given."""
    if len(serializer_id) != 2:
        raise ValueError(f'serializer id must be 2 bytes, got {serializer_id!r}')
    flags = _FLAG_AUTHENTICATED if secret is not None else 0
    views = [memoryview(f).cast('B') if not isinstance(f, bytes) else f for f in frames]
    header = bytearray(_FIXED.pack(MAGIC, VERSION, flags, serializer_id, len(views)))
    for view in views:
        header += _LENGTH.pack(len(view))
    if secret is not None:
        header += _tag(secret, header, views)
    buffers: list[Buffer] = [bytes(header)]
    offset = len(header)
    for i, view in enumerate(views):
        if i > 0:
            pad = _padding(offset)
            if pad:
                buffers.append(_PADDING[:pad])
                offset += pad
        buffers.append(view)
        offset += len(view)
    return Payload(serializer_id, tuple(buffers), offset)


class Envelope(NamedTuple):
    """A parsed payload: its serializer id and zero-copy views of its frames."""

    serializer_id: bytes
    frames: list[memoryview]
    authenticated: bool


@functools.lru_cache(maxsize=64)
def _lengths(count: int) -> struct.Struct:
    return struct.Struct(f'<{count}Q')


def open_envelope(data: Any, *, secret: bytes | None = None) -> Envelope:
    """Parse a payload and check its tag; frames are views of ``data``.

    Raises:
        CorruptPayloadError: If ``data`` is not a well-formed payload.
        AuthenticationError: If the payload's authentication does not match the
            secret (see `AuthenticationError`).
    """
    view = memoryview(data)
    if view.format != 'B' or view.ndim != 1:
        view = view.cast('B')
    size = len(view)
    if size < _FIXED.size:
        raise CorruptPayloadError(
            f'Payload is truncated: {size} bytes is shorter than the '
            f'{_FIXED.size}-byte header.',
        )
    magic, version, flags, serializer_id, count = _FIXED.unpack_from(view)
    if magic != MAGIC:
        raise CorruptPayloadError(
            f'Not a ProxyStore payload: it starts with {bytes(view[:2])!r}, '
            f'not {MAGIC!r}.',
        )
    if version != VERSION:
        raise CorruptPayloadError(
            f'Unsupported payload format version {version}; this version of '
            f'ProxyStore reads version {VERSION}.',
        )
    authenticated = bool(flags & _FLAG_AUTHENTICATED)
    lengths_end = _FIXED.size + count * _LENGTH.size
    header_end = lengths_end + (TAG_SIZE if authenticated else 0)
    if size < header_end:
        raise CorruptPayloadError(
            f'Payload is truncated: {size} bytes is shorter than its '
            f'{header_end}-byte header.',
        )
    lengths = _lengths(count).unpack_from(view, _FIXED.size)
    frames = []
    offset = header_end
    for i, length in enumerate(lengths):
        if i > 0:
            offset += _padding(offset)
        end = offset + length
        if end > size:
            raise CorruptPayloadError(
                f'Payload is truncated: frame {i} ends at byte {end} but the '
                f'payload has {size} bytes.',
            )
        frames.append(view[offset:end])
        offset = end
    if offset != size:
        raise CorruptPayloadError(
            f'Payload has {size - offset} unexpected trailing bytes.',
        )
    _authenticate(view, lengths_end, authenticated, frames, secret)
    return Envelope(bytes(serializer_id), frames, authenticated)


def _authenticate(
    view: memoryview,
    lengths_end: int,
    authenticated: bool,
    frames: list[memoryview],
    secret: bytes | None,
) -> None:
    if secret is None:
        if authenticated:
            raise AuthenticationError(
                'Payload is authenticated but no secret was given to verify it; '
                'configure the same secret as the writer.',
            )
        return
    if not authenticated:
        raise AuthenticationError(
            'Payload is not authenticated; it is refused because a secret is '
            'configured here (the writer had no secret).',
        )
    expected = _tag(secret, view[:lengths_end], frames)
    if not hmac.compare_digest(expected, view[lengths_end : lengths_end + TAG_SIZE]):
        raise AuthenticationError(
            'Payload authentication failed: the secret differs from the '
            "writer's, or the payload was modified.",
        )
