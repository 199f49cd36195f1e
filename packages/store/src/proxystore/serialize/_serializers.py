"""Serializers: how an object becomes frames, and frames become an object again.

Every serializer has a two-character id written in the payload header. The
built-in ones, tried in this order:

- ``BS`` bytes, ``BA`` bytearray, ``MV`` memoryview: the object's own memory is
  the frame (no copy);
- ``US`` str: UTF-8 (surrogates allowed);
- ``PK`` anything picklable: pickle protocol 5; every contiguous buffer inside
  the object (numpy, pandas, bytearray) is a frame of its own, out of band;
- ``CP`` cloudpickle: as ``PK``, used when pickle fails (lambdas, local
  classes).

On reading, a frame that is read-only (a `bytes` from a socket) is copied once so
that the object (a numpy array, say) is writable like the original; a writable
frame (private memory from the connector) is used in place.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import Protocol
from typing import runtime_checkable

from proxystore.serialize._envelope import Buffer

__all__ = [
    'Serializer',
    'get_serializer',
    'register_serializer',
    'serializers',
    'unregister_serializer',
]


@runtime_checkable
class Serializer(Protocol):
    """How one kind of object is turned into frames and back.

    Attributes:
        identifier: Two ASCII bytes written in the payload header.
        name: A readable name for messages.
    """

    identifier: bytes
    name: str

    def supported(self, obj: Any) -> bool:
        """Whether this serializer handles ``obj``."""
        ...

    def serialize(self, obj: Any) -> Sequence[Buffer]:
        """Turn ``obj`` into frames (buffers; no copy needed)."""
        ...

    def deserialize(self, frames: list[memoryview]) -> Any:
        """Rebuild the object from the frames written by `serialize`."""
        ...


def _writable(frame: memoryview) -> Buffer:
    return frame if not frame.readonly else bytearray(frame)


class _Bytes:
    identifier = b'BS'
    name = 'bytes'

    def supported(self, obj: Any) -> bool:
        return type(obj) is bytes

    def serialize(self, obj: Any) -> Sequence[Buffer]:
        return [obj]

    def deserialize(self, frames: list[memoryview]) -> Any:
        return bytes(frames[0])


class _ByteArray:
    identifier = b'BA'
    name = 'bytearray'

    def supported(self, obj: Any) -> bool:
        return type(obj) is bytearray

    def serialize(self, obj: Any) -> Sequence[Buffer]:
        return [obj]

    def deserialize(self, frames: list[memoryview]) -> Any:
        return bytearray(frames[0])


class _MemoryView:
    identifier = b'MV'
    name = 'memoryview'

    def supported(self, obj: Any) -> bool:
        return type(obj) is memoryview and obj.c_contiguous

    def serialize(self, obj: Any) -> Sequence[Buffer]:
        shape = ','.join(map(str, obj.shape))
        return [f'{obj.format}|{shape}'.encode(), obj.cast('B')]

    def deserialize(self, frames: list[memoryview]) -> Any:
        fmt, _, shape = bytes(frames[0]).decode().partition('|')
        view = memoryview(_writable(frames[1]))
        dims = [int(d) for d in shape.split(',') if d]
        cast: Any = view.cast  # typeshed lists only some formats
        return cast(fmt, dims) if dims else cast(fmt)


class _String:
    identifier = b'US'
    name = 'string'

    def supported(self, obj: Any) -> bool:
        return type(obj) is str

    def serialize(self, obj: Any) -> Sequence[Buffer]:
        return [obj.encode('utf-8', 'surrogatepass')]

    def deserialize(self, frames: list[memoryview]) -> Any:
        return str(frames[0], 'utf-8', 'surrogatepass')


def _dumps(dumps: Callable[..., bytes], obj: Any) -> list[Buffer]:
    buffers: list[Buffer] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        try:
            buffers.append(buffer.raw())
        except BufferError:  # not contiguous: serialize it in band
            return True
        return False

    stream = dumps(obj, protocol=5, buffer_callback=out_of_band)
    return [stream, *buffers]


def _loads(frames: list[memoryview]) -> Any:
    buffers = [_writable(frame) for frame in frames[1:]]
    return pickle.loads(frames[0], buffers=buffers)


class _Pickle:
    identifier = b'PK'
    name = 'pickle'

    def supported(self, obj: Any) -> bool:
        return True

    def serialize(self, obj: Any) -> Sequence[Buffer]:
        return _dumps(pickle.dumps, obj)

    def deserialize(self, frames: list[memoryview]) -> Any:
        return _loads(frames)


class _CloudPickle:
    identifier = b'CP'
    name = 'cloudpickle'

    def supported(self, obj: Any) -> bool:
        return True

    def serialize(self, obj: Any) -> Sequence[Buffer]:
        # Heavy and rarely needed (pickle handles most objects): imported on
        # first use, as DESIGN §3 asks of heavy libraries, to keep imports cheap.
        import cloudpickle

        return _dumps(cloudpickle.dumps, obj)

    def deserialize(self, frames: list[memoryview]) -> Any:
        return _loads(frames)  # cloudpickle output is read by pickle


_lock = threading.Lock()


def _renew_lock_in_child() -> None:
    global _lock
    # Another thread may have held the lock at fork time; it is gone here.
    _lock = threading.Lock()


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_renew_lock_in_child)
_registry: dict[bytes, Serializer] = {}
_order: list[Serializer] = []


def register_serializer(serializer: Serializer, *, first: bool = True) -> None:
    """Add a serializer; it is tried before the built-in ones unless ``first=False``.

    Register the same serializer in every process that reads its payloads.

    Raises:
        TypeError: If ``serializer`` does not implement `Serializer`.
        ValueError: If the identifier is not two ASCII bytes or is taken.
    """
    if not isinstance(serializer, Serializer):
        raise TypeError(
            f'{serializer!r} does not implement the Serializer protocol '
            '(identifier, name, supported, serialize, deserialize).',
        )
    ident = serializer.identifier
    if not (isinstance(ident, bytes) and len(ident) == 2 and ident.isascii()):
        raise ValueError(f'Serializer identifier must be 2 ASCII bytes, not {ident!r}.')
    with _lock:
        if ident in _registry:
            raise ValueError(
                f'Serializer identifier {ident!r} is taken by '
                f'{_registry[ident].name!r}.',
            )
        _registry[ident] = serializer
        if first:
            _order.insert(0, serializer)
        else:
            _order.append(serializer)


def unregister_serializer(identifier: bytes) -> None:
    """Remove a registered serializer (no-op when absent)."""
    with _lock:
        serializer = _registry.pop(identifier, None)
        if serializer is not None:
            _order.remove(serializer)


def get_serializer(identifier: bytes) -> Serializer | None:
    """The serializer registered under ``identifier``, if any."""
    return _registry.get(identifier)


def serializers() -> list[Serializer]:
    """The serializers in the order they are tried."""
    return list(_order)


for _builtin in (_Bytes(), _ByteArray(), _MemoryView(), _String(), _Pickle()):
    register_serializer(_builtin, first=False)
# cloudpickle is only a fallback for what pickle cannot do, so it is not in the
# order; `serialize` turns to it when pickle raises.
_registry[b'CP'] = _CLOUDPICKLE = _CloudPickle()
