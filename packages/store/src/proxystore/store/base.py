"""The `Store`: objects in, keys and proxies out, over any connector."""

from __future__ import annotations

import importlib
import logging
import threading
import warnings
from collections.abc import Callable
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar

from pydantic import SecretBytes

from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import DeferrableConnector
from proxystore.connectors.protocols import SecretConnector
from proxystore.connectors.protocols import check_key
from proxystore.connectors.protocols import is_network_channel
from proxystore.connectors.registry import kind_of
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyLocker
from proxystore.serialize import REQUIRE_SECRET_ENV
from proxystore.serialize import Payload
from proxystore.serialize import check_secret
from proxystore.serialize import deserialize as default_deserialize
from proxystore.serialize import secret_required
from proxystore.serialize import serialize as default_serialize
from proxystore.serialize._fork import renew_after_fork
from proxystore.serialize.codec import CUSTOM_SERIALIZER_ID
from proxystore.serialize.codec import Codec
from proxystore.store import _registry
from proxystore.store.cache import LRUCache
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import KeyBindingError
from proxystore.store.exceptions import MissingSecretError
from proxystore.store.exceptions import NonProxiableTypeError
from proxystore.store.exceptions import SecretRequiredError
from proxystore.store.exceptions import StoreClosedError
from proxystore.store.exceptions import StoreExistsError
from proxystore.store.exceptions import UnauthenticatedChannelWarning
from proxystore.store.factory import StoreFactory
from proxystore.store.keyring import SECRET_ENV
from proxystore.store.keyring import add_secret
from proxystore.store.keyring import find_secret
from proxystore.store.keyring import secret_id
from proxystore.store.metrics import NO_MEASUREMENT
from proxystore.store.metrics import Measurement
from proxystore.store.metrics import StoreMetrics
from proxystore.store.timer import Timer
from proxystore.store.types import ConnectorKeyT
from proxystore.store.types import ConnectorT
from proxystore.store.types import DeserializerT
from proxystore.store.types import SerializerT

if TYPE_CHECKING:
    from proxystore.store.lifetimes import Lifetime

__all__ = ['CUSTOM_SERIALIZER_ID', 'Store']

logger = logging.getLogger(__name__)

T = TypeVar('T')
_MISSING = object()
# CUSTOM_SERIALIZER_ID (re-exported): proxystore.serialize.codec owns it.
# Objects a proxy cannot stand in for: singletons compared by identity.
_NON_PROXIABLE = (bool, type(None))


def _secret_of(config: StoreConfig) -> bytes | None:
    if config.secret is not None:
        secret = config.secret.get_secret_value()
        if config.secret_id is not None and secret_id(secret) != config.secret_id:
            raise MissingSecretError(
                f'The secret given for store "{config.name}" is not the one its '
                f'config names (id {config.secret_id}).',
            )
        return secret
    if config.secret_id is None:
        return None
    found = find_secret(config.secret_id)
    if found is None:
        raise MissingSecretError(
            f'Store "{config.name}" authenticates its payloads with a secret (id '
            f'{config.secret_id}) that this process does not have: set the '
            f'environment variable {SECRET_ENV} to it, or create the store here '
            'with Store(..., secret=...) first.',
        )
    return found


def _pattern(module: str, extra: str) -> Any:
    """Import a pattern package on first use, naming its extra if missing."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f'This needs {module}: install it with pip install '
            f"'proxystore[{extra}]' (package proxystore-patterns-{extra}).",
        ) from e


class Store(Generic[ConnectorT]):
    """A store of objects over a connector; makes proxies of them.

    Objects are serialized (see `proxystore.serialize`) and written through the
    connector; `proxy` returns a proxy that fetches the object where it is used.
    Gets go through an LRU cache; its lock guards the cache only, never I/O, so
    threads fetch in parallel.

    Args:
        name: Name of the store (its key in the registry).
        connector: Where the bytes go.
        serializer: Custom serializer (object to bytes) for every put.
        deserializer: Custom deserializer (bytes to object) for every get.
        cache_size: Entries of the LRU cache of deserialized objects (0: none).
        metrics: Record metrics of operations (`metrics`).
        populate_target: Default for new proxies: start resolved (holding the
            original object) in this process.
        register: Register the store under its name (see `register_store`).
        secret: Key authenticating every payload (HMAC-SHA256) together with
            the store's name and the payload's key; a payload that fails is
            refused before it is deserialized (see `proxystore.serialize.codec`).
            Every process using the store needs the same secret (its id travels
            in the store's config). Needs a `DeferrableConnector`. Use a random
            secret of 16 bytes or more; the empty secret is refused. A
            connector that is a `SecretConnector` gets it too
            (``use_secret``), to authenticate its channel.

    Without a secret, the store deserializes whatever its channel holds: the
    first read from a network channel (a connector declaring
    ``network_channel``, see `proxystore.connectors.protocols.NetworkConnector`)
    gives an `UnauthenticatedChannelWarning`, once per store. With
    ``PROXYSTORE_REQUIRE_SECRET=1`` a store without a secret is refused.

    Raises:
        ValueError: If ``name`` is empty or ``cache_size`` is negative.
        EmptySecretError: (a `ValueError`) If ``secret`` is empty.
        SecretRequiredError: (a `ValueError`) If no ``secret`` is given and
            ``PROXYSTORE_REQUIRE_SECRET`` is set.
        TypeError: If ``connector`` does not implement the connector protocol,
            or ``serializer`` or ``deserializer`` is not callable.
        KeyBindingError: If a ``secret`` is given and the connector is not a
            `DeferrableConnector` (a payload's key must be known before it is
            sealed).
        StoreExistsError: If ``register`` and the name is taken.

    Warns:
        WeakSecretWarning: If ``secret`` is shorter than 16 bytes.
    """

    def __init__(
        self,
        name: str,
        connector: ConnectorT,
        *,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        cache_size: int = 16,
        metrics: bool = False,
        populate_target: bool = True,
        register: bool = False,
        secret: bytes | str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f'Store name must be a non-empty string, not {name!r}.')
        if cache_size < 0:
            raise ValueError(f'Cache size must be zero or more, not {cache_size}.')
        if not isinstance(connector, Connector):
            raise TypeError(
                f'{type(connector).__name__} does not implement the Connector '
                'protocol (close, config, from_config, evict, exists, get, '
                'get_batch, put, put_batch).',
            )
        secret = check_secret(secret, stacklevel=2)
        if secret is None and secret_required():
            raise SecretRequiredError(
                f'Store "{name}" has no secret, and {REQUIRE_SECRET_ENV} is set: '
                'every store must authenticate its payloads. Pass '
                'Store(..., secret=...) (the same secret in every process; '
                'others read it from PROXYSTORE_SECRET), or unset '
                f'{REQUIRE_SECRET_ENV}.',
            )
        if secret is not None and not isinstance(connector, DeferrableConnector):
            raise KeyBindingError(
                f'Store "{name}" has a secret, so each payload is authenticated '
                'together with its key, which must be chosen before the payload '
                f'is written: {type(connector).__name__} is not a '
                'DeferrableConnector (new_key and set). Use a deferrable '
                'connector, or no secret.',
            )
        self._name = name
        self.connector = connector
        self._serializer = serializer
        self._deserializer = deserializer
        self.cache: LRUCache[ConnectorKeyT, Any] = LRUCache(cache_size)
        self._metrics = StoreMetrics() if metrics else None
        self._populate_target = populate_target
        self._secret = secret
        self._codec = Codec._checked(
            name,
            secret=self._secret,
            serializer=serializer,
            deserializer=deserializer,
        )
        self._secret_id = None if secret is None else add_secret(secret)
        # Warned of (once) at the first read, if the channel is a network one.
        self._unauthenticated_reads = secret is None and is_network_channel(connector)
        self._warn_lock = threading.Lock()
        renew_after_fork(self, '_warn_lock')
        if self._secret is not None and isinstance(connector, SecretConnector):
            connector.use_secret(self._secret)
        self._framed = hasattr(connector, 'put_frames')
        self._set_frames = getattr(connector, 'set_frames', None)
        self._key_type: type | None = getattr(type(connector), 'Key', None)
        self._config: StoreConfig | None = None
        self._factory_config: StoreConfig | None = None
        self._factory_blob: bytes | None = None
        self._closed = False
        self._registered = register
        if register:
            try:
                _registry.register_store(self)
            except StoreExistsError as e:
                e.add_note('Pass register=False, or close the other store first.')
                raise
        logger.debug('Initialized %r', self)

    # --- identity ----------------------------------------------------------

    @property
    def name(self) -> str:
        """Name of the store."""
        return self._name

    @property
    def key_type(self) -> type | None:
        """The key class of the connector (its ``Key``), or ``None`` if it has none.

        The store hands it to the factories of its proxies.
        """
        return self._key_type

    @property
    def codec(self) -> Codec:
        """Encodes and decodes this store's payloads (with its secret)."""
        return self._codec

    @property
    def metrics(self) -> StoreMetrics | None:
        """Metrics of operations, if enabled."""
        return self._metrics

    @property
    def serializer(self) -> SerializerT:
        """The serializer used by `put` (the default one unless customised)."""
        return self._serializer if self._serializer is not None else default_serialize

    @property
    def deserializer(self) -> DeserializerT:
        """The deserializer used by `get` (the default one unless customised)."""
        if self._deserializer is not None:
            return self._deserializer
        return default_deserialize

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    def __repr__(self) -> str:
        serializer = 'default' if self._serializer is None else 'custom'
        deserializer = 'default' if self._deserializer is None else 'custom'
        return (
            f"{type(self).__name__}(name='{self.name}', connector={self.connector!r}, "
            f'serializer={serializer}, deserializer={deserializer}, '
            f'cache_size={self.cache.maxsize}, metrics={self._metrics is not None}, '
            f'populate_target={self._populate_target}, '
            f'authenticated={self._secret is not None})'
        )

    def __enter__(self) -> Store[ConnectorT]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError(
            'A Store cannot be pickled: send store.config() and rebuild it with '
            'Store.from_config(), or send proxies, which carry the config.',
        )

    def _warn_unauthenticated(self) -> None:
        # stacklevel 3: the caller of get / get_batch.
        with self._warn_lock:
            if not self._unauthenticated_reads:
                return
            self._unauthenticated_reads = False
        warnings.warn(
            f'Store "{self.name}" has no secret and read from '
            f'{type(self.connector).__name__}, a network channel: its payloads '
            'are unpickled as they come, so whoever can write to the channel can '
            'run code in this process. Give the store a secret '
            '(Store(..., secret=...), and PROXYSTORE_SECRET in the processes '
            f'that resolve its proxies), or set {REQUIRE_SECRET_ENV}=1 to refuse '
            'stores without one.',
            UnauthenticatedChannelWarning,
            stacklevel=3,
        )

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f'Store "{self.name}" is closed.')

    def close(self, *args: Any, **kwargs: Any) -> None:
        """Close the store and its connector (idempotent).

        Arguments go to the connector's ``close`` (``clear=True`` removes a file
        or shared-memory connector's data). A registered store is unregistered.
        """
        if self._closed:
            return
        self._closed = True
        _registry.discard(self)
        self.cache.clear()
        self.connector.close(*args, **kwargs)
        logger.debug('Closed %r', self)

    # --- configuration --------------------------------------------------------

    def _store_config(self) -> StoreConfig:
        if self._config is None:
            secret = None if self._secret is None else SecretBytes(self._secret)
            self._config = StoreConfig(
                name=self.name,
                connector=ConnectorConfig(
                    kind=kind_of(type(self.connector)),
                    options=self.connector.config(),
                ),
                serializer=self._serializer,
                deserializer=self._deserializer,
                cache_size=self.cache.maxsize,
                metrics=self._metrics is not None,
                populate_target=self._populate_target,
                auto_register=self._registered,
                secret=secret,
                secret_id=self._secret_id,
            )
        return self._config

    def _config_for_proxies(self) -> StoreConfig:
        # A process that re-creates the store from a proxy registers it anyway,
        # so auto_register stays out of the bytes every proxy carries.
        if self._factory_config is None:
            config = self._store_config()
            if config.auto_register:
                config = config.model_copy(update={'auto_register': False})
            self._factory_config = config
            self._factory_blob = config.compact()
        return self._factory_config

    def config(self) -> StoreConfig:
        """The config that re-creates this store (`from_config`)."""
        return self._store_config().model_copy(deep=True)

    @classmethod
    def from_config(cls, config: StoreConfig) -> Store[Any]:
        """Make a store from a config (registered if ``config.auto_register``).

        Raises:
            MissingSecretError: If the config names a secret (``secret_id``) that
                this process does not have.
        """
        secret = _secret_of(config)
        return cls(
            name=config.name,
            connector=config.connector.get_connector(),
            serializer=config.serializer,
            deserializer=config.deserializer,
            cache_size=config.cache_size,
            metrics=config.metrics,
            populate_target=config.populate_target,
            register=config.auto_register,
            secret=secret,
        )

    # --- writing -------------------------------------------------------------

    def _write_batch(
        self, payloads: Sequence[Payload], **kwargs: Any
    ) -> list[ConnectorKeyT]:
        put_frames_batch = getattr(self.connector, 'put_frames_batch', None)
        if put_frames_batch is not None:
            buffers = [payload.buffers for payload in payloads]
            return list(put_frames_batch(buffers, **kwargs))
        if self._framed:
            written: list[ConnectorKeyT] = []
            try:
                for payload in payloads:
                    written.append(self._write(payload, **kwargs))
            except Exception:
                self._discard(written)
                raise
            return written
        joined = [payload.join() for payload in payloads]
        return list(self.connector.put_batch(joined, **kwargs))

    def _discard(self, keys: Sequence[ConnectorKeyT]) -> None:
        """After a failed batch: evict the objects it wrote, best effort.

        An error while evicting is logged, never raised: the caller re-raises
        the batch's own error.
        """
        if not keys:
            return
        try:
            evict_batch = getattr(self.connector, 'evict_batch', None)
            if evict_batch is not None:
                evict_batch(list(keys))
            else:
                for key in keys:
                    self.connector.evict(key)
        except Exception:
            logger.warning(
                'Store(name="%s"): a failed batch left %d object(s) that could '
                'not be evicted',
                self.name,
                len(keys),
                exc_info=True,
            )

    def _write(self, payload: Payload, **kwargs: Any) -> ConnectorKeyT:
        if self._framed:
            return self.connector.put_frames(payload.buffers, **kwargs)  # type: ignore[attr-defined,no-any-return]
        return self.connector.put(payload.join(), **kwargs)  # type: ignore[no-any-return]

    def _write_at(self, key: ConnectorKeyT, payload: Payload, **kwargs: Any) -> None:
        if self._set_frames is not None:
            self._set_frames(key, payload.buffers, **kwargs)
        else:
            self.connector.set(key, payload.join(), **kwargs)  # type: ignore[attr-defined]

    def _put_bound(
        self,
        obj: Any,
        serializer: SerializerT | None,
        measure: Measurement,
        **kwargs: Any,
    ) -> tuple[ConnectorKeyT, Payload]:
        # An authenticated payload binds its key: choose the key, then seal.
        with measure.part('connector'):
            key = self.connector.new_key()  # type: ignore[attr-defined]
        with measure.part('serialize'):
            payload = self._codec.encode(obj, key=key, serializer=serializer)
        with measure.part('connector'):
            self._write_at(key, payload, **kwargs)
        return key, payload

    def _measure(self, name: str) -> Measurement:
        if self._metrics is None:
            return NO_MEASUREMENT
        return Measurement(self._metrics, name)

    def _record(self, name: str, key: Any, timer: Timer) -> None:
        if self._metrics is not None:
            self._metrics.add_time(name, key, timer.elapsed_ms)

    # --- objects ----------------------------------------------------------------

    def put(
        self,
        obj: Any,
        *,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        **kwargs: Any,
    ) -> ConnectorKeyT:
        """Store an object and return its key.

        Args:
            obj: The object.
            lifetime: Evict the object when this lifetime ends.
            serializer: Custom serializer for this object.
            kwargs: Passed to the connector's put (e.g. MultiConnector tags).

        Raises:
            StoreClosedError: If the store is closed.
            SerializationError: If the object cannot be serialized.
            TypeError: If a custom serializer returns something not bytes-like.
        """
        self._check_open()
        with self._measure('store.put') as measure:
            if self._codec.authenticated:
                key, payload = self._put_bound(obj, serializer, measure, **kwargs)
            else:
                with measure.part('serialize'):
                    payload = self._codec.encode(obj, serializer=serializer)
                with measure.part('connector'):
                    key = self._write(payload, **kwargs)
        measure.record(key, object_size=payload.nbytes)
        if lifetime is not None:
            lifetime.add_key(key, store=self)
        logger.debug('Store(name="%s"): PUT %s', self.name, key)
        return key

    def put_batch(
        self,
        objs: Sequence[Any],
        *,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        **kwargs: Any,
    ) -> list[ConnectorKeyT]:
        """Store many objects; return their keys in order.

        All or nothing: if a write fails, the objects the batch already wrote
        are evicted (best effort) and the write's error is raised.

        Raises:
            StoreClosedError: If the store is closed.
            SerializationError: If an object cannot be serialized.
        """
        self._check_open()
        with self._measure('store.put_batch') as measure:
            if self._codec.authenticated:
                # Keys first (none written yet), then payloads bound to them, so
                # an object that fails to serialize leaves nothing behind.
                with measure.part('connector'):
                    keys = [self.connector.new_key() for _ in objs]  # type: ignore[attr-defined]
                with measure.part('serialize'):
                    payloads = [
                        self._codec.encode(obj, key=key, serializer=serializer)
                        for obj, key in zip(objs, keys, strict=True)
                    ]
                with measure.part('connector'):
                    written: list[ConnectorKeyT] = []
                    try:
                        for key, payload in zip(keys, payloads, strict=True):
                            self._write_at(key, payload, **kwargs)
                            written.append(key)
                    except Exception:
                        self._discard(written)
                        raise
            else:
                with measure.part('serialize'):
                    payloads = [
                        self._codec.encode(obj, serializer=serializer) for obj in objs
                    ]
                with measure.part('connector'):
                    keys = self._write_batch(payloads, **kwargs)
        measure.record(
            keys,
            object_sizes=sum(payload.nbytes for payload in payloads),
        )
        if lifetime is not None:
            lifetime.add_key(*keys, store=self)
        return keys

    def get(
        self,
        key: ConnectorKeyT,
        *,
        deserializer: DeserializerT | None = None,
        default: object | None = None,
    ) -> Any:
        """The object stored under ``key``, or ``default`` if there is none.

        Raises:
            StoreClosedError: If the store is closed.
            SerializationError: If the stored bytes cannot be deserialized (a
                subclass tells why: corrupt, unknown serializer, failed
                authentication).
        """
        self._check_open()
        if self._metrics is not None:
            return self._get_measured(key, deserializer, default)
        obj = self.cache.get(key, _MISSING)
        if obj is not _MISSING:
            return obj
        token = self.cache.token()
        if self._unauthenticated_reads:
            self._warn_unauthenticated()
        data = self.connector.get(key)
        if data is None:
            return default
        obj = self._codec.decode(data, key=key, deserializer=deserializer)
        self.cache.set(key, obj, token)
        return obj

    def _get_measured(
        self,
        key: ConnectorKeyT,
        deserializer: DeserializerT | None,
        default: object | None,
    ) -> Any:
        assert self._metrics is not None
        with Timer() as total:
            obj = self.cache.get(key, _MISSING)
            if obj is not _MISSING:
                self._metrics.add_counter('store.get.cache_hits', key, 1)
                return obj
            token = self.cache.token()
            if self._unauthenticated_reads:
                self._warn_unauthenticated()
            with Timer() as connector_timer:
                data = self.connector.get(key)
            if data is None:
                return default
            with Timer() as deserialize_timer:
                obj = self._codec.decode(data, key=key, deserializer=deserializer)
            self.cache.set(key, obj, token)
        self._metrics.add_counter('store.get.cache_misses', key, 1)
        self._record('store.get.connector', key, connector_timer)
        self._record('store.get.deserialize', key, deserialize_timer)
        self._record('store.get', key, total)
        self._metrics.add_attribute('store.get.object_size', key, len(data))
        logger.debug('Store(name="%s"): GET %s', self.name, key)
        return obj

    def get_batch(
        self,
        keys: Sequence[ConnectorKeyT],
        *,
        deserializer: DeserializerT | None = None,
        default: object | None = None,
    ) -> list[Any]:
        """`get` for many keys: cached ones from the cache, the rest in one batch.

        Raises:
            StoreClosedError: If the store is closed.
            SerializationError: If stored bytes cannot be deserialized.
        """
        self._check_open()
        results: list[Any] = [self.cache.get(key, _MISSING) for key in keys]
        missing = [i for i, obj in enumerate(results) if obj is _MISSING]
        if missing:
            token = self.cache.token()
            if self._unauthenticated_reads:
                self._warn_unauthenticated()
            datas = self.connector.get_batch([keys[i] for i in missing])
            for i, data in zip(missing, datas, strict=True):
                if data is None:
                    results[i] = default
                    continue
                obj = self._codec.decode(data, key=keys[i], deserializer=deserializer)
                self.cache.set(keys[i], obj, token)
                results[i] = obj
        return results

    def exists(self, key: ConnectorKeyT) -> bool:
        """Whether an object is stored under ``key``.

        The connector is asked (not the cache), so an object evicted by another
        process is reported gone.

        Raises:
            StoreClosedError: If the store is closed.
        """
        self._check_open()
        with Timer() as timer:
            found = self.connector.exists(key)
        self._record('store.exists', key, timer)
        self._record('store.exists.connector', key, timer)
        if not found:
            self.cache.evict(key)
        return found

    def is_cached(self, key: ConnectorKeyT) -> bool:
        """Whether the deserialized object of ``key`` is in this store's cache."""
        return self.cache.exists(key)

    def evict(self, key: ConnectorKeyT) -> None:
        """Remove the object of ``key`` (a missing key is not an error).

        Raises:
            StoreClosedError: If the store is closed.
        """
        self._check_open()
        with Timer() as timer:
            with Timer() as connector_timer:
                self.connector.evict(key)
            self.cache.evict(key)
        self._record('store.evict.connector', key, connector_timer)
        self._record('store.evict', key, timer)
        logger.debug('Store(name="%s"): EVICT %s', self.name, key)

    def evict_batch(self, keys: Sequence[ConnectorKeyT]) -> None:
        """`evict` for many keys, in one connector call where it has one.

        Raises:
            StoreClosedError: If the store is closed.
        """
        self._check_open()
        evict_batch = getattr(self.connector, 'evict_batch', None)
        if evict_batch is not None:
            evict_batch(list(keys))
        else:
            for key in keys:
                self.connector.evict(key)
        for key in keys:
            self.cache.evict(key)

    def _set(
        self,
        key: ConnectorKeyT,
        obj: Any,
        *,
        serializer: SerializerT | None = None,
        **kwargs: Any,
    ) -> None:
        """Store ``obj`` under a key made by the connector's ``new_key``.

        Raises:
            NotImplementedError: If the connector is not deferrable.
        """
        self._check_open()
        if not isinstance(self.connector, DeferrableConnector):
            raise NotImplementedError(
                f'{type(self.connector).__name__} is not a DeferrableConnector.',
            )
        payload = self._codec.encode(obj, key=key, serializer=serializer)
        self._write_at(key, payload, **kwargs)
        self.cache.evict(key)

    # --- proxies ----------------------------------------------------------------

    def _factory(
        self,
        key: ConnectorKeyT,
        *,
        evict: bool,
        deserializer: DeserializerT | None,
    ) -> StoreFactory[ConnectorT, Any]:
        factory: StoreFactory[ConnectorT, Any] = StoreFactory(
            key,
            store_config=self._config_for_proxies(),
            evict=evict,
            deserializer=deserializer,
        )
        factory._bind(self)
        factory._blob = self._factory_blob
        return factory

    def _proxy_of(
        self,
        obj: Any,
        key: ConnectorKeyT,
        *,
        evict: bool,
        deserializer: DeserializerT | None,
        populate_target: bool | None,
    ) -> Proxy[Any]:
        factory = self._factory(key, evict=evict, deserializer=deserializer)
        populate = self._populate_target if populate_target is None else populate_target
        if populate:
            return Proxy(factory, cache_defaults=True, target=obj)
        return Proxy(factory)

    @staticmethod
    def _check_proxy_options(evict: bool, lifetime: Lifetime | None) -> None:
        if evict and lifetime is not None:
            raise ValueError(
                'evict and lifetime are mutually exclusive: a proxy that evicts '
                'its object on resolve cannot also be evicted by a lifetime.',
            )

    def proxy(
        self,
        obj: T,
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = False,
        **kwargs: Any,
    ) -> Proxy[T]:
        """Store an object and return a proxy of it.

        Args:
            obj: The object.
            evict: The object is evicted when the proxy is first resolved.
            lifetime: Evict the object when this lifetime ends.
            serializer: Custom serializer for this object.
            deserializer: Custom deserializer for this object.
            populate_target: Return a proxy already resolved to ``obj`` in this
                process (default: the store's choice).
            skip_nonproxiable: Return ``None`` and ``bool`` objects themselves
                instead of raising.
            kwargs: Passed to the connector's put.

        Raises:
            ValueError: If both ``evict`` and ``lifetime`` are given.
            NonProxiableTypeError: If ``obj`` is ``None`` or a ``bool`` (unless
                ``skip_nonproxiable``).
            StoreClosedError: If the store is closed.
        """
        self._check_proxy_options(evict, lifetime)
        if isinstance(obj, _NON_PROXIABLE):
            if skip_nonproxiable:
                return obj  # type: ignore[return-value]
            raise NonProxiableTypeError(f'Object of {type(obj)} is not proxiable.')
        with self._measure('store.proxy') as measure:
            key = self.put(obj, serializer=serializer, **kwargs)
            proxy = self._proxy_of(
                obj,
                key,
                evict=evict,
                deserializer=deserializer,
                populate_target=populate_target,
            )
        if lifetime is not None:
            lifetime.add_proxy(proxy)
        measure.record(key)
        return proxy

    def proxy_batch(
        self,
        objs: Sequence[T],
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = False,
        **kwargs: Any,
    ) -> list[Proxy[T]]:
        """`proxy` for many objects, stored in one batch; order is kept.

        Raises:
            ValueError: If both ``evict`` and ``lifetime`` are given.
            NonProxiableTypeError: If an object is ``None`` or a ``bool`` (unless
                ``skip_nonproxiable``, which keeps such objects in place).
        """
        self._check_proxy_options(evict, lifetime)
        proxiable = [
            i for i, obj in enumerate(objs) if not isinstance(obj, _NON_PROXIABLE)
        ]
        if len(proxiable) != len(objs) and not skip_nonproxiable:
            bad = next(obj for obj in objs if isinstance(obj, _NON_PROXIABLE))
            raise NonProxiableTypeError(f'Object of {type(bad)} is not proxiable.')
        with self._measure('store.proxy_batch') as measure:
            keys = self.put_batch(
                [objs[i] for i in proxiable],
                serializer=serializer,
                **kwargs,
            )
            results: list[Any] = list(objs)
            for i, key in zip(proxiable, keys, strict=True):
                results[i] = self._proxy_of(
                    objs[i],
                    key,
                    evict=evict,
                    deserializer=deserializer,
                    populate_target=populate_target,
                )
        if lifetime is not None:
            lifetime.add_proxy(*(results[i] for i in proxiable))
        measure.record(keys)
        return results

    def proxy_from_key(
        self,
        key: ConnectorKeyT,
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        deserializer: DeserializerT | None = None,
    ) -> Proxy[Any]:
        """An unresolved proxy of the object already stored under ``key``.

        Whether an object exists under the key is not checked: resolving a proxy
        of a missing key raises `ProxyResolveError` caused by
        `ProxyResolveMissingKeyError`.

        Raises:
            TypeError: If the connector declares its key type (``Key``) and
                ``key`` is of another type.
        """
        self._check_proxy_options(evict, lifetime)
        if self._key_type is not None:
            check_key(self.connector, key, self._key_type)
        proxy: Proxy[Any] = Proxy(
            self._factory(key, evict=evict, deserializer=deserializer)
        )
        if lifetime is not None:
            lifetime.add_proxy(proxy)
        return proxy

    def locked_proxy(
        self,
        obj: T,
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = True,
        **kwargs: Any,
    ) -> ProxyLocker[T]:
        """`proxy` wrapped in a `ProxyLocker` (``None``/``bool`` returned as is)."""
        proxy = self.proxy(
            obj,
            evict=evict,
            lifetime=lifetime,
            serializer=serializer,
            deserializer=deserializer,
            populate_target=populate_target,
            skip_nonproxiable=skip_nonproxiable,
            **kwargs,
        )
        if not isinstance(proxy, Proxy):
            return proxy
        return ProxyLocker(proxy)

    # --- patterns (packages of their own, imported on first use) -----------------

    def owned_proxy(
        self,
        obj: T,
        *,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = True,
        **kwargs: Any,
    ) -> Any:
        """An `OwnedProxy` of ``obj`` (needs ``proxystore[ownership]``).

        Raises:
            ImportError: If proxystore-patterns-ownership is not installed.
        """
        ownership = _pattern('proxystore.ownership', 'ownership')
        lifetime = kwargs.pop('lifetime', None)
        proxy = self.proxy(
            obj,
            lifetime=lifetime,
            serializer=serializer,
            deserializer=deserializer,
            populate_target=populate_target,
            skip_nonproxiable=skip_nonproxiable,
            **kwargs,
        )
        if not isinstance(proxy, Proxy):
            return proxy
        into_owned: Callable[..., Any] = ownership.into_owned
        return into_owned(
            proxy, populate_target=populate_target is not False, lifetime=lifetime
        )

    def future(
        self,
        *,
        evict: bool = False,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        polling_interval: float = 1,
        polling_backoff_factor: float = 1,
        polling_interval_limit: float | None = None,
        polling_timeout: float | None = None,
    ) -> Any:
        """A `Future` whose result will be stored here (needs ``proxystore[futures]``).

        Raises:
            ImportError: If proxystore-patterns-futures is not installed.
            NotImplementedError: If the connector is not deferrable.
        """
        futures = _pattern('proxystore.futures', 'futures')
        if not isinstance(self.connector, DeferrableConnector):
            raise NotImplementedError(
                f'Store.future() needs a DeferrableConnector; '
                f'{type(self.connector).__name__} is not one.',
            )
        return futures.Future.from_store(
            self,
            evict=evict,
            serializer=serializer,
            deserializer=deserializer,
            polling_interval=polling_interval,
            polling_backoff_factor=polling_backoff_factor,
            polling_interval_limit=polling_interval_limit,
            polling_timeout=polling_timeout,
        )
