"""Making, lending, copying, updating and dropping owned proxies."""

from __future__ import annotations

import copy
from typing import Any
from typing import TypeVar

from proxystore.ownership._errors import ReferenceNotOwnedError
from proxystore.ownership._proxies import BaseRefProxy
from proxystore.ownership._proxies import OwnedProxy
from proxystore.ownership._proxies import RefMutProxy
from proxystore.ownership._proxies import RefProxy
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store.factory import StoreFactory
from proxystore.store.lifetimes import Lifetime
from proxystore.store.types import SerializerT
from proxystore.store.utils import get_factory_of_store_proxy

__all__ = ['borrow', 'clone', 'drop', 'into_owned', 'mut_borrow', 'update']

T = TypeVar('T')

_get = object.__getattribute__
_set = object.__setattr__


def _owner_factory(factory: StoreFactory[Any, T]) -> StoreFactory[Any, T]:
    """A factory of the same object that never evicts on resolve."""
    if not factory.evict:
        return factory
    # A copy, not the shared factory: plain proxies that share it keep their
    # behaviour (ProxyStore 1.x changed them all).
    return factory.with_evict(False)


def _target_kwargs(proxy: Proxy[T], populate_target: bool) -> dict[str, Any]:
    if populate_target and is_resolved(proxy):
        return {'target': proxy.__proxy_wrapped__, 'cache_defaults': True}
    return {}


def _copy_defaults(source: Proxy[Any], proxy: Proxy[Any]) -> None:
    if not is_resolved(proxy):
        _set(proxy, '__proxy_default_class__', source.__proxy_default_class__)
        _set(proxy, '__proxy_default_hash__', source.__proxy_default_hash__)


def into_owned(
    proxy: Proxy[T],
    *,
    populate_target: bool = True,
    lifetime: Lifetime | None = None,
) -> OwnedProxy[T]:
    """Make an owner of a plain store proxy's object.

    The object is evicted when the returned owner goes away. The plain proxy is
    left as it was (ProxyStore 1.x changed its factory to stop evicting).

    Args:
        proxy: A plain `Proxy` with a `StoreFactory`.
        populate_target: Give the owner the proxy's target, if it is resolved.
        lifetime: A lifetime that also bounds the object: once it ends, the
            owner is invalid.

    Raises:
        ValueError: If ``proxy`` is already an owned or borrowed proxy, or its
            object already has an owner in this process.
        ProxyStoreFactoryError: If the proxy's factory is not a store factory.
    """
    if issubclass(type(proxy), BaseRefProxy):
        raise ValueError(
            f'Only a plain Proxy can become owned, not a {type(proxy).__name__}.',
        )
    factory = _owner_factory(get_factory_of_store_proxy(proxy))
    owned: OwnedProxy[T] = OwnedProxy(
        factory, lifetime=lifetime, **_target_kwargs(proxy, populate_target)
    )
    _copy_defaults(proxy, owned)
    return owned


def _valid_owner(proxy: Any, what: str) -> OwnedProxy[Any]:
    if type(proxy) is not OwnedProxy:
        raise ReferenceNotOwnedError(
            f'{what} needs an OwnedProxy, not a {type(proxy).__name__}.',
        )
    if not proxy.__proxy_valid__:
        proxy._invalid()
    return proxy


def borrow(proxy: OwnedProxy[T], *, populate_target: bool = True) -> RefProxy[T]:
    """Lend the owner's object immutably; any number of borrows may exist.

    Args:
        proxy: The owner.
        populate_target: Give the borrow the owner's target, if resolved.

    Raises:
        ReferenceNotOwnedError: If ``proxy`` is not an `OwnedProxy`.
        ReferenceInvalidError: If the owner was moved or dropped.
        MutableBorrowError: If the object is mutably borrowed.
    """
    owner = _valid_owner(proxy, 'borrow()')
    ref: RefProxy[T] = RefProxy(
        owner.__proxy_factory__,
        owner=owner,
        **_target_kwargs(owner, populate_target),
    )
    _copy_defaults(owner, ref)
    return ref


def mut_borrow(proxy: OwnedProxy[T], *, populate_target: bool = True) -> RefMutProxy[T]:
    """Lend the owner's object mutably: no other borrow may exist meanwhile.

    Args:
        proxy: The owner.
        populate_target: Give the borrow the owner's target, if resolved.

    Raises:
        ReferenceNotOwnedError: If ``proxy`` is not an `OwnedProxy`.
        ReferenceInvalidError: If the owner was moved or dropped.
        MutableBorrowError: If any borrow exists.
    """
    owner = _valid_owner(proxy, 'mut_borrow()')
    ref: RefMutProxy[T] = RefMutProxy(
        owner.__proxy_factory__,
        owner=owner,
        **_target_kwargs(owner, populate_target),
    )
    _copy_defaults(owner, ref)
    return ref


def clone(proxy: BaseRefProxy[T]) -> OwnedProxy[T]:
    """An owner of a copy of the object, stored under a new key.

    The stored bytes are copied as they are (no deserialization); a resolved
    target is deep-copied into the new owner.

    Raises:
        ReferenceNotOwnedError: If ``proxy`` is not an owned or borrowed proxy.
        ReferenceInvalidError: If the reference is invalid.
        ProxyResolveMissingKeyError: If the object is no longer in its store.
    """
    from proxystore.store.exceptions import ProxyResolveMissingKeyError

    if not issubclass(type(proxy), BaseRefProxy):
        raise ReferenceNotOwnedError(
            f'clone() needs an owned or borrowed proxy, not a {type(proxy).__name__}.',
        )
    if not proxy.__proxy_valid__:
        proxy._invalid()
    factory = get_factory_of_store_proxy(proxy)
    store = factory.get_store()
    data = store.connector.get(factory.key)
    if data is None:
        raise ProxyResolveMissingKeyError(factory.key, type(store), store.name)
    key = store.connector.put(data)
    new_factory = store._factory(key, evict=False, deserializer=factory.deserializer)
    kwargs: dict[str, Any] = {}
    if is_resolved(proxy):
        kwargs = {
            'target': copy.deepcopy(proxy.__proxy_wrapped__),
            'cache_defaults': True,
        }
    owned: OwnedProxy[T] = OwnedProxy(new_factory, **kwargs)
    _copy_defaults(proxy, owned)
    return owned


def update(
    proxy: OwnedProxy[T] | RefMutProxy[T],
    *,
    serializer: SerializerT | None = None,
    **kwargs: Any,
) -> None:
    """Store the local (changed) target of an owner or mutable borrow.

    Nothing happens if the proxy is not resolved (there is no local change).

    Args:
        proxy: The owner (not borrowed) or the mutable borrow.
        serializer: Custom serializer of the object.
        kwargs: Passed to the connector's ``set``.

    Raises:
        ReferenceNotOwnedError: If ``proxy`` is neither an owner nor a mutable
            borrow.
        ReferenceInvalidError: If the reference is invalid.
        MutableBorrowError: If ``proxy`` is an owner that is borrowed.
        NotImplementedError: If the store's connector is not deferrable.
    """
    if type(proxy) not in (OwnedProxy, RefMutProxy):
        raise ReferenceNotOwnedError(
            'update() needs an OwnedProxy or a RefMutProxy, not a '
            f'{type(proxy).__name__}.',
        )
    if not proxy.__proxy_valid__:
        proxy._invalid()
    if not is_resolved(proxy):
        return
    factory = get_factory_of_store_proxy(proxy)

    def write() -> None:
        factory.get_store()._set(
            factory.key, proxy.__proxy_wrapped__, serializer=serializer, **kwargs
        )

    if type(proxy) is not OwnedProxy:
        write()
        return
    record = proxy._record()
    with record.lock:  # no borrow may start while the owner writes
        if record.borrowed:
            raise record._borrowed_error('it cannot be updated')
        write()


def drop(proxy: OwnedProxy[Any]) -> None:
    """Evict the owner's object now and invalidate the owner (Rust's ``drop``).

    Raises:
        ReferenceNotOwnedError: If ``proxy`` is not an `OwnedProxy`.
        ReferenceInvalidError: If the owner was moved or dropped already.
        MutableBorrowError: If the object is borrowed.
    """
    _valid_owner(proxy, 'drop()')._drop()
