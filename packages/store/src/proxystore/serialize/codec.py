"""The codec of a store: objects to payloads and back, with its secret.

A `Codec` holds what a `proxystore.store.Store` needs to turn objects into
payloads and payloads back into objects: its custom serializer and deserializer,
if any, and its secret. The store calls `Codec.encode` on put and `Codec.decode`
on get; the envelope (`proxystore.serialize._envelope`) is the codec's business.

Authentication binds a payload to its place
-------------------------------------------

With a secret, every payload carries an HMAC-SHA256 tag over the store's name,
the key the payload is written under, the header and the frames. Neither the
name nor the key is written into the payload: the reader supplies them, so that

- a payload copied (or replayed) from one key to another of the same channel is
  refused by `decode` with `AuthenticationError`;
- a payload of store ``A`` found in the channel of store ``B`` is refused, even
  when both stores have the same secret (give stores that share a channel the
  same name, as processes re-creating a store from its config do).

The key must therefore be known before the payload is sealed: a store with a
secret picks it with its connector's ``new_key`` and writes with ``set`` (a
`proxystore.connectors.protocols.DeferrableConnector`). A connector that can only
choose the key itself while writing cannot carry such a binding; a store with a
secret refuses it (`proxystore.store.exceptions.KeyBindingError`) rather than
offer weaker protection without saying so.

What the tag does not stop: deleting a payload, or writing back under the same
key, in the same store, an older payload that was once stored there (keys are
random and a store does not reuse them, so this needs a key written twice, as
`proxystore.futures` never does). Authenticated payloads of format version 1
(before this binding) are refused with an `AuthenticationError` that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from proxystore.serialize._envelope import Envelope
from proxystore.serialize._envelope import Payload
from proxystore.serialize._envelope import open_envelope
from proxystore.serialize._envelope import seal
from proxystore.serialize._policy import check_secret
from proxystore.serialize._serializers import _CLOUDPICKLE
from proxystore.serialize._serializers import get_serializer
from proxystore.serialize._serializers import serializers
from proxystore.serialize.exceptions import SerializationError
from proxystore.serialize.exceptions import UnknownSerializerError

__all__ = ['CUSTOM_SERIALIZER_ID', 'Codec', 'encode_default', 'key_context']

CUSTOM_SERIALIZER_ID = b'CU'
"""Serializer id of payloads written with a store's custom serializer."""

Serializer = Callable[[Any], Any]
Deserializer = Callable[[bytes], Any]


def _canonical(value: Any) -> str:
    # Tuples by their fields (a key and its bare tuple bind alike), the rest by
    # repr, which is unambiguous for the str, int and bytes fields of keys.
    if isinstance(value, tuple):
        return '(' + ','.join(_canonical(field) for field in value) + ',)'
    return repr(value)


def key_context(store_name: str, key: Any) -> bytes:
    """The bytes an authenticated payload's tag binds: store name and key.

    Args:
        store_name: Name of the store.
        key: The key the payload is written under (``None``: no key).
    """
    name = store_name.encode('utf-8', 'surrogatepass')
    key_bytes = _canonical(key).encode('utf-8', 'surrogatepass')
    return len(name).to_bytes(8, 'little') + name + key_bytes


def encode_default(
    obj: Any,
    *,
    secret: bytes | None = None,
    context: bytes = b'',
) -> Payload:
    """Serialize ``obj`` with the registered serializers into a `Payload`.

    The first registered serializer that supports the object is used; when
    pickle cannot handle it (a lambda, a local class), cloudpickle is tried.

    Args:
        obj: The object.
        secret: Authenticate the payload with this key.
        context: What the tag binds besides the payload (see `key_context`).

    Raises:
        SerializationError: If no serializer can serialize ``obj``.
    """
    errors: list[BaseException] = []
    for serializer in serializers():
        if not serializer.supported(obj):
            continue
        try:
            frames = serializer.serialize(obj)
        except Exception as e:  # any failure: try the next serializer
            errors.append(e)
            continue
        return seal(serializer.identifier, frames, secret=secret, context=context)
    try:
        frames = _CLOUDPICKLE.serialize(obj)
    except Exception as e:  # cloudpickle raises a variety of errors
        errors.append(e)
    else:
        return seal(_CLOUDPICKLE.identifier, frames, secret=secret, context=context)
    raise SerializationError(
        f'Object of type {type(obj)} is not supported: '
        + '; '.join(f'{type(e).__name__}: {e}' for e in errors),
    ) from errors[-1]


class Codec:
    """Encodes objects into payloads and decodes them, for one store.

    Args:
        name: Name of the store (bound into authenticated payloads).
        secret: Key authenticating every payload (``None``: none).
        serializer: Custom serializer (object to bytes-like) for every encode.
        deserializer: Custom deserializer (bytes to object) for payloads written
            by a custom serializer.

    Raises:
        TypeError: If ``name`` is not a string, ``serializer`` or
            ``deserializer`` is not callable, or ``secret`` is not bytes.
        EmptySecretError: If ``secret`` is empty (a `ValueError`).

    Warns:
        WeakSecretWarning: If ``secret`` is shorter than 16 bytes.
    """

    __slots__ = ('_deserializer', '_name', '_secret', '_serializer')

    def __init__(
        self,
        name: str,
        *,
        secret: bytes | None = None,
        serializer: Serializer | None = None,
        deserializer: Deserializer | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f'name must be a string, not {type(name).__name__}.')
        if serializer is not None and not callable(serializer):
            raise TypeError('serializer must be callable.')
        if deserializer is not None and not callable(deserializer):
            raise TypeError('deserializer must be callable.')
        if secret is not None and not isinstance(secret, bytes):
            raise TypeError(f'secret must be bytes, not {type(secret).__name__}.')
        self._name = name
        self._secret = check_secret(secret, stacklevel=2)
        self._serializer = serializer
        self._deserializer = deserializer

    @classmethod
    def _checked(
        cls,
        name: str,
        *,
        secret: bytes | None,
        serializer: Serializer | None,
        deserializer: Deserializer | None,
    ) -> Codec:
        # For a store that ran check_secret itself (so that its warning names
        # the caller of Store(...)): the same codec, without a second warning.
        codec = cls(name, serializer=serializer, deserializer=deserializer)
        codec._secret = secret
        return codec

    @property
    def authenticated(self) -> bool:
        """Whether payloads are authenticated (the codec has a secret)."""
        return self._secret is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name='{self._name}', "
            f'authenticated={self.authenticated}, '
            f'custom_serializer={self._serializer is not None}, '
            f'custom_deserializer={self._deserializer is not None})'
        )

    def _context(self, key: Any) -> bytes:
        return key_context(self._name, key) if self._secret is not None else b''

    def encode(
        self,
        obj: Any,
        *,
        key: Any = None,
        serializer: Serializer | None = None,
    ) -> Payload:
        """Serialize ``obj`` into a payload for ``key``.

        Args:
            obj: The object.
            key: The key the payload will be written under; an authenticated
                payload decodes under this key only.
            serializer: Custom serializer for this object (default: the
                codec's, else the registered serializers).

        Raises:
            SerializationError: If the object cannot be serialized.
            TypeError: If a custom serializer returns something not bytes-like.
        """
        serializer = serializer if serializer is not None else self._serializer
        if serializer is None:
            return encode_default(obj, secret=self._secret, context=self._context(key))
        data = serializer(obj)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError('Serializer must return a bytes-like object.')
        return seal(
            CUSTOM_SERIALIZER_ID,
            [data],
            secret=self._secret,
            context=self._context(key),
        )

    def encode_default(self, obj: Any, *, key: Any = None) -> Payload:
        """`encode` with the registered serializers, ignoring custom ones.

        Raises:
            SerializationError: If no serializer can serialize ``obj``.
        """
        return encode_default(obj, secret=self._secret, context=self._context(key))

    def open(self, data: Any, *, key: Any = None) -> Envelope:
        """Parse and authenticate a payload written for ``key``, without decoding.

        Raises:
            CorruptPayloadError: If ``data`` is not a well-formed payload.
            AuthenticationError: If authentication fails.
        """
        return open_envelope(data, secret=self._secret, context=self._context(key))

    def decode(
        self,
        data: Any,
        *,
        key: Any = None,
        deserializer: Deserializer | None = None,
    ) -> Any:
        """Rebuild the object of a payload read from ``key``.

        Authentication (with a secret) is checked before anything is
        deserialized. Errors name the store and the key.

        Args:
            data: The payload.
            key: The key it was read from.
            deserializer: Custom deserializer for this payload (default: the
                codec's).

        Raises:
            CorruptPayloadError: If ``data`` is not a well-formed payload.
            AuthenticationError: If authentication fails: wrong secret, modified
                payload, or one written under another key or by another store.
            UnknownSerializerError: If the payload's serializer is not known
                here (or it needs a custom deserializer and none is given).
            SerializationError: If the deserializer fails.
        """
        deserializer = deserializer if deserializer is not None else self._deserializer
        try:
            context = key_context(self._name, key) if self._secret is not None else b''
            envelope = open_envelope(data, secret=self._secret, context=context)
            if envelope.serializer_id == CUSTOM_SERIALIZER_ID:
                if deserializer is None:
                    raise UnknownSerializerError(
                        'The object was written with a custom serializer: pass '
                        'the matching deserializer.',
                    )
                name = 'custom'
                custom = deserializer
                # bytes, as ProxyStore 1.x gave custom deserializers.
                load: Callable[[], Any] = lambda: custom(bytes(envelope.frames[0]))  # noqa: E731
            else:
                registered = get_serializer(envelope.serializer_id)
                if registered is None:
                    raise UnknownSerializerError(
                        'Unknown serializer identifier '
                        f'{envelope.serializer_id!r}: register the serializer '
                        'that wrote this object.',
                    )
                name = registered.name
                frames = envelope.frames
                load = lambda: registered.deserialize(frames)  # noqa: E731
        except SerializationError as e:
            e.add_note(f'Store "{self._name}", key {key!r}.')
            raise
        try:
            return load()
        except Exception as e:
            raise SerializationError(
                f'Failed to deserialize object with the {name} deserializer '
                f'(store "{self._name}", key {key!r}): {type(e).__name__}: {e}',
            ) from e
