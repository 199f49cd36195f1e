"""Stores of topics: how producers describe them and consumers find them.

A store is described by a msgpack map (its name, connector kind and options,
and plain settings), identified by a short hash of that description. The
description never holds code: a store with a custom serializer is described
by name only, and the consumer must have that store itself.

Whoever can write to the broker can forge a description, so a consumer makes a
store from one only when it is safe to (see `StoreDirectory`): by default only
for stores authenticated by a secret this process holds, whose payloads a
forger cannot produce, and only at the hosts of its allow-list (`HostPolicy`),
so a forger cannot point the consumer at a server of its choosing, and only
under the paths of its allow-list (`PathPolicy`), so a forger cannot point it
at a folder of its choosing either.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import pathlib
import urllib.parse
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

import msgpack

from proxystore.connectors.shm import default_directory as default_shm_directory
from proxystore.store import Store
from proxystore.store import get_or_create_store
from proxystore.store import get_store
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.config import connector_kinds
from proxystore.store.keyring import find_secret
from proxystore.stream.exceptions import HostNotAllowedError
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import PathNotAllowedError
from proxystore.stream.exceptions import UnknownStoreError

__all__ = [
    'ALLOWED_HOSTS_ENV',
    'ALLOWED_PATHS_ENV',
    'HostPolicy',
    'PathPolicy',
    'StoreDirectory',
    'describe',
    'hosts_of',
    'paths_of',
    'store_id',
]

# Connectors whose options name other connectors (by kind, maybe by import
# path): never made from a description.
_NESTING = frozenset({'multi'})
# Stores a consumer makes from descriptions, at most (a forger could name many).
MAX_STORES = 64

_SETTINGS: dict[str, type] = {
    'cache_size': int,
    'metrics': bool,
    'populate_target': bool,
    'secret_id': str,
}


def describe(store: Store[Any]) -> dict[str, Any]:
    """A code-free description of ``store`` for consumers.

    Raises:
        TypeError: If the connector's options are not msgpack values.
    """
    config = store.config()
    if config.connector.kind in _NESTING:
        raise TypeError(
            f'Store "{store.name}" has a {config.connector.kind} connector, which '
            'streams do not support: give each topic a store of one connector.',
        )
    descriptor: dict[str, Any] = {'name': config.name}
    if config.serializer is not None or config.deserializer is not None:
        descriptor['custom'] = True  # code cannot travel: consumers need the store
    else:
        descriptor['kind'] = config.connector.kind
        descriptor['options'] = config.connector.options
        for name in _SETTINGS:
            value = getattr(config, name)
            if value != StoreConfig.model_fields[name].default:
                descriptor[name] = value
    try:
        msgpack.packb(descriptor, use_bin_type=True)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f'Store "{store.name}" cannot be described to consumers: its '
            f'connector options are not plain values ({e}).',
        ) from e
    return descriptor


def store_id(descriptor: dict[str, Any]) -> str:
    """A short id of a description (equal descriptions, equal ids)."""
    packed = msgpack.packb(descriptor, use_bin_type=True)
    return hashlib.blake2b(packed, digest_size=8).hexdigest()


def _config(descriptor: dict[str, Any]) -> StoreConfig:
    name = descriptor.get('name')
    kind = descriptor.get('kind')
    options = descriptor.get('options')
    if not isinstance(name, str) or not name:
        raise MalformedEventError('A store description has no valid "name".')
    if not isinstance(kind, str) or not isinstance(options, dict):
        raise MalformedEventError(
            f'The description of store "{name}" needs "kind" and "options".',
        )
    if kind not in connector_kinds() or kind in _NESTING:
        # Only installed connectors, by entry-point name, that name no other
        # connector: a description never makes a consumer import a module.
        raise MalformedEventError(
            f'Store "{name}" uses connector "{kind}", which a stream cannot use '
            f'here (usable: {", ".join(sorted(set(connector_kinds()) - _NESTING))}).',
        )
    # A copy made here never deletes shared data, whatever the sender says.
    options = {k: v for k, v in options.items() if k != 'clear'}
    settings: dict[str, Any] = {}
    for field, kind_of in _SETTINGS.items():
        if field in descriptor:
            value = descriptor[field]
            if not isinstance(value, kind_of):
                raise MalformedEventError(
                    f'Setting "{field}" of store "{name}" must be '
                    f'{kind_of.__name__}, not {type(value).__name__}.',
                )
            settings[field] = value
    try:
        return StoreConfig(
            name=name,
            connector=ConnectorConfig(kind=kind, options=options),
            **settings,
        )
    except ValueError as e:
        raise MalformedEventError(f'Store "{name}" is described wrongly: {e}') from e


ALLOWED_HOSTS_ENV = 'PROXYSTORE_STREAM_ALLOWED_HOSTS'
"""Comma-separated hosts consumers may connect to when not given ``allowed_hosts``."""

_LOOPBACK = ('localhost', '127.0.0.0/8', '::1')
# Option names (at any depth of a connector's options) that name a host.
_HOST_OPTIONS = frozenset({'hostname', 'host', 'address'})
_URL_OPTIONS = frozenset({'url'})
_NODE_LIST_OPTIONS = frozenset({'startup_nodes'})
_LOCAL_PATH_OPTIONS = frozenset({'unix_socket_path'})
_MAX_DEPTH = 16


def _normal(host: str) -> str:
    return host.strip().strip('[]').rstrip('.').lower()


def hosts_of(options: Any) -> set[str]:
    """The hosts that connector options name (lower case, IPv6 unbracketed).

    Recognized at any depth: ``hostname``, ``host`` and ``address`` (a host),
    ``url`` (its host; ``unix://`` and a URL without host are ``localhost``),
    ``startup_nodes`` (``[host, port]`` pairs) and ``unix_socket_path``
    (``localhost``). Options of a connector that names hosts otherwise are
    not seen: give such stores to the consumer.

    Raises:
        MalformedEventError: If a URL cannot be parsed or a host is not a string.
    """
    found: set[str] = set()
    for key, value in _leaves(options, whole=_NODE_LIST_OPTIONS):
        if key in _NODE_LIST_OPTIONS and isinstance(value, list | tuple):
            for node in value:
                if not isinstance(node, list | tuple) or not node:
                    raise MalformedEventError(
                        f'A startup node must be [host, port], not {node!r}.',
                    )
                found.update(_host('host', node[0]))
        else:
            found.update(_host(key, value))
    return found


def _host(key: str | None, value: Any) -> set[str]:
    """The host one option names (none if it names no host)."""
    if key in _HOST_OPTIONS and value is not None:
        if not isinstance(value, str):
            raise MalformedEventError(
                f'Option "{key}" must name a host, not {type(value).__name__}.',
            )
        return {_normal(value)}
    if key in _URL_OPTIONS and isinstance(value, str):
        try:
            parts = urllib.parse.urlsplit(value)
            host = parts.hostname
        except ValueError as e:
            raise MalformedEventError(f'A URL option is invalid: {e}') from e
        unix = parts.scheme.lower() == 'unix'
        return {'localhost' if unix or not host else _normal(host)}
    if key in _LOCAL_PATH_OPTIONS and value is not None:
        return {'localhost'}
    return set()


def _leaves(
    options: Any, whole: frozenset[str] = frozenset()
) -> Iterator[tuple[str | None, Any]]:
    """Every ``(option name, value)`` of nested connector options.

    Items of a list are under the list's name; a list under a name in
    ``whole`` is one value.

    Raises:
        MalformedEventError: If the options are nested too deeply.
    """

    def walk(
        value: Any, key: str | None, depth: int
    ) -> Iterator[tuple[str | None, Any]]:
        if depth > _MAX_DEPTH:
            raise MalformedEventError('Connector options are nested too deeply.')
        if isinstance(value, dict):
            for name, item in value.items():
                yield from walk(
                    item, name if isinstance(name, str) else None, depth + 1
                )
        elif isinstance(value, list | tuple) and key not in whole:
            for item in value:
                yield from walk(item, key, depth + 1)
        else:
            yield key, value

    return walk(options, None, 0)


class HostPolicy:
    """Which hosts a consumer may connect to for stores described by the broker.

    Each entry is a host name (matched exactly, case-insensitively, never
    resolved: DNS is the forger's as much as anyone's), an IP address, a
    network (``10.0.0.0/8``, ``fd00::/8``) or ``*`` (any host).

    Raises:
        ValueError: If an entry is empty or a malformed network.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self.entries = tuple(entry.strip() for entry in entries)
        self._any = False
        self._names: set[str] = set()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in self.entries:
            self.add(entry)

    def add(self, entry: str) -> None:
        """Allow one more host, address or network.

        Raises:
            ValueError: If ``entry`` is empty or a malformed network.
        """
        text = _normal(entry)
        if not text:
            raise ValueError('An allowed host must not be empty.')
        if text == '*':
            self._any = True
            return
        try:
            self._networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            if '/' in text:
                raise ValueError(
                    f'Allowed host {entry!r} is not a valid network.'
                ) from None
            self._names.add(text)

    @classmethod
    def default(cls, allowed_hosts: Iterable[str] | str | None = None) -> HostPolicy:
        """The policy of ``allowed_hosts``, else of the environment, else loopback.

        ``allowed_hosts`` may be a list or one comma-separated string; when it
        is ``None``, ``PROXYSTORE_STREAM_ALLOWED_HOSTS`` (comma-separated) is
        used if set and not empty, else loopback (``localhost``,
        ``127.0.0.0/8``, ``::1``).

        Raises:
            ValueError: If an entry is malformed.
        """
        if allowed_hosts is None:
            allowed_hosts = os.environ.get(ALLOWED_HOSTS_ENV, '').strip() or None
        if allowed_hosts is None:
            return cls(_LOOPBACK)
        if isinstance(allowed_hosts, str):
            allowed_hosts = [h.strip() for h in allowed_hosts.split(',') if h.strip()]
        return cls(allowed_hosts)

    def allows(self, host: str) -> bool:
        """Whether ``host`` (a name or an address) is allowed."""
        if self._any:
            return True
        text = _normal(host)
        if text in self._names:
            return True
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def __repr__(self) -> str:
        shown = ', '.join(self.entries) if self.entries else 'none'
        return f'HostPolicy({shown})'


ALLOWED_PATHS_ENV = 'PROXYSTORE_STREAM_ALLOWED_PATHS'
"""Paths (``os.pathsep``-separated) consumers may use unless given ``allowed_paths``."""

# Option names (at any depth of a connector's options) that name a path.
_PATH_OPTIONS = frozenset(
    {'store_dir', 'directory', 'proxystore_dir', 'unix_socket_path'},
)


def paths_of(options: Any) -> set[str]:
    """The paths that connector options name, as given (not resolved).

    Recognized at any depth: ``store_dir`` and ``directory`` (file and
    shared-memory connectors), ``proxystore_dir`` (the endpoint connector's
    folder of endpoint configurations), ``unix_socket_path`` and the path of a
    ``unix://`` ``url`` (Redis). An option set to ``None`` (the connector's
    default) names no path.

    Raises:
        MalformedEventError: If such an option is not a string or is empty, or
            the options are nested too deeply.
    """
    found: set[str] = set()
    for key, value in _leaves(options):
        if key in _PATH_OPTIONS and value is not None:
            if not isinstance(value, str) or not value:
                raise MalformedEventError(
                    f'Option "{key}" must name a path, not {value!r}.',
                )
            found.add(value)
        elif key in _URL_OPTIONS and isinstance(value, str):
            try:
                parts = urllib.parse.urlsplit(value)
            except ValueError as e:
                raise MalformedEventError(f'A URL option is invalid: {e}') from e
            if parts.scheme.lower() == 'unix' and parts.path:
                found.add(urllib.parse.unquote(parts.path))
    return found


def _default_endpoint_home() -> str | None:
    # As proxystore.endpoint.config.home_dir (which a stream may not import):
    # $PROXYSTORE_HOME, else the user's data folder of proxystore. Without
    # platformdirs the endpoint connector is not installed: no home.
    explicit = os.environ.get('PROXYSTORE_HOME')
    if explicit:
        return os.path.expanduser(explicit)
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - the endpoint package brings it
        return None
    return platformdirs.user_data_dir('proxystore', appauthor=False)


class PathPolicy:
    """Under which paths a consumer may make stores the broker describes.

    Each entry is a folder (or a file, such as a socket): a path is allowed if
    it is an entry or lies under one, compared on whole path components after
    both are resolved (`os.path.realpath`: symbolic links and ``..`` cannot
    lead out of an entry). ``/data`` allows ``/data/objects``, never
    ``/database``.

    Raises:
        ValueError: If an entry is empty.
    """

    def __init__(self, entries: Iterable[str | os.PathLike[str]]) -> None:
        self.entries: tuple[str, ...] = ()
        self._resolved: list[tuple[str, ...]] = []
        for entry in entries:
            self.add(entry)

    @staticmethod
    def _parts(path: str) -> tuple[str, ...]:
        return pathlib.PurePath(os.path.realpath(path)).parts

    def add(self, entry: str | os.PathLike[str]) -> None:
        """Allow one more path (a relative one is taken from the current folder).

        Raises:
            ValueError: If ``entry`` is empty.
        """
        text = os.fspath(entry).strip()
        if not text:
            raise ValueError('An allowed path must not be empty.')
        text = os.path.expanduser(text)
        self.entries = (*self.entries, text)
        self._resolved.append(self._parts(text))

    @classmethod
    def default(
        cls, allowed_paths: Iterable[str | os.PathLike[str]] | str | None = None
    ) -> PathPolicy:
        """The policy of ``allowed_paths``, else of the environment, else defaults.

        ``allowed_paths`` may be a list or one string of paths separated by
        `os.pathsep`; when it is ``None``, ``PROXYSTORE_STREAM_ALLOWED_PATHS``
        (the same) is used if set and not empty, else the default
        shared-memory folder (``/dev/shm``) and the default endpoint home
        (``$PROXYSTORE_HOME``, else the user's data folder of proxystore).

        Raises:
            ValueError: If an entry is empty.
        """
        if allowed_paths is None:
            allowed_paths = os.environ.get(ALLOWED_PATHS_ENV, '').strip() or None
        if allowed_paths is None:
            home = _default_endpoint_home()
            defaults = [default_shm_directory()]
            return cls(defaults if home is None else [*defaults, home])
        if isinstance(allowed_paths, str):
            allowed_paths = [
                p.strip() for p in allowed_paths.split(os.pathsep) if p.strip()
            ]
        return cls(allowed_paths)

    def allows(self, path: str) -> bool:
        """Whether ``path`` (absolute) is an allowed path or lies under one."""
        if not os.path.isabs(path):
            return False  # relative to what? Never the consumer's folder.
        parts = self._parts(path)
        return any(parts[: len(entry)] == entry for entry in self._resolved)

    def __repr__(self) -> str:
        shown = os.pathsep.join(self.entries) if self.entries else 'none'
        return f'PathPolicy({shown})'


class StoreDirectory:
    """The stores a consumer knows, by id.

    Args:
        stores: Stores the consumer already has (matched by their descriptions).
        trust_broker: Make stores from any valid description. By default a
            store is made only if its description names a secret this process
            holds (``PROXYSTORE_SECRET``, `proxystore.store.keyring`): payloads
            are then authenticated, and a forged description (pointing at a
            server of the forger's) yields nothing that is unpickled. Trust the
            broker only if whoever can write to it may run code here.
        allowed_hosts: Hosts a store made from a description may be at
            (`HostPolicy` entries, or one comma-separated string). By default
            ``PROXYSTORE_STREAM_ALLOWED_HOSTS``, else loopback. The hosts of
            ``stores`` are always allowed: the consumer connects to them
            anyway, so a description naming one of them points it nowhere new.
            A description naming another host raises `HostNotAllowedError`
            before anything connects, trusted broker or not.
        allowed_paths: Paths under which a store made from a description may
            keep or find its data (`PathPolicy` entries, or one string
            separated by `os.pathsep`). By default
            ``PROXYSTORE_STREAM_ALLOWED_PATHS``, else ``/dev/shm`` and the
            default endpoint home. The paths of ``stores`` are always allowed.
            A description naming another path (see `paths_of`), or a relative
            one, raises `PathNotAllowedError` before any store is made,
            trusted broker or not.

    Raises:
        ValueError: If an allowed host is malformed or an allowed path empty.
    """

    def __init__(
        self,
        stores: Iterable[Store[Any]] = (),
        *,
        trust_broker: bool = False,
        allowed_hosts: Iterable[str] | str | None = None,
        allowed_paths: Iterable[str | os.PathLike[str]] | str | None = None,
    ) -> None:
        self.trust_broker = trust_broker
        self.hosts = HostPolicy.default(allowed_hosts)
        self.paths = PathPolicy.default(allowed_paths)
        self._by_id: dict[str, Store[Any]] = {}
        self._made = 0
        for store in stores:
            descriptor = describe(store)
            self._by_id[store_id(descriptor)] = store
            for host in sorted(hosts_of(descriptor.get('options', {}))):
                if not self.hosts.allows(host):
                    self.hosts.add(host)
            for path in sorted(paths_of(descriptor.get('options', {}))):
                if not self.paths.allows(path):
                    self.paths.add(path)

    def announce(self, identifier: str, descriptor: dict[str, Any]) -> None:
        """Learn the store of an id from its description (once per id).

        Raises:
            MalformedEventError: If the description is invalid or does not match
                the id, names a connector that cannot be used here, or too many
                stores were described.
            HostNotAllowedError: If the description names a host that is not
                allowed (nothing is connected to).
            PathNotAllowedError: If the description names a path that is not
                allowed, or a relative one (no store is made).
            UnknownStoreError: If the store cannot be made here safely (no
                secret this process holds) or has a custom serializer and this
                process has no store of its name.
        """
        if identifier in self._by_id:
            return
        try:
            expected = store_id(descriptor)
        except (TypeError, ValueError) as e:
            raise MalformedEventError(f'A store description is invalid: {e}') from e
        if identifier != expected:
            raise MalformedEventError(
                f'A store description does not match its id {identifier} '
                f'(it hashes to {expected}).',
            )
        name = descriptor.get('name')
        if descriptor.get('custom'):
            store = get_store(name) if isinstance(name, str) else None
            if store is None:
                raise UnknownStoreError(
                    f'Store "{name}" has a custom serializer, which cannot travel '
                    'with events: register that store in the consumer process.',
                )
            self._by_id[identifier] = store
            return
        config = _config(descriptor)
        registered = get_store(config.name)
        if registered is not None and store_id(describe(registered)) == identifier:
            self._by_id[identifier] = registered  # this process has that store
            return
        self._check_hosts(config)
        self._check_paths(config)
        if not self.trust_broker and (
            config.secret_id is None or find_secret(config.secret_id) is None
        ):
            raise UnknownStoreError(
                f'Store "{config.name}" was described by the broker, but this '
                'consumer makes stores from descriptions only when they name a '
                'secret it holds (payloads are then authenticated). Give the '
                'store to StreamConsumer(stores=[...]), register it, set '
                'PROXYSTORE_SECRET, or pass trust_broker=True if every writer to '
                'the broker is trusted.',
            )
        if self._made >= MAX_STORES:
            raise MalformedEventError(
                f'More than {MAX_STORES} stores were described to this consumer.',
            )
        try:
            store = get_or_create_store(config, register=True)
        except MalformedEventError:
            raise
        except Exception as e:  # a connector refusing the options
            raise MalformedEventError(
                f'Store "{config.name}" cannot be made from its description: {e}',
            ) from e
        self._made += 1
        self._by_id[identifier] = store

    def _check_hosts(self, config: StoreConfig) -> None:
        for host in sorted(hosts_of(config.connector.options)):
            if not self.hosts.allows(host):
                raise HostNotAllowedError(
                    f'Store "{config.name}" was described by the broker at host '
                    f"'{host}', which this consumer does not connect to (allowed: "
                    f'{", ".join(self.hosts.entries) or "none"}, and the hosts of '
                    'its stores). Allow it with StreamConsumer(allowed_hosts=[...]) '
                    f'or {ALLOWED_HOSTS_ENV}=host,... (a name, an address, a '
                    "network such as 10.0.0.0/8, or '*'), or give the store to "
                    'StreamConsumer(stores=[...]).',
                )

    def _check_paths(self, config: StoreConfig) -> None:
        for path in sorted(paths_of(config.connector.options)):
            if self.paths.allows(path):
                continue
            if not os.path.isabs(path):
                why = 'which is relative (a description must name absolute paths)'
            else:
                why = 'which this consumer does not use'
            raise PathNotAllowedError(
                f'Store "{config.name}" was described by the broker with path '
                f"'{path}', {why} (allowed: "
                f'{os.pathsep.join(self.paths.entries) or "none"}, with what lies '
                'under them; the paths of its stores are among them). Allow it with '
                'StreamConsumer(allowed_paths=[...]) or '
                f'{ALLOWED_PATHS_ENV}=/a/folder{os.pathsep}..., or give the '
                'store to StreamConsumer(stores=[...]).',
            )

    def get(self, identifier: str) -> Store[Any]:
        """The store of an id.

        Raises:
            UnknownStoreError: If it was never announced nor given.
        """
        try:
            return self._by_id[identifier]
        except KeyError:
            raise UnknownStoreError(
                f'An event names store {identifier}, which this consumer has not '
                'seen announced (it joined after the announcement?); give the '
                'store to StreamConsumer(stores=[...]).',
            ) from None

    def stores(self) -> list[Store[Any]]:
        """Every store known, once each."""
        return list({id(s): s for s in self._by_id.values()}.values())
