"""Serialization of objects into payloads, with zero-copy buffers and authentication.

A payload is a small versioned header and a list of frames (see
`proxystore.serialize._envelope` for the layout). Objects with large buffers
(bytes, numpy arrays, pandas frames) become frames without being copied, and are
rebuilt on top of the received memory.

With a ``secret``, every payload carries an HMAC-SHA256 tag, and reading checks
it before anything is unpickled, so that bytes planted in a shared channel are
refused rather than executed. A store's `Codec` (`proxystore.serialize.codec`)
also binds the tag to the store's name and the payload's key. Errors are in
`proxystore.serialize.exceptions` (and re-exported here).

`serialize` and `deserialize` keep the signatures of ProxyStore 1.x;
`serialize_payload` returns the frames unjoined, for connectors that write them
one by one.
"""

from __future__ import annotations

from typing import Any
from typing import TypeGuard
from typing import Union

from proxystore.serialize._envelope import Payload
from proxystore.serialize._envelope import open_envelope
from proxystore.serialize._policy import MIN_SECRET_BYTES
from proxystore.serialize._policy import REQUIRE_SECRET_ENV
from proxystore.serialize._policy import check_secret
from proxystore.serialize._policy import secret_required
from proxystore.serialize._serializers import Serializer
from proxystore.serialize._serializers import get_serializer
from proxystore.serialize._serializers import register_serializer
from proxystore.serialize._serializers import serializers
from proxystore.serialize._serializers import unregister_serializer
from proxystore.serialize.codec import Codec
from proxystore.serialize.codec import encode_default
from proxystore.serialize.exceptions import AuthenticationError
from proxystore.serialize.exceptions import CorruptPayloadError
from proxystore.serialize.exceptions import EmptySecretError
from proxystore.serialize.exceptions import SerializationError
from proxystore.serialize.exceptions import UnauthenticatedPayloadError
from proxystore.serialize.exceptions import UnknownSerializerError
from proxystore.serialize.exceptions import WeakSecretWarning

__all__ = [
    'MIN_SECRET_BYTES',
    'REQUIRE_SECRET_ENV',
    'AuthenticationError',
    'BytesLike',
    'Codec',
    'CorruptPayloadError',
    'EmptySecretError',
    'Payload',
    'SerializationError',
    'Serializer',
    'UnauthenticatedPayloadError',
    'UnknownSerializerError',
    'WeakSecretWarning',
    'check_secret',
    'deserialize',
    'get_serializer',
    'is_bytes_like',
    'register_serializer',
    'secret_required',
    'serialize',
    'serialize_payload',
    'serializers',
    'unregister_serializer',
]

BytesLike = Union[bytes, bytearray, memoryview]  # noqa: UP007
"""Objects that the connectors accept and return."""


def is_bytes_like(obj: Any) -> TypeGuard[BytesLike]:
    """Whether ``obj`` is `bytes`, `bytearray` or `memoryview`."""
    return isinstance(obj, (bytes, bytearray, memoryview))


def serialize_payload(obj: Any, *, secret: bytes | None = None) -> Payload:
    """Serialize ``obj`` into a `Payload` whose frames are not joined.

    The first registered serializer that supports the object is used; when pickle
    cannot handle it (a lambda, a local class), cloudpickle is tried. With a
    ``secret``, the payload is bound to no store and no key (see
    `proxystore.serialize.codec` for payloads that are).

    Raises:
        SerializationError: If no serializer can serialize ``obj``.
        EmptySecretError: If ``secret`` is empty.

    Warns:
        WeakSecretWarning: If ``secret`` is shorter than 16 bytes.
    """
    return encode_default(obj, secret=check_secret(secret, stacklevel=2))


def serialize(obj: Any, *, secret: bytes | None = None) -> bytes:
    """Serialize ``obj`` into one contiguous payload.

    Raises:
        SerializationError: If no serializer can serialize ``obj``.
        EmptySecretError: If ``secret`` is empty.

    Warns:
        WeakSecretWarning: If ``secret`` is shorter than 16 bytes.
    """
    return encode_default(obj, secret=check_secret(secret, stacklevel=2)).join()


def deserialize(buffer: BytesLike, *, secret: bytes | None = None) -> Any:
    """Rebuild an object from a payload made by `serialize`.

    Buffers inside the object (numpy data, say) are views of ``buffer`` when it is
    writable, and one copy of it otherwise.

    Raises:
        ValueError: If ``buffer`` is not bytes-like.
        CorruptPayloadError: If ``buffer`` is not a well-formed payload.
        AuthenticationError: If authentication fails (checked before any
            deserialization).
        UnauthenticatedPayloadError: If no ``secret`` is given and strict mode
            (``PROXYSTORE_REQUIRE_SECRET``) is on.
        EmptySecretError: If ``secret`` is empty.
        UnknownSerializerError: If the payload's serializer is not registered.
        SerializationError: If the serializer fails on the payload.

    Warns:
        WeakSecretWarning: If ``secret`` is shorter than 16 bytes.
    """
    if not is_bytes_like(buffer):
        raise ValueError(
            f'Expected a bytes-like object (bytes, bytearray, memoryview), '
            f'got {type(buffer).__name__}.',
        )
    envelope = open_envelope(buffer, secret=check_secret(secret, stacklevel=2))
    serializer = get_serializer(envelope.serializer_id)
    if serializer is None:
        raise UnknownSerializerError(
            f'Unknown serializer identifier {envelope.serializer_id!r}: register '
            'the serializer that wrote this payload.',
        )
    try:
        return serializer.deserialize(envelope.frames)
    except Exception as e:
        raise SerializationError(
            f'Failed to deserialize object using the {serializer.name} serializer: '
            f'{type(e).__name__}: {e}',
        ) from e
