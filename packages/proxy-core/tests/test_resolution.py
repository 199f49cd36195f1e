"""Construction, lazy resolution, resolution errors and the helper functions."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import extract
from proxystore.proxy import get_factory
from proxystore.proxy import is_resolved
from proxystore.proxy import resolve


class Counter:
    def __init__(self, value: Any) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.value


def test_factory_not_called_until_first_use() -> None:
    factory = Counter([1, 2])
    proxy = Proxy(factory)
    assert factory.calls == 0
    assert not is_resolved(proxy)
    assert len(proxy) == 2
    assert is_resolved(proxy)
    assert proxy == [1, 2]
    assert factory.calls == 1


def test_non_callable_factory_raises_type_error() -> None:
    with pytest.raises(TypeError, match=r'^Factory must be callable\.$'):
        Proxy([1, 2, 3])  # type: ignore[arg-type]


def test_factory_is_required() -> None:
    with pytest.raises(TypeError, match='factory'):
        Proxy()  # type: ignore[call-arg]


def test_unknown_keyword_raises_type_error() -> None:
    with pytest.raises(TypeError, match='cache'):
        Proxy(list, cache=True)  # type: ignore[call-arg]


def test_failing_factory_raises_resolve_error_with_cause() -> None:
    def factory() -> Any:
        raise ValueError('no data here')

    proxy: Proxy[Any] = Proxy(factory)
    with pytest.raises(ProxyResolveError) as exc_info:
        len(proxy)
    error = exc_info.value
    assert isinstance(error.cause, ValueError)
    assert error.__cause__ is error.cause
    assert str(error) == (
        'The factory of this proxy raised an error while resolving the target '
        'object: ValueError: no data here'
    )
    assert not is_resolved(proxy)


def test_failed_resolution_is_retried() -> None:
    attempts = []

    def factory() -> list[int]:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError('server down')
        return [7]

    proxy = Proxy(factory)
    with pytest.raises(ProxyResolveError, match='ConnectionError: server down'):
        proxy[0]
    assert proxy[0] == 7
    assert len(attempts) == 2


def test_base_exception_from_factory_propagates_unwrapped() -> None:
    def factory() -> Any:
        raise KeyboardInterrupt

    proxy: Proxy[Any] = Proxy(factory)
    with pytest.raises(KeyboardInterrupt):
        str(proxy)
    assert not is_resolved(proxy)


def test_uninitialized_proxy_raises_resolve_error() -> None:
    proxy: Proxy[Any] = Proxy.__new__(Proxy)
    with pytest.raises(
        ProxyResolveError,
        match=r'^Proxy is not initialized: __proxy_factory__ is missing\.$',
    ) as exc_info:
        proxy + 1
    assert isinstance(exc_info.value.cause, AttributeError)
    assert 'uninitialized' in repr(proxy)


def test_factory_that_touches_its_own_proxy_raises() -> None:
    proxy: Proxy[Any]

    def factory() -> Any:
        return len(proxy)

    proxy = Proxy(factory)
    with pytest.raises(ProxyResolveError) as exc_info:
        len(proxy)
    assert 'accessed the proxy itself' in str(exc_info.value.cause)


def test_resolve_error_pickles() -> None:
    import pickle

    error = ProxyResolveError('boom', cause=ValueError('x'))
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ProxyResolveError)
    assert str(copy) == 'boom'
    assert isinstance(copy.cause, ValueError)


def test_target_argument_starts_resolved() -> None:
    factory = Counter('unused')
    proxy = Proxy(factory, target='given')
    assert is_resolved(proxy)
    assert proxy == 'given'
    assert factory.calls == 0


def test_cache_defaults_answer_without_resolving() -> None:
    proxy = Proxy(Counter('abc'), cache_defaults=True, target='abc')
    assert proxy.__proxy_default_class__ is str
    assert proxy.__proxy_default_hash__ == hash('abc')
    del proxy.__proxy_wrapped__
    assert not is_resolved(proxy)
    assert isinstance(proxy, str)
    assert hash(proxy) == hash('abc')
    assert not is_resolved(proxy)


def test_cache_defaults_of_unhashable_target_raise_on_hash() -> None:
    proxy = Proxy(Counter([1]), cache_defaults=True, target=[1])
    assert isinstance(proxy.__proxy_default_hash__, TypeError)
    del proxy.__proxy_wrapped__
    with pytest.raises(TypeError, match='unhashable'):
        hash(proxy)
    assert not is_resolved(proxy)


def test_cache_defaults_without_target_caches_nothing() -> None:
    proxy = Proxy(Counter(1), cache_defaults=True)
    assert proxy.__proxy_default_class__ is None
    assert proxy.__proxy_default_hash__ is None


def test_deleting_an_unresolved_target_raises() -> None:
    proxy = Proxy(Counter(1))
    with pytest.raises(AttributeError, match='__proxy_target__'):
        del proxy.__proxy_wrapped__


def test_hash_default_edge_values() -> None:
    proxy = Proxy(Counter(1))
    proxy.__proxy_default_hash__ = -1
    assert hash(proxy) == hash(-1)
    proxy.__proxy_default_hash__ = 2**70
    assert hash(proxy) == hash(2**70)


def test_unhashable_default_does_not_grow_its_traceback() -> None:
    proxy = Proxy(Counter([1]), cache_defaults=True, target=[1])
    del proxy.__proxy_wrapped__
    depths = []
    for _ in range(3):
        with pytest.raises(TypeError) as exc_info:
            hash(proxy)
        tb, depth = exc_info.value.__traceback__, 0
        while tb is not None:
            tb, depth = tb.tb_next, depth + 1
        depths.append(depth)
    assert depths[0] == depths[1] == depths[2]


def test_wrapped_can_be_replaced_and_deleted() -> None:
    factory = Counter([1])
    proxy = Proxy(factory)
    proxy.__proxy_wrapped__ = [2, 2]
    assert len(proxy) == 2
    assert factory.calls == 0
    del proxy.__proxy_wrapped__
    assert not is_resolved(proxy)
    assert proxy == [1]
    assert factory.calls == 1


def test_target_slot_is_unset_while_unresolved() -> None:
    proxy = Proxy(Counter(1))
    with pytest.raises(AttributeError):
        proxy.__proxy_target__  # noqa: B018
    assert not is_resolved(proxy)
    resolve(proxy)
    assert proxy.__proxy_target__ == 1


def test_helpers() -> None:
    factory = Counter({'a': 1})
    proxy = Proxy(factory)
    assert get_factory(proxy) is factory
    assert not is_resolved(proxy)
    assert resolve(proxy) is None  # type: ignore[func-returns-value]
    assert is_resolved(proxy)
    target = extract(proxy)
    assert target == {'a': 1}
    assert type(target) is dict
    assert factory.calls == 1


@pytest.mark.parametrize('helper', [extract, get_factory, is_resolved, resolve])
def test_helpers_reject_non_proxies(helper: Any) -> None:
    with pytest.raises(TypeError, match=r"expects a Proxy, not 'list'"):
        helper([1])


def test_subclass_keeps_behaviour() -> None:
    class Tagged(Proxy[Any]):
        __slots__ = ('tag',)

        def __init__(self, factory: Any, tag: str) -> None:
            super().__init__(factory)
            self.tag = tag

        def describe(self) -> str:
            return f'{self.tag}:{len(self)}'

    proxy = Tagged(Counter([1, 2, 3]), 'x')
    assert proxy.tag == 'x'
    assert not is_resolved(proxy)
    assert proxy.describe() == 'x:3'
    assert proxy.count(2) == 1
    assert isinstance(proxy, list)
    assert isinstance(proxy, Proxy)


def test_garbage_collection_of_cycles() -> None:
    class Node:
        pass

    node = Node()
    proxy = Proxy(SimpleFactory(node))
    node.proxy = proxy  # type: ignore[attr-defined]
    resolve(proxy)
    ref = weakref.ref(node)
    del node, proxy
    gc.collect()
    assert ref() is None


def test_weakref_to_proxy() -> None:
    proxy = Proxy(Counter([1]))
    ref = weakref.ref(proxy)
    assert ref() is proxy
    assert not is_resolved(proxy)
    del proxy
    gc.collect()
    assert ref() is None


def test_generic_alias_construction_does_not_resolve() -> None:
    factory = Counter([1])
    proxy = Proxy[list[int]](factory)
    assert factory.calls == 0
    assert not is_resolved(proxy)
    assert proxy == [1]
