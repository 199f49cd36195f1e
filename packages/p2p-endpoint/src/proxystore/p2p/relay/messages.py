"""Messages between the relay and its clients: small JSON objects with a ``type``.

| type | direction | fields |
|---|---|---|
| ``register`` | client to relay | ``uuid``, ``name`` |
| ``registered`` | relay to client | ``uuid``, ``user`` |
| ``signal`` | both | ``peer`` (the target, or the source when forwarded), ``kind`` (``offer``/``answer``), ``session``, ``sdp``, ``name`` (source's name, when forwarded) |
| ``error`` | relay to client | ``peer``, ``session``, ``message`` (a signal that could not be delivered) |
| ``peer-gone`` | relay to client | ``peer`` (an endpoint this one signaled has left) |
"""  # noqa: E501

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any
from typing import Literal
from uuid import UUID

from proxystore.p2p.relay.exceptions import RelayMessageError

__all__ = [
    'CloseCode',
    'ErrorMessage',
    'Message',
    'PeerGone',
    'Register',
    'Registered',
    'Signal',
    'decode',
    'encode',
]


class CloseCode(enum.IntEnum):
    """Websocket close codes of the relay (and the standard ones it uses)."""

    NORMAL = 1000
    """The connection is closed as expected."""
    TOO_LARGE = 1009
    """A message exceeded the relay's size limit (websockets' own code)."""
    BAD_MESSAGE = 4000
    """A message was not valid (or the first one was not ``register``)."""
    UNAUTHORIZED = 4001
    """No valid token in the ``Authorization: Bearer`` header."""
    FORBIDDEN = 4002
    """Not sent any more: registrations are per user (kept for old clients)."""
    REPLACED = 4004
    """Another connection registered the same UUID."""


UNRECOVERABLE = frozenset(
    {CloseCode.UNAUTHORIZED, CloseCode.FORBIDDEN, CloseCode.REPLACED}
)
"""Close codes after which a client must not reconnect by itself."""


@dataclasses.dataclass(frozen=True)
class Register:
    """Register this client's endpoint."""

    uuid: UUID
    name: str
    type: Literal['register'] = 'register'


@dataclasses.dataclass(frozen=True)
class Registered:
    """The relay accepted the registration."""

    uuid: UUID
    user: str
    type: Literal['registered'] = 'registered'


@dataclasses.dataclass(frozen=True)
class Signal:
    """A WebRTC session description for a peer (an offer or an answer)."""

    peer: UUID
    kind: Literal['offer', 'answer']
    session: str
    sdp: str
    name: str = ''
    type: Literal['signal'] = 'signal'


@dataclasses.dataclass(frozen=True)
class ErrorMessage:
    """A signal could not be delivered."""

    peer: UUID
    session: str
    message: str
    type: Literal['error'] = 'error'


@dataclasses.dataclass(frozen=True)
class PeerGone:
    """An endpoint this client signaled has left the relay."""

    peer: UUID
    type: Literal['peer-gone'] = 'peer-gone'


Message = Register | Registered | Signal | ErrorMessage | PeerGone
_TYPES: dict[str, type[Any]] = {
    'register': Register,
    'registered': Registered,
    'signal': Signal,
    'error': ErrorMessage,
    'peer-gone': PeerGone,
}
_MAX_STRING = {'name': 256, 'user': 256, 'session': 64, 'message': 1024}


def encode(message: Message) -> str:
    """The JSON text of a message."""
    data = dataclasses.asdict(message)
    for name, value in data.items():
        if isinstance(value, UUID):
            data[name] = str(value)
    return json.dumps(data)


def _field(cls: type[Any], name: str, value: Any) -> Any:
    if name in ('uuid', 'peer'):
        try:
            return UUID(value)
        except (TypeError, ValueError, AttributeError):
            raise RelayMessageError(
                f'field {name!r} is not a UUID: {value!r:.80}'
            ) from None
    if not isinstance(value, str):
        raise RelayMessageError(
            f'field {name!r} must be a string, not {type(value).__name__}'
        )
    if name == 'kind' and value not in ('offer', 'answer'):
        raise RelayMessageError(
            f"field 'kind' must be 'offer' or 'answer', not {value!r:.80}"
        )
    limit = _MAX_STRING.get(name)
    if limit is not None and len(value) > limit:
        raise RelayMessageError(f'field {name!r} is longer than {limit} characters')
    return value


def decode(text: str | bytes) -> Message:
    """Parse and check a message.

    Raises:
        RelayMessageError: If it is not a JSON object of a known type with the
            fields of that type.
    """
    if isinstance(text, bytes):
        raise RelayMessageError('relay messages are text frames, not binary')
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RelayMessageError(f'message is not JSON: {error}') from None
    except RecursionError:
        # A few thousand nested brackets (a fuzz finding): no message nests.
        raise RelayMessageError('message is JSON nested too deeply') from None
    if not isinstance(data, dict):
        raise RelayMessageError('message is not a JSON object')
    kind = data.pop('type', None)
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise RelayMessageError(f'unknown message type {kind!r:.80}')
    fields = {f.name for f in dataclasses.fields(cls) if f.name != 'type'}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.name != 'type' and f.default is dataclasses.MISSING
    }
    unknown = set(data) - fields
    if unknown:
        raise RelayMessageError(f'{kind} message has unknown fields {sorted(unknown)}')
    missing = required - set(data)
    if missing:
        raise RelayMessageError(f'{kind} message lacks fields {sorted(missing)}')
    message: Message = cls(
        **{name: _field(cls, name, value) for name, value in data.items()}
    )
    return message
