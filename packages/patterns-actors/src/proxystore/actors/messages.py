"""The one message format of actors: a msgpack header and pickle-5 frames.

A message is ``MAGIC``, one version byte, a tag length byte and the tag (an
HMAC-SHA256 over everything after it when the sender has a secret, else
nothing), then a msgpack array ``[header, frames]``: the header is a map of
plain values (kind, ids, action name), the frames a pickle-5 stream and its
out-of-band buffers, so numpy arrays travel without a copy into the pickle.

A receiver that has a secret refuses messages without a valid tag *before*
anything is unpickled; sizes are bounded before msgpack allocates. Rejected
alternatives: JSON with base64 pickles inside (a third larger and a copy
more, as Academy does); one pickle of the whole message (the header could not
be checked, or routed, without unpickling).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import pickle
from collections.abc import Sequence
from typing import Any

import msgpack

from proxystore.actors.exceptions import MessageError
from proxystore.proxy import Proxy
from proxystore.store import Store

__all__ = [
    'DEFAULT_PROXY_THRESHOLD',
    'MAGIC',
    'MAX_MESSAGE_BYTES',
    'VERSION',
    'Message',
    'decode',
    'dump_frames',
    'encode',
    'load_frames',
]

MAGIC = b'PSAM'
VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest message decoded by default: larger data goes by proxy."""
_PREFIX = len(MAGIC) + 2
_KINDS = frozenset({'call', 'reply', 'spawn', 'stop', 'ping'})


class Message:
    """A decoded message: its header and its frames (undecoded pickle data)."""

    __slots__ = ('frames', 'header')

    def __init__(self, header: dict[str, Any], frames: Sequence[bytes]) -> None:
        self.header = header
        self.frames = list(frames)

    @property
    def kind(self) -> str:
        """One of ``call``, ``reply``, ``spawn``, ``stop``, ``ping``."""
        return str(self.header['kind'])

    def __repr__(self) -> str:
        return f'Message({self.header!r}, frames={len(self.frames)})'


DEFAULT_PROXY_THRESHOLD = 1_000_000
"""Bytes above which a buffer (bytes, arrays) in a message goes by proxy."""


class _Pickler(pickle.Pickler):
    """Pickles buffers larger than ``threshold`` as proxies of ``store``."""

    def __init__(
        self,
        file: io.BytesIO,
        buffers: list[pickle.PickleBuffer],
        store: Store[Any],
        threshold: int,
    ) -> None:
        super().__init__(file, protocol=5, buffer_callback=buffers.append)
        self.store = store
        self.threshold = threshold

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)  # never obj.__class__: a proxy would resolve
        if kind in _SMALL_TYPES or issubclass(kind, Proxy):
            return NotImplemented
        try:
            size = memoryview(obj).nbytes
        except TypeError:
            return NotImplemented
        if size <= self.threshold:
            return NotImplemented
        # Evicted once resolved: the receiver reads it, and it is gone.
        return self.store.proxy(obj, evict=True).__reduce_ex__(5)


_SMALL_TYPES = frozenset({int, float, str, bool, type(None), tuple, list, dict})


def dump_frames(
    value: Any,
    store: Store[Any] | None = None,
    threshold: int = DEFAULT_PROXY_THRESHOLD,
) -> list[bytes]:
    """Pickle ``value`` (protocol 5): the stream, then its out-of-band buffers.

    With a ``store``, each buffer of more than ``threshold`` bytes inside
    ``value`` (bytes, bytearrays, numpy arrays) is put in the store and sent
    as a proxy, evicted once resolved: large data goes through the store's
    channel (shared memory on one node), not through the mailbox.
    """
    buffers: list[pickle.PickleBuffer] = []
    if store is None:
        stream = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    else:
        file = io.BytesIO()
        _Pickler(file, buffers, store, threshold).dump(value)
        stream = file.getvalue()
    return [stream, *(bytes(b.raw()) for b in buffers)]


def load_frames(frames: Sequence[bytes]) -> Any:
    """The value `dump_frames` made."""
    if not frames:
        raise MessageError('A message that carries a value has no frames.')
    return pickle.loads(frames[0], buffers=frames[1:])


def _tag(secret: bytes, body: bytes | memoryview) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def encode(
    header: dict[str, Any], frames: Sequence[bytes] = (), secret: bytes | None = None
) -> bytes:
    """The bytes of a message, tagged with ``secret`` when given."""
    body: bytes = msgpack.packb([header, list(frames)], use_bin_type=True)
    tag = _tag(secret, body) if secret else b''
    return MAGIC + bytes((VERSION, len(tag))) + tag + body


def decode(
    data: bytes | bytearray | memoryview,
    secret: bytes | None = None,
    *,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> Message:
    """Parse and check a message.

    Raises:
        MessageError: If the bytes are not a message of this version, exceed
            ``max_bytes``, lack the tag of ``secret`` (or carry a wrong one),
            or have a malformed header.
    """
    view = memoryview(data).cast('B')
    if view.nbytes > max_bytes:
        raise MessageError(
            f'A message of {view.nbytes} bytes, more than the {max_bytes} taken '
            '(send large values by proxy).'
        )
    if view.nbytes < _PREFIX or bytes(view[: len(MAGIC)]) != MAGIC:
        raise MessageError('Not an actor message (no PSAM prefix).')
    version, tag_length = view[len(MAGIC)], view[len(MAGIC) + 1]
    if version != VERSION:
        raise MessageError(f'An actor message of version {version}, not {VERSION}.')
    if tag_length not in (0, 32) or view.nbytes < _PREFIX + tag_length:
        raise MessageError(f'An actor message with a tag of {tag_length} bytes.')
    tag = bytes(view[_PREFIX : _PREFIX + tag_length])
    body = view[_PREFIX + tag_length :]
    if secret:
        if not tag:
            raise MessageError(
                'An unauthenticated actor message, refused: this side has a secret.'
            )
        if not hmac.compare_digest(tag, _tag(secret, body)):
            raise MessageError(
                'An actor message with a wrong tag, refused (forged, altered, or '
                'sent with another secret).'
            )
    try:
        # From a buffer, msgpack bounds every length by the buffer's.
        unpacked = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except Exception as error:  # msgpack raises several unrelated classes
        raise MessageError(f'A malformed actor message: {error}') from None
    if (
        not isinstance(unpacked, list)
        or len(unpacked) != 2
        or not isinstance(unpacked[0], dict)
        or not isinstance(unpacked[1], list)
        or not all(isinstance(f, bytes) for f in unpacked[1])
    ):
        raise MessageError('A malformed actor message: not [header, frames].')
    header, frames = unpacked
    if header.get('kind') not in _KINDS:
        raise MessageError(f'An actor message of unknown kind {header.get("kind")!r}.')
    return Message(header, frames)
