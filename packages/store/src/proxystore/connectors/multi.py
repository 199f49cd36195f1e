"""Multi-connector: route each object to one of several connectors by policy.

Each connector has a `Policy`: object sizes, tags and hosts it accepts, and a
priority. A put goes to the valid connector of highest priority; the key records
which one, so gets, exists and evicts go to it. Connectors whose policy does not
match this host are *dormant* in a process re-created from the config: their
keys cannot be used there (`MultiConnectorError`).
"""

from __future__ import annotations

import dataclasses
import re
import socket
import sys
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import TypedDict

from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import ListableConnector
from proxystore.connectors.protocols import StoredObject
from proxystore.connectors.protocols import check_key
from proxystore.connectors.protocols import is_network_channel
from proxystore.connectors.registry import connector_type
from proxystore.connectors.registry import kind_of
from proxystore.serialize import BytesLike

__all__ = [
    'ConnectorPolicyConfig',
    'MultiConnector',
    'MultiConnectorError',
    'MultiKey',
    'Policy',
    'PolicyDict',
]


class MultiConnectorError(ConnectorError):
    """No connector suits an object, or a key names an unusable connector."""


class MultiKey(NamedTuple):
    """Key of an object in a `MultiConnector`."""

    connector_name: str
    """Name of the connector holding the object."""
    connector_key: Any
    """The object's key in that connector."""


class PolicyDict(TypedDict):
    """A `Policy` as a dictionary."""

    priority: int
    host_pattern: list[str] | str | None
    min_size_bytes: int
    max_size_bytes: int
    subset_tags: list[str]
    superset_tags: list[str]


@dataclasses.dataclass
class Policy:
    """Which objects a connector of a `MultiConnector` takes.

    Attributes:
        priority: Connectors are tried from the highest priority down.
        host_pattern: Regular expression(s) one of which the hostname must fully
            match (``None``: any host).
        min_size_bytes: Smallest object size accepted.
        max_size_bytes: Largest object size accepted.
        subset_tags: A put's ``subset_tags`` must all be among these.
        superset_tags: A put's ``superset_tags`` must include all of these.
    """

    priority: int = 0
    host_pattern: Iterable[str] | str | None = None
    min_size_bytes: int = 0
    max_size_bytes: int = sys.maxsize
    subset_tags: list[str] = dataclasses.field(default_factory=list)
    superset_tags: list[str] = dataclasses.field(default_factory=list)

    def is_valid(
        self,
        *,
        size_bytes: int | None = None,
        subset_tags: Iterable[str] | None = None,
        superset_tags: Iterable[str] | None = None,
    ) -> bool:
        """Whether an object of this size and these tags fits, on this host."""
        if size_bytes is not None and not (
            self.min_size_bytes <= size_bytes <= self.max_size_bytes
        ):
            return False
        if subset_tags is not None and not set(subset_tags) <= set(self.subset_tags):
            return False
        if superset_tags is not None and not set(superset_tags) >= set(
            self.superset_tags,
        ):
            return False
        return self.is_valid_on_host()

    def is_valid_on_host(self) -> bool:
        """Whether this host's name matches `host_pattern`."""
        if self.host_pattern is None:
            return True
        patterns = (
            [self.host_pattern]
            if isinstance(self.host_pattern, str)
            else list(self.host_pattern)
        )
        hostname = socket.gethostname()
        return any(re.fullmatch(pattern, hostname) for pattern in patterns)

    def as_dict(self) -> PolicyDict:
        """The policy as a dictionary (what `config` stores)."""
        host = self.host_pattern
        return PolicyDict(
            priority=self.priority,
            host_pattern=host if host is None or isinstance(host, str) else list(host),
            min_size_bytes=self.min_size_bytes,
            max_size_bytes=self.max_size_bytes,
            subset_tags=list(self.subset_tags),
            superset_tags=list(self.superset_tags),
        )


ConnectorPolicyConfig = tuple[str, dict[str, Any], PolicyDict]
"""A connector in a config: kind (or import path), its config, its policy."""


class MultiConnector:
    """Routes objects to connectors by policy.

    Args:
        connectors: Name to ``(connector, policy)``.
        dormant_connectors: Name to config of connectors not usable on this host
            (kept so that `config` can re-create them elsewhere).

    Raises:
        ValueError: If no connector is given or a name is used twice.
    """

    Key = MultiKey

    def __init__(
        self,
        connectors: dict[str, tuple[Connector[Any], Policy]],
        dormant_connectors: dict[str, ConnectorPolicyConfig] | None = None,
    ) -> None:
        dormant = dict(dormant_connectors or {})
        if not connectors and not dormant:
            raise ValueError('MultiConnector needs at least one connector.')
        if set(connectors) & set(dormant):
            raise ValueError(
                'A connector name is both active and dormant: '
                f'{sorted(set(connectors) & set(dormant))}.',
            )
        self.connectors = dict(connectors)
        self.dormant_connectors = dormant
        self._order = sorted(
            self.connectors,
            key=lambda name: self.connectors[name][1].priority,
            reverse=True,
        )

    def __repr__(self) -> str:
        names = ', '.join(f'{n}={c!r}' for n, (c, _) in self.connectors.items())
        return f'{type(self).__name__}({names})'

    def __enter__(self) -> MultiConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _choose(
        self,
        size: int,
        subset_tags: Iterable[str],
        superset_tags: Iterable[str],
    ) -> str:
        subset, superset = list(subset_tags), list(superset_tags)
        for name in self._order:
            policy = self.connectors[name][1]
            if policy.is_valid(
                size_bytes=size,
                subset_tags=subset,
                superset_tags=superset,
            ):
                return name
        raise MultiConnectorError(
            f'No connector policy was suitable for an object of {size} bytes '
            f'with subset_tags={subset} and superset_tags={superset}.',
        )

    def _connector(self, key: MultiKey) -> Connector[Any]:
        check_key(self, key, MultiKey)
        name = key.connector_name
        if name in self.connectors:
            return self.connectors[name][0]
        if name in self.dormant_connectors:
            raise MultiConnectorError(
                f'The object is in connector "{name}", which is dormant on this '
                "host (its policy's host pattern does not match).",
            )
        raise MultiConnectorError(f'Unknown connector "{name}" in key {key!r}.')

    @property
    def network_channel(self) -> bool:
        """Whether an active connector is a network channel (`NetworkConnector`)."""
        return any(is_network_channel(c) for c, _ in self.connectors.values())

    def close(self) -> None:
        """Close every active connector."""
        for connector, _ in self.connectors.values():
            connector.close()

    def config(self) -> dict[str, Any]:
        """Every connector (active and dormant) with its config and policy."""
        config: dict[str, Any] = {
            name: (kind_of(type(connector)), connector.config(), policy.as_dict())
            for name, (connector, policy) in self.connectors.items()
        }
        config.update(self.dormant_connectors)  # a new dict: no mutation
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MultiConnector:
        """Make the connectors valid on this host; the others stay dormant."""
        connectors: dict[str, tuple[Connector[Any], Policy]] = {}
        dormant: dict[str, ConnectorPolicyConfig] = {}
        for name, (kind, options, policy_dict) in config.items():
            policy = Policy(**policy_dict)
            if policy.is_valid_on_host():
                connector = connector_type(kind).from_config(dict(options))
                connectors[name] = (connector, policy)
            else:
                dormant[name] = (kind, options, policy_dict)
        return cls(connectors, dormant)

    def evict(self, key: MultiKey) -> None:
        """Evict from the connector named in the key."""
        self._connector(key).evict(key.connector_key)

    def evict_batch(self, keys: Sequence[MultiKey]) -> None:
        """`evict` for many keys."""
        for key in keys:
            self.evict(key)

    def list_objects(self) -> Iterator[StoredObject]:
        """The objects of every connector made so far (dormant ones hold none).

        Raises:
            MultiConnectorError: If one of them cannot list its objects.
        """
        for name, (connector, _) in self.connectors.items():
            if not isinstance(connector, ListableConnector):
                raise MultiConnectorError(
                    f'The connector {name!r} ({type(connector).__name__}) of this '
                    'MultiConnector cannot list its objects.'
                )
            for obj in connector.list_objects():
                yield obj._replace(key=MultiKey(name, obj.key))

    def exists(self, key: MultiKey) -> bool:
        """Ask the connector named in the key."""
        return self._connector(key).exists(key.connector_key)

    def get(self, key: MultiKey) -> BytesLike | None:
        """Get from the connector named in the key."""
        return self._connector(key).get(key.connector_key)

    def get_batch(self, keys: Sequence[MultiKey]) -> list[BytesLike | None]:
        """`get` for many keys, one batch per connector."""
        results: list[BytesLike | None] = [None] * len(keys)
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            check_key(self, key, MultiKey)
            groups.setdefault(key.connector_name, []).append(i)
        for indices in groups.values():
            connector = self._connector(keys[indices[0]])
            datas = connector.get_batch([keys[i].connector_key for i in indices])
            for i, data in zip(indices, datas, strict=True):
                results[i] = data
        return results

    def put(
        self,
        obj: BytesLike,
        subset_tags: Iterable[str] = (),
        superset_tags: Iterable[str] = (),
    ) -> MultiKey:
        """Put into the valid connector of highest priority.

        Raises:
            MultiConnectorError: If no connector's policy fits.
        """
        name = self._choose(memoryview(obj).nbytes, subset_tags, superset_tags)
        return MultiKey(name, self.connectors[name][0].put(obj))

    def put_frames(
        self,
        buffers: Sequence[BytesLike],
        subset_tags: Iterable[str] = (),
        superset_tags: Iterable[str] = (),
    ) -> MultiKey:
        """`put` of the concatenated buffers, unjoined where the connector can.

        Raises:
            MultiConnectorError: If no connector's policy fits.
        """
        size = sum(len(memoryview(b).cast('B')) for b in buffers)
        name = self._choose(size, subset_tags, superset_tags)
        connector = self.connectors[name][0]
        put_frames = getattr(connector, 'put_frames', None)
        if put_frames is not None:
            return MultiKey(name, put_frames(buffers))
        return MultiKey(name, connector.put(b''.join(buffers)))

    def put_batch(
        self,
        objs: Sequence[BytesLike],
        subset_tags: Iterable[str] = (),
        superset_tags: Iterable[str] = (),
    ) -> list[MultiKey]:
        """`put` for many objects, one batch per chosen connector.

        Raises:
            MultiConnectorError: If no connector's policy fits an object.
        """
        names = [
            self._choose(memoryview(obj).nbytes, subset_tags, superset_tags)
            for obj in objs
        ]
        keys: list[MultiKey | None] = [None] * len(objs)
        for name in set(names):
            indices = [i for i, chosen in enumerate(names) if chosen == name]
            batch = self.connectors[name][0].put_batch([objs[i] for i in indices])
            for i, key in zip(indices, batch, strict=True):
                keys[i] = MultiKey(name, key)
        return keys  # type: ignore[return-value]
