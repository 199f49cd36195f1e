"""The data policy: which objects go by proxy, and how they come back."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from typing import NamedTuple

import numpy
import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore_apps.config import FilterConfig
from proxystore_apps.datamgmt import DataPolicy
from proxystore_apps.datamgmt import object_size
from proxystore_apps.datamgmt import resolve_tree


class Pair(NamedTuple):
    left: Any
    right: Any


@pytest.fixture
def store() -> Generator[Store[Any]]:
    with Store('datamgmt-test', LocalConnector(), register=True) as store:
        yield store


def policy(store: Store[Any], **fields: Any) -> DataPolicy:
    return DataPolicy('proxy', FilterConfig(**fields), store.config())


def test_object_size() -> None:
    assert object_size(numpy.zeros(100)) == 800
    assert object_size(b'abc') == 3 and object_size('abcd') == 4
    assert object_size(bytearray(10)) == 10
    assert object_size([1, 2]) > 0


def test_by_value_changes_nothing() -> None:
    value = DataPolicy('value', FilterConfig(kind='all'), None)
    data = [numpy.zeros(10)]
    assert value.proxy_tree(data) == (data, 0)
    assert not value.wants(data[0])
    with pytest.raises(RuntimeError, match='no store'):
        value.store()
    with pytest.raises(ValueError, match='needs a store config'):
        DataPolicy('proxy', FilterConfig(), None)


def test_size_filter(store: Store[Any]) -> None:
    p = policy(store, min_bytes=100)
    big, small = numpy.zeros(100), numpy.zeros(2)
    out, made = p.proxy_tree((big, small, [big], {'k': small}))
    assert made == 2
    assert isinstance(out[0], Proxy) and isinstance(out[2][0], Proxy)
    assert out[1] is small and out[3]['k'] is small
    assert not p.wants(None) and not p.wants(True)


def test_type_filter(store: Store[Any]) -> None:
    p = policy(store, kind='type', types=['ndarray', 'builtins.bytes'])
    assert p.wants(numpy.zeros(1)) and p.wants(b'x')
    assert not p.wants('text') and not p.wants(bytearray(5))
    assert policy(store, kind='type', types=['numpy.ndarray']).wants(numpy.zeros(1))


def test_all_filter_never_reproxies(store: Store[Any]) -> None:
    p = policy(store, kind='all')
    proxy, made = p.proxy_tree(3)
    assert made == 1 and isinstance(proxy, Proxy)
    assert p.proxy_tree(proxy) == (proxy, 0)


def test_named_tuples_keep_their_type(store: Store[Any]) -> None:
    p = policy(store, min_bytes=0)
    out, made = p.proxy_tree(Pair(numpy.ones(3), 'x'))
    assert made == 2 and isinstance(out, Pair)
    back, resolved = resolve_tree(out)
    assert resolved == 2 and isinstance(back, Pair)
    assert numpy.array_equal(back.left, numpy.ones(3)) and back.right == 'x'


def test_memo_stores_an_object_once(store: Store[Any]) -> None:
    p = policy(store, min_bytes=0)
    memo: dict[int, Any] = {}
    data = numpy.arange(10)
    first, made = p.proxy_tree(data, memo)
    second, again = p.proxy_tree([data], memo)
    assert (made, again) == (1, 0) and second[0] is first


def test_resolve_tree_extracts_unresolved_proxies(store: Store[Any]) -> None:
    key = store.put(numpy.arange(5))
    proxy = store.proxy_from_key(key)
    assert not is_resolved(proxy)
    out, resolved = resolve_tree({'a': [proxy, 1]})
    assert resolved == 1
    assert type(out['a'][0]) is numpy.ndarray and out['a'][1] == 1
    assert resolve_tree((1, 'x')) == ((1, 'x'), 0)
