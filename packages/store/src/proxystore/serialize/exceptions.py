"""Errors raised while serializing and deserializing payloads.

Every error of `proxystore.serialize` is a `SerializationError`; the package
re-exports them (``proxystore.serialize.SerializationError`` keeps working).
"""

from __future__ import annotations

__all__ = [
    'AuthenticationError',
    'CorruptPayloadError',
    'EmptySecretError',
    'SerializationError',
    'UnauthenticatedPayloadError',
    'UnknownSerializerError',
    'WeakSecretWarning',
]


class SerializationError(Exception):
    """An object could not be serialized, or a payload could not be deserialized."""


class CorruptPayloadError(SerializationError):
    """The bytes are not a well-formed payload: bad magic, version or lengths."""


class UnknownSerializerError(SerializationError):
    """The payload names a serializer that is not registered here."""


class AuthenticationError(SerializationError):
    """The payload failed authentication and was refused before deserializing.

    Raised when the authentication tag does not match (wrong secret, a payload
    tampered with, or one written for another key or another store), when an
    authenticated payload is read without a secret, when a reader that has a
    secret is given an unauthenticated payload, and for authenticated payloads
    of format version 1, whose tag bound neither key nor store.
    """


class UnauthenticatedPayloadError(AuthenticationError):
    """Strict mode refused a payload read without a secret.

    With ``PROXYSTORE_REQUIRE_SECRET=1``, a reader that has no secret refuses
    every payload, before deserializing it: an unauthenticated payload could
    have been planted by anyone who can write to the channel.
    """


class EmptySecretError(ValueError):
    """The secret is empty (``''`` or ``b''``), which authenticates nothing."""


class WeakSecretWarning(UserWarning):
    """The secret is shorter than 16 bytes and can be guessed from its id."""
