"""A proxy pickles to its factory only, at every protocol."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def make_list() -> list[int]:
    return [1, 2, 3]


def make_big() -> bytes:
    return b'x' * 1_000_000


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_round_trip_is_unresolved(protocol: int) -> None:
    proxy = Proxy(make_list)
    assert proxy == [1, 2, 3]
    copy = pickle.loads(pickle.dumps(proxy, protocol=protocol))
    assert isinstance(copy, Proxy)
    assert not is_resolved(copy)
    assert copy == [1, 2, 3]


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_pickle_holds_the_factory_not_the_target(protocol: int) -> None:
    proxy = Proxy(make_big)
    proxy.__proxy_wrapped__  # noqa: B018
    data = pickle.dumps(proxy, protocol=protocol)
    assert len(data) < 200
    assert b'xxxx' not in data


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_cached_defaults_travel(protocol: int) -> None:
    proxy = Proxy(make_list, cache_defaults=True, target=make_list())
    copy = pickle.loads(pickle.dumps(proxy, protocol=protocol))
    assert copy.__proxy_default_class__ is list
    assert isinstance(copy, list)
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        hash(copy)
    assert not is_resolved(copy)


def test_simple_factory_round_trip() -> None:
    proxy = Proxy(SimpleFactory({'a': 1}))
    copy = pickle.loads(pickle.dumps(proxy))
    assert copy == {'a': 1}


def test_unpicklable_factory_raises_pickle_error() -> None:
    proxy = Proxy(lambda: 1)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(proxy)


def test_uninitialized_proxy_cannot_be_pickled() -> None:
    proxy: Proxy[Any] = Proxy.__new__(Proxy)
    with pytest.raises(TypeError, match='uninitialized proxy'):
        pickle.dumps(proxy)


def test_pickling_never_resolves() -> None:
    proxy = Proxy(make_list)
    pickle.dumps(proxy)
    assert not is_resolved(proxy)


def test_proxy_inside_a_container() -> None:
    proxy = Proxy(make_list)
    data = pickle.loads(pickle.dumps({'p': proxy, 'q': [proxy]}))
    assert data['p'] == [1, 2, 3]
    assert data['p'] is data['q'][0]


def _travelled(proxy: Proxy[Any]) -> Proxy[Any]:
    """The proxy as another process gets it: unresolved, defaults cached."""
    return pickle.loads(pickle.dumps(proxy))


def test_dask_tokenize_does_not_resolve() -> None:
    # Dask asks isinstance() of every argument first: only a proxy with a cached
    # class answers that without resolving, and then the token must not resolve.
    tokenize = pytest.importorskip('dask.base').tokenize
    proxy = _travelled(Proxy(SimpleFactory([1, 2]), cache_defaults=True, target=[1, 2]))
    first, second = tokenize(proxy), tokenize(proxy)
    assert not is_resolved(proxy)
    assert first != second  # no identity known: never deduplicated by mistake


def test_dask_future_check_does_not_resolve() -> None:
    # Dask asks getattr(x, '__dask_future__', False) of every submitted argument
    # (and walks into lists, tuples, sets and dicts: not this target).
    task_spec = pytest.importorskip('dask._task_spec')
    proxy = _travelled(Proxy(SimpleFactory('ab'), cache_defaults=True, target='ab'))
    assert not task_spec._is_dask_future(proxy)
    assert task_spec.parse_input(proxy) is proxy
    assert not is_resolved(proxy)

    class DaskLike:
        __dask_future__ = True

    assert Proxy(DaskLike).__dask_future__  # resolved, the target answers


class _KnownFactory:
    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self) -> list[str]:
        return [self.name]

    def __dask_tokenize__(self) -> str:
        return self.name


def _known(name: str) -> Proxy[list[str]]:
    factory = _KnownFactory(name)
    return _travelled(Proxy(factory, cache_defaults=True, target=factory()))


def test_dask_tokenize_uses_a_factory_token() -> None:
    tokenize = pytest.importorskip('dask.base').tokenize
    a, b = _known('a'), _known('a')
    assert tokenize(a) == tokenize(b) != tokenize(_known('b'))
    assert not is_resolved(a) and not is_resolved(b)
