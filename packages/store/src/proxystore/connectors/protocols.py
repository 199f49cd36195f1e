"""The interfaces a connector implements.

`Connector` and `DeferrableConnector` are ProxyStore 1.x's protocols, unchanged:
any 1.x connector works with this Store. Two optional extensions let a connector
do better, and the Store uses them when they are there:

- `FramedConnector`: ``put_frames`` receives a payload's buffers unjoined, so it
  can write them without first copying them into one object (``writev``, a copy
  straight into shared memory); an optional ``put_frames_batch`` takes many
  payloads at once (one round trip to a server), and `FramedDeferrableConnector`'s
  ``set_frames`` writes them under a key made by ``new_key`` (how a store with a
  secret writes: it binds each payload to its key);
- `BatchEvictConnector`: ``evict_batch`` removes many keys in one round trip;
- `WaitableConnector`: ``wait`` blocks until an object exists under a key, woken
  by the channel itself instead of polling (the futures pattern uses it);
- `SecretConnector`: ``use_secret`` receives the secret of a store made with
  one, so the connector can authenticate its channel with it too (the UCX
  connector's control connections);
- `ListableConnector`: ``list_objects`` tells what the channel holds (keys,
  sizes, ages, owners where known), for ``proxystore store ls | du | evict``.

One capability is a declaration rather than a method: a connector whose bytes
come over a network, or from a server other hosts can write to (Redis, UCX,
endpoints), sets ``network_channel = True`` (`NetworkConnector`), and a store
without a secret warns once when it reads from one (see `is_network_channel`).

Connectors are found by name through the entry-point group
``proxystore.connectors`` (see `proxystore.connectors.registry`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from proxystore.serialize import BytesLike

__all__ = [
    'BatchEvictConnector',
    'Connector',
    'ConnectorError',
    'DeferrableConnector',
    'FramedConnector',
    'FramedDeferrableConnector',
    'KeyT',
    'ListableConnector',
    'NetworkConnector',
    'SecretConnector',
    'StoreFullError',
    'StoredObject',
    'WaitableConnector',
    'check_key',
    'is_network_channel',
    'retry_while_full',
]

KeyT = TypeVar('KeyT', bound=tuple[Any, ...])
"""A connector's key: a NamedTuple, hashable and picklable."""
_KeyT_co = TypeVar('_KeyT_co', bound=tuple[Any, ...], covariant=True)
_KeyT_contra = TypeVar('_KeyT_contra', bound=tuple[Any, ...], contravariant=True)


class ConnectorError(Exception):
    """Base class of the errors a connector raises about its channel.

    Connectors raise subclasses that name the channel and the cause (a server
    that is down, refused credentials, an object too large), chained to the
    transport library's own exception.
    """


class StoreFullError(ConnectorError):
    """A put found no room within its channel's byte budget (its ``capacity``).

    The message names the budget, the object's size and what holds the space.
    Raised by channels with a budget when an object cannot fit: at once if it is
    larger than the whole budget, else after the channel's wait for evictions
    (``full_timeout``) when it has no spill folder to move objects to.
    """


_T = TypeVar('_T')
_FULL_FIRST_PAUSE = 0.005
_FULL_MOST_PAUSE = 0.1


def retry_while_full(operation: Callable[[], _T], full_timeout: float) -> _T:
    """``operation()``, retried for ``full_timeout`` s while it raises `StoreFullError`.

    What a connector's ``full_timeout`` option does when its channel refuses a
    put for its capacity: pauses of 5 ms, doubling up to 100 ms, between tries
    until evictions make room. The last error is raised, with a note saying how
    long the put waited.

    Raises:
        StoreFullError: If no try succeeded within ``full_timeout`` seconds
            (``0``: the first refusal is raised at once).
    """
    deadline = time.monotonic() + full_timeout
    pause = _FULL_FIRST_PAUSE
    while True:
        try:
            return operation()
        except StoreFullError as error:
            left = deadline - time.monotonic()
            if left <= 0:
                if full_timeout:
                    error.add_note(
                        f'The put waited {full_timeout:g} s (full_timeout) for room.'
                    )
                raise
            time.sleep(min(pause, left))
            pause = min(pause * 2, _FULL_MOST_PAUSE)


def check_key(connector: object, key: object, key_type: type) -> None:
    """Refuse a key that is not of the connector's key type.

    Raises:
        TypeError: If ``key`` is not a ``key_type`` (a key of another connector).
    """
    if not isinstance(key, key_type):
        raise TypeError(
            f'{type(connector).__name__} keys are {key_type.__name__}, not '
            f'{type(key).__name__}: {key!r} belongs to another connector.',
        )


@runtime_checkable
class Connector(Protocol[KeyT]):
    """Low-level access to a mediated channel that stores bytes under keys."""

    def close(self) -> None:
        """Release the connector's resources (idempotent)."""
        ...

    def config(self) -> dict[str, Any]:
        """The options that `from_config` needs to make an equivalent connector."""
        ...

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Connector[KeyT]:
        """Make a connector from the output of `config`."""
        ...

    def evict(self, key: KeyT) -> None:
        """Remove the object under ``key``; a missing key is not an error."""
        ...

    def exists(self, key: KeyT) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def get(self, key: KeyT) -> BytesLike | None:
        """The bytes under ``key``, or ``None`` when there are none."""
        ...

    def get_batch(self, keys: Sequence[KeyT]) -> list[BytesLike | None]:
        """`get` for many keys, in order."""
        ...

    def put(self, obj: BytesLike) -> KeyT:
        """Store bytes under a new key and return the key."""
        ...

    def put_batch(self, objs: Sequence[BytesLike]) -> list[KeyT]:
        """`put` for many objects, in order."""
        ...


@runtime_checkable
class DeferrableConnector(Connector[KeyT], Protocol[KeyT]):
    """A connector that can name a key before its object exists (for futures)."""

    def new_key(self, obj: BytesLike | None = None) -> KeyT:
        """A new key; with ``obj``, also store it (as `put`)."""
        ...

    def set(self, key: KeyT, obj: BytesLike) -> None:
        """Store bytes under a key made by `new_key`."""
        ...


@runtime_checkable
class FramedConnector(Protocol[_KeyT_co]):
    """A connector that writes a payload's buffers without joining them."""

    def put_frames(self, buffers: Sequence[BytesLike]) -> _KeyT_co:
        """Store the concatenation of ``buffers`` under a new key."""
        ...


@runtime_checkable
class FramedDeferrableConnector(Protocol[_KeyT_contra]):
    """A deferrable connector that writes a payload's buffers without joining them."""

    def set_frames(self, key: _KeyT_contra, buffers: Sequence[BytesLike]) -> None:
        """Store the concatenation of ``buffers`` under a key made by ``new_key``."""
        ...


@runtime_checkable
class BatchEvictConnector(Protocol[_KeyT_contra]):
    """A connector that evicts many keys at once."""

    def evict_batch(self, keys: Sequence[_KeyT_contra]) -> None:
        """`evict` for many keys; missing keys are not an error."""
        ...


@runtime_checkable
class SecretConnector(Protocol):
    """A connector that can authenticate its channel with its store's secret."""

    def use_secret(self, secret: bytes) -> None:
        """Take the secret of the store the connector is given to.

        A `Store` with a secret calls it once, as it is made (also when it is
        re-made from its config in another process); before any operation.
        """
        ...


@runtime_checkable
class WaitableConnector(Protocol[_KeyT_contra]):
    """A connector that can block until an object exists under a key.

    Consumers of a result that does not exist yet (`proxystore.futures`) call
    `wait` instead of polling when their store's connector has it. An
    implementation must not lose a wake-up: an object stored (by ``set``, from
    any process that shares the channel) after ``wait`` began must end the wait
    promptly, and an object already there must end it at once.
    """

    def wait(self, key: _KeyT_contra, timeout: float | None = None) -> bool:
        """Block until an object exists under ``key`` or ``timeout`` seconds pass.

        Args:
            key: Key of the object (usually made by ``new_key``).
            timeout: Most seconds to wait (``None``: no limit; ``0``: look once).

        Returns:
            Whether an object exists under the key (``False``: the timeout passed).
        """
        ...


class StoredObject(NamedTuple):
    """One object a channel holds, as `ListableConnector.list_objects` tells it."""

    key: tuple[Any, ...]
    """The object's key (the connector's key type)."""
    size: int
    """Bytes the object takes in the channel (its payload)."""
    age: float | None = None
    """Seconds since it was written, where the channel knows (``None``: not)."""
    owner: str | None = None
    """Who holds it, where the channel knows: a user, a process, an endpoint."""
    spilled: bool = False
    """Whether it was moved out of the channel's memory to its disk tier."""


@runtime_checkable
class ListableConnector(Protocol[_KeyT_co]):
    """A connector that can list the objects its channel holds for it.

    The listing covers the connector's own namespace (its folder, its key
    prefix, its endpoint), not everything on the server. It is a snapshot
    taken while others may write and evict: an object listed may be gone when
    it is read, and one written meanwhile may be missing.
    """

    def list_objects(self) -> Iterator[StoredObject]:
        """Every object of the connector's namespace, in no particular order."""
        ...


@runtime_checkable
class NetworkConnector(Protocol):
    """A connector that declares whether its channel crosses a network.

    ``network_channel = True`` (a class attribute, or a property) says the bytes
    the connector returns may have been written by other hosts: a Redis server,
    UCX peers, endpoints and their peers. A `proxystore.store.Store` without a
    secret warns once (`UnauthenticatedChannelWarning`) when it reads from such a
    connector, since it deserializes whatever the channel holds. Connectors that
    stay on the node (local, file, shared memory) and MPI, whose peers are the
    ranks of one job, do not declare it.
    """

    network_channel: bool
    """Whether bytes read through the connector may come from other hosts."""


def is_network_channel(connector: object) -> bool:
    """Whether ``connector`` declares ``network_channel = True`` (`NetworkConnector`).

    Anything else (no attribute, ``False``, a value that is not ``True``) is not
    a network channel.
    """
    return getattr(connector, 'network_channel', False) is True
