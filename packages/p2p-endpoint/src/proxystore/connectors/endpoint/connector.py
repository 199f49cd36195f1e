"""`EndpointConnector`: objects in ProxyStore endpoints, via the local one."""

from __future__ import annotations

import hmac
import pathlib
import secrets
import urllib.parse
import uuid
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from proxystore.connectors.endpoint import _http
from proxystore.connectors.endpoint.exceptions import EndpointConnectorError
from proxystore.connectors.endpoint.exceptions import EndpointIdentityError
from proxystore.connectors.endpoint.exceptions import EndpointNotRunningError
from proxystore.connectors.protocols import StoredObject
from proxystore.connectors.protocols import check_key
from proxystore.connectors.protocols import retry_while_full
from proxystore.endpoint.auth import identity_proof
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import get_configs
from proxystore.serialize import BytesLike

__all__ = ['DEFAULT_TIMEOUT', 'EndpointConnector', 'EndpointKey']

DEFAULT_TIMEOUT = 60.0
_PROBE_TIMEOUT = 2.0


class EndpointKey(NamedTuple):
    """Key of an object in an endpoint: it names the endpoint that owns it."""

    object_id: str
    """The object's id."""
    endpoint_id: str | None
    """UUID of the endpoint holding the object (``None``: the local one)."""


def _view(buffer: BytesLike) -> memoryview:
    view = memoryview(buffer)
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    return view.cast('B') if view.format != 'B' or view.ndim != 1 else view


def _prove(config: EndpointConfig) -> bool:
    """Whether the server at ``config``'s address is that endpoint.

    It must answer ``GET /endpoint`` with the configuration's UUID and, when
    the configuration has a token, a proof that it knows the token for a
    fresh random challenge (the token itself is not sent before that).

    Returns:
        ``False`` when a server answers but fails the proof.

    Raises:
        EndpointConnectorError: If nothing answers, or not as an endpoint.
    """
    parsed = urllib.parse.urlsplit(config.address)
    assert parsed.hostname is not None
    assert parsed.port is not None
    challenge = secrets.token_hex(16)
    response = _http.request(
        parsed.hostname,
        parsed.port,
        'GET',
        '/endpoint',
        {'challenge': challenge},
        timeout=_PROBE_TIMEOUT,
    )
    if response.status != 200:
        raise EndpointConnectorError(f'GET /endpoint answered {response.status}')
    answer = response.json()
    if answer.get('uuid') != str(config.uuid):
        raise EndpointConnectorError('another endpoint answers at the address')
    if config.token is None:
        return True
    expected = identity_proof(config.token, str(config.uuid), challenge)
    proof = answer.get('proof')
    return isinstance(proof, str) and hmac.compare_digest(proof, expected)


class EndpointConnector:
    """Connector to ProxyStore endpoints.

    The connector talks to one endpoint, the first of ``endpoints`` that is
    configured and running on this host. Keys name the endpoint that owns the
    object; operations on another endpoint's keys are forwarded by the local
    endpoint to that peer (over a WebRTC connection made through the relay),
    so a proxy made on one host resolves on any host running a peer endpoint.

    The endpoint's token is read from its configuration file (the one in
    ``proxystore_dir``), and the connector checks the server at the
    endpoint's address proves it knows that token before it sends it (see the
    security page of the documentation for what this proves).

    Args:
        endpoints: UUIDs of the endpoints this connector may use; on each host
            the one running there is used.
        proxystore_dir: Folder of the endpoint configurations (default: the
            user's, see `proxystore.endpoint.config.home_dir`).
        timeout: Most seconds an operation waits for the endpoint.
        full_timeout: Seconds a put waits, retrying, when the endpoint's
            storage is full (its ``max_total_bytes``), before raising
            `EndpointStorageFullError` (``0``: at once).

    Raises:
        ValueError: If ``endpoints`` is empty or holds a non-UUID,
            ``timeout`` is not positive or ``full_timeout`` is negative.
        EndpointNotRunningError: If none of ``endpoints`` runs on this host.
        EndpointIdentityError: If a server answers at a configured endpoint's
            address with its UUID but cannot prove it knows its token.
    """

    Key = EndpointKey
    network_channel = True
    """Objects come from peer endpoints on other hosts (`NetworkConnector`)."""

    def __init__(
        self,
        endpoints: Sequence[str | uuid.UUID],
        proxystore_dir: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        full_timeout: float = 0.0,
    ) -> None:
        if not full_timeout >= 0:
            raise ValueError(f'full_timeout must be 0 or more, not {full_timeout!r}.')
        self.full_timeout = full_timeout
        if isinstance(endpoints, str | uuid.UUID) or not endpoints:
            raise ValueError('endpoints must be a non-empty list of endpoint UUIDs.')
        try:
            self.endpoints = [uuid.UUID(str(e)) for e in endpoints]
        except ValueError:
            raise ValueError(f'endpoints must be UUIDs, not {endpoints!r}.') from None
        if not timeout > 0:
            raise ValueError(f'timeout must be positive, not {timeout!r}.')
        self.proxystore_dir = proxystore_dir
        self.timeout = timeout
        config = self._find_local()
        self.endpoint_uuid = config.uuid
        self.endpoint_name = config.name
        self.address = config.address
        self._headers = (
            {} if config.token is None else {'Authorization': f'Bearer {config.token}'}
        )
        parsed = urllib.parse.urlsplit(self.address)
        assert parsed.hostname is not None
        assert parsed.port is not None
        self._host = parsed.hostname
        self._port = parsed.port

    def _find_local(self) -> EndpointConfig:
        home = (
            None if self.proxystore_dir is None else pathlib.Path(self.proxystore_dir)
        )
        wanted = set(self.endpoints)
        configs = [c for c in get_configs(home) if c.uuid in wanted]
        impostors: list[str] = []
        for config in configs:
            try:
                proven = _prove(config)
            except (EndpointConnectorError, ValueError, AttributeError):
                continue
            if proven:
                return config
            impostors.append(f'{config.name} at {config.address}')
        if impostors:
            raise EndpointIdentityError(
                f'the server at the address of endpoint {", ".join(impostors)} '
                'answers with its UUID but cannot prove it holds the token of its '
                'configuration: another program holds the port, or the '
                'configuration changed since the endpoint started (restart it)'
            )
        names = ', '.join(c.name for c in configs) or 'none configured here'
        raise EndpointNotRunningError(
            f'none of the endpoints {[str(e) for e in self.endpoints]} is running on '
            f'this host (configured: {names}); start one with '
            '`proxystore-endpoint start NAME`',
        )

    def __repr__(self) -> str:
        return (
            f'EndpointConnector(endpoint={self.endpoint_name!r}, '
            f'uuid={self.endpoint_uuid}, address={self.address!r})'
        )

    def __enter__(self) -> EndpointConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connector (connections are shared by the process)."""

    def config(self) -> dict[str, Any]:
        """The connector's options."""
        config: dict[str, Any] = {
            'endpoints': [str(e) for e in self.endpoints],
            'proxystore_dir': self.proxystore_dir,
        }
        if self.timeout != DEFAULT_TIMEOUT:
            config['timeout'] = self.timeout
        if self.full_timeout:
            config['full_timeout'] = self.full_timeout
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EndpointConnector:
        """Make a connector from the output of `config` (finds this host's endpoint)."""
        return cls(**config)

    # --- requests -------------------------------------------------------------------

    def _request(
        self,
        method: str,
        route: str,
        key: EndpointKey,
        frames: Sequence[memoryview] = (),
    ) -> _http.Response:
        check_key(self, key, EndpointKey)
        if not isinstance(key.object_id, str) or not key.object_id:
            raise EndpointConnectorError(f'{key!r} has an invalid object id.')
        params = {'key': key.object_id}
        if key.endpoint_id is not None:
            params['endpoint'] = str(key.endpoint_id)
        response = _http.request(
            self._host,
            self._port,
            method,
            route,
            params,
            frames,
            timeout=self.timeout,
            headers=self._headers,
        )
        _http.raise_for_status(response, f'{route[1:]} of {key.object_id}')
        return response

    def _set(self, key: EndpointKey, frames: Sequence[memoryview]) -> None:
        """``POST /set``, retried for ``full_timeout`` while the storage is full."""
        retry_while_full(
            lambda: self._request('POST', '/set', key, frames), self.full_timeout
        )

    def _new_key(self) -> EndpointKey:
        return EndpointKey(str(uuid.uuid4()), str(self.endpoint_uuid))

    # --- operations -----------------------------------------------------------------

    def put(self, obj: BytesLike) -> EndpointKey:
        """Store bytes in the local endpoint and return their key."""
        return self.put_frames([obj])

    def put_frames(self, buffers: Sequence[BytesLike]) -> EndpointKey:
        """`put` of the join of ``buffers``, streamed one after the other."""
        key = self._new_key()
        self._set(key, [_view(b) for b in buffers])
        return key

    def put_batch(self, objs: Sequence[BytesLike]) -> list[EndpointKey]:
        """`put` for many objects."""
        return [self.put(obj) for obj in objs]

    def new_key(self, obj: BytesLike | None = None) -> EndpointKey:
        """A new key on the local endpoint; with ``obj``, also store it."""
        key = self._new_key()
        if obj is not None:
            self.set(key, obj)
        return key

    def set(self, key: EndpointKey, obj: BytesLike) -> None:
        """Store bytes under ``key`` (on the endpoint the key names)."""
        self._set(key, [_view(obj)])

    def get(self, key: EndpointKey) -> bytearray | None:
        """The bytes under ``key``, from the endpoint that owns them."""
        response = self._request('GET', '/get', key)
        return None if response.status == 404 else response.body

    def get_batch(self, keys: Sequence[EndpointKey]) -> list[BytesLike | None]:
        """`get` for many keys."""
        return [self.get(key) for key in keys]

    def list_objects(self) -> Iterator[StoredObject]:
        """The objects the local endpoint holds (``GET /objects``).

        The owner is the endpoint's name; endpoints keep no time of writing.
        """
        response = _http.request(
            self._host,
            self._port,
            'GET',
            '/objects',
            {},
            timeout=self.timeout,
            headers=self._headers,
        )
        _http.raise_for_status(response, 'listing the objects')
        try:
            rows = [(str(k), int(n)) for k, n in response.json()['objects']]
        except (ValueError, KeyError, TypeError) as error:
            raise EndpointConnectorError(
                f'the endpoint at {self.address} answered GET /objects with '
                f'something other than a list of objects: {error!r}'
            ) from None
        for object_id, size in rows:
            yield StoredObject(
                key=EndpointKey(object_id, str(self.endpoint_uuid)),
                size=size,
                owner=self.endpoint_name,
            )

    def exists(self, key: EndpointKey) -> bool:
        """Whether the endpoint that owns ``key`` holds an object under it."""
        return bool(self._request('GET', '/exists', key).json()['exists'])

    def evict(self, key: EndpointKey) -> None:
        """Remove the object under ``key`` from its endpoint; missing is fine."""
        self._request('POST', '/evict', key)

    def evict_batch(self, keys: Sequence[EndpointKey]) -> None:
        """`evict` for many keys."""
        for key in keys:
            self.evict(key)
