"""Errors raised while serializing and deserializing payloads."""

from __future__ import annotations

__all__ = [
    'AuthenticationError',
    'CorruptPayloadError',
    'SerializationError',
    'UnknownSerializerError',
]


class SerializationError(Exception):
    """An object could not be serialized, or a payload could not be deserialized."""


class CorruptPayloadError(SerializationError):
    """The bytes are not a well-formed payload: bad magic, version or lengths."""


class UnknownSerializerError(SerializationError):
    """The payload names a serializer that is not registered here."""


class AuthenticationError(SerializationError):
    """The payload failed authentication and was refused before deserializing.

    Raised when the authentication tag does not match (wrong secret, or the
    payload was tampered with), when an authenticated payload is read without a
    secret, and when a reader that has a secret is given an unauthenticated
    payload.
    """
