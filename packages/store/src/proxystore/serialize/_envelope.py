"""The payload envelope: a small versioned header, then the frames.

Layout (integers little-endian)::

    offset  size  field
    0       2     magic b'PS'
    2       1     format version (1: not authenticated; 2: authenticated)
    3       1     flags (bit 0: authenticated)
    4       2     serializer id, two ASCII bytes
    6       2     number of frames, n
    8       8*n   length of each frame
    ...     32    HMAC-SHA256 tag, only when authenticated
    ...           frame 0, then each later frame at an offset aligned to 64 bytes

Frame 0 follows the header at once; the later frames (out-of-band buffers such as
numpy data) start on 64-byte boundaries, so that arrays built on them are aligned.

The tag of a version-2 payload covers a *context* that is not in the payload (the
name of the store and the key the payload is written under, see
`proxystore.serialize.codec`), then the header (without the tag) and every frame;
it is checked before anything is deserialized. A payload copied under another key,
or into another store's channel, is therefore refused. Version 1 payloads are
still read when they are not authenticated; authenticated version 1 payloads
(of earlier development versions of 2.0), whose tag bound no context, are
refused.
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

from proxystore.serialize._policy import REQUIRE_SECRET_ENV
from proxystore.serialize._policy import secret_required
from proxystore.serialize.exceptions import AuthenticationError
from proxystore.serialize.exceptions import CorruptPayloadError
from proxystore.serialize.exceptions import UnauthenticatedPayloadError

__all__ = [
    'AUTHENTICATED_VERSION',
    'MAGIC',
    'VERSION',
    'Envelope',
    'Payload',
    'open_envelope',
    'seal',
]

MAGIC = b'PS'
VERSION = 1
"""Format version of payloads without authentication."""
AUTHENTICATED_VERSION = 2
"""Format version of authenticated payloads (the tag binds a context)."""
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


# Separates this use of the secret from any other (domain separation).
_TAG_DOMAIN = b'proxystore-payload-v2\x00'


def _tag(
    secret: bytes,
    context: bytes,
    header: Buffer,
    frames: Sequence[Buffer],
) -> bytes:
    mac = hmac.new(secret, _TAG_DOMAIN, hashlib.sha256)
    mac.update(_LENGTH.pack(len(context)))
    mac.update(context)
    mac.update(header)
    for frame in frames:
        mac.update(frame)
    return mac.digest()


def seal(
    serializer_id: bytes,
    frames: Sequence[Buffer],
    *,
    secret: bytes | None = None,
    context: bytes = b'',
) -> Payload:
    """Put frames in an envelope, authenticated when a secret is given.

    Args:
        serializer_id: Two bytes naming the serializer of the frames.
        frames: The frames.
        secret: Key of the HMAC tag (``None``: not authenticated).
        context: Bytes the tag binds besides the payload (the store and the
            key, see `proxystore.serialize.codec`); the reader must give the
            same. Not written into the payload.

    Raises:
        ValueError: If ``serializer_id`` is not 2 bytes.
    """
    if len(serializer_id) != 2:
        raise ValueError(f'serializer id must be 2 bytes, got {serializer_id!r}')
    if secret is not None:
        flags, version = _FLAG_AUTHENTICATED, AUTHENTICATED_VERSION
    else:
        flags, version = 0, VERSION
    views = [memoryview(f).cast('B') if not isinstance(f, bytes) else f for f in frames]
    header = bytearray(_FIXED.pack(MAGIC, version, flags, serializer_id, len(views)))
    for view in views:
        header += _LENGTH.pack(len(view))
    if secret is not None:
        header += _tag(secret, context, header, views)
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


def open_envelope(
    data: Any,
    *,
    secret: bytes | None = None,
    context: bytes = b'',
) -> Envelope:
    """Parse a payload and check its tag; frames are views of ``data``.

    Args:
        data: The payload (any buffer).
        secret: Key of the HMAC tag (``None``: unauthenticated payloads only).
        context: The context the writer bound (see `seal`).

    Raises:
        CorruptPayloadError: If ``data`` is not a well-formed payload.
        AuthenticationError: If the payload's authentication does not match the
            secret (see `AuthenticationError`).
        UnauthenticatedPayloadError: If ``secret`` is ``None`` and strict mode
            (``PROXYSTORE_REQUIRE_SECRET``) is on.
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
    if version not in (VERSION, AUTHENTICATED_VERSION):
        raise CorruptPayloadError(
            f'Unsupported payload format version {version}; this version of '
            f'ProxyStore reads versions {VERSION} and {AUTHENTICATED_VERSION}.',
        )
    authenticated = bool(flags & _FLAG_AUTHENTICATED)
    if version == AUTHENTICATED_VERSION and not authenticated:
        raise CorruptPayloadError(
            f'Payload of format version {version} must be authenticated, but '
            'its flags say it is not.',
        )
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
    _authenticate(view, lengths_end, version, authenticated, frames, secret, context)
    return Envelope(bytes(serializer_id), frames, authenticated)


def _authenticate(
    view: memoryview,
    lengths_end: int,
    version: int,
    authenticated: bool,
    frames: list[memoryview],
    secret: bytes | None,
    context: bytes,
) -> None:
    if secret is None:
        if authenticated:
            raise AuthenticationError(
                'Payload is authenticated but no secret was given to verify it; '
                'configure the same secret as the writer.',
            )
        if secret_required():
            raise UnauthenticatedPayloadError(
                f'Payload is not authenticated and {REQUIRE_SECRET_ENV} is set: '
                'without a secret, bytes planted in the channel would be '
                'deserialized, so every payload is refused. Give the reader the '
                "writer's secret.",
            )
        return
    if not authenticated:
        raise AuthenticationError(
            'Payload is not authenticated; it is refused because a secret is '
            'configured here (the writer had no secret).',
        )
    if version != AUTHENTICATED_VERSION:
        raise AuthenticationError(
            f'Payload is authenticated in format version {version}, whose tag '
            'binds neither its key nor its store (so it could have been copied '
            'from another key): it is refused. Write the object again with '
            'this version of ProxyStore.',
        )
    expected = _tag(secret, context, view[:lengths_end], frames)
    if not hmac.compare_digest(expected, view[lengths_end : lengths_end + TAG_SIZE]):
        raise AuthenticationError(
            'Payload authentication failed: the secret differs from the '
            "writer's, the payload was modified, or it was written under "
            'another key or by another store.',
        )
