"""Type aliases used in store signatures (the names of ProxyStore 1.x)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeAlias
from typing import TypeVar

from proxystore.connectors.protocols import Connector
from proxystore.serialize import BytesLike

__all__ = ['ConnectorKeyT', 'ConnectorT', 'DeserializerT', 'SerializerT']

ConnectorT = TypeVar('ConnectorT', bound=Connector[Any])
"""A connector type."""
ConnectorKeyT: TypeAlias = tuple[Any, ...]
"""A connector's key (a NamedTuple)."""
SerializerT: TypeAlias = Callable[[Any], BytesLike]
"""A custom serializer: object to bytes."""
DeserializerT: TypeAlias = Callable[[BytesLike], Any]
"""A custom deserializer: bytes to object."""
