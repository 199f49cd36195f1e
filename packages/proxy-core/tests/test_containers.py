"""Container, iteration and hashing protocols are forwarded."""

from __future__ import annotations

import operator
from collections import OrderedDict
from typing import Any

import pytest

from proxystore.proxy import Proxy


def test_sequence_operations() -> None:
    data = [1, 2, 3, 4]
    proxy = Proxy(lambda: data)
    assert len(proxy) == 4
    assert proxy[0] == 1
    assert proxy[-1] == 4
    assert proxy[1:3] == [2, 3]
    assert 3 in proxy
    assert 9 not in proxy
    assert list(proxy) == data
    assert list(reversed(proxy)) == [4, 3, 2, 1]
    proxy[0] = 10
    del proxy[1]
    assert data == [10, 3, 4]
    proxy.append(5)
    assert data == [10, 3, 4, 5]
    assert proxy + [6] == [10, 3, 4, 5, 6]  # noqa: RUF005
    assert [0] + proxy == [0, 10, 3, 4, 5]  # noqa: RUF005
    assert proxy * 2 == data * 2


def test_mapping_operations() -> None:
    data: dict[str, int] = {'a': 1}
    proxy = Proxy(lambda: data)
    proxy['b'] = 2
    assert proxy['b'] == 2
    assert 'a' in proxy
    del proxy['a']
    assert data == {'b': 2}
    assert dict(proxy) == {'b': 2}
    assert {**proxy} == {'b': 2}
    assert proxy | {'c': 3} == {'b': 2, 'c': 3}
    assert list(proxy.items()) == [('b', 2)]
    with pytest.raises(KeyError, match='missing'):
        proxy['missing']


def test_reversed_dict_uses_the_target_protocol() -> None:
    proxy = Proxy(lambda: OrderedDict([('a', 1), ('b', 2)]))
    assert list(reversed(proxy)) == ['b', 'a']


def test_proxy_as_mapping_key() -> None:
    key = Proxy(lambda: 'key')
    table = {'key': 1}
    assert table[key] == 1
    table[key] = 2
    assert table == {'key': 2}
    assert hash(key) == hash('key')


def test_unhashable_target() -> None:
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        hash(Proxy(lambda: [1]))


def test_iterator_target() -> None:
    proxy = Proxy(lambda: iter([1, 2]))
    assert next(proxy) == 1
    assert next(proxy) == 2
    with pytest.raises(StopIteration):
        next(proxy)


def test_next_on_non_iterator_raises_like_target() -> None:
    with pytest.raises(TypeError, match="'list' object is not an iterator"):
        next(Proxy(lambda: [1]))


def test_generator_target() -> None:
    def generate() -> Any:
        yield from range(3)

    assert sum(Proxy(generate)) == 3


def test_length_hint() -> None:
    proxy = Proxy(lambda: iter(range(5)))
    assert operator.length_hint(proxy) == 5
    assert operator.length_hint(Proxy(lambda: object()), 7) == 7


def test_len_of_unsized_target() -> None:
    with pytest.raises(TypeError, match="object of type 'int' has no len"):
        len(Proxy(lambda: 1))


def test_string_target() -> None:
    proxy = Proxy(lambda: 'hello')
    assert proxy.upper() == 'HELLO'
    assert proxy + '!' == 'hello!'
    assert 'ell' in proxy
    assert proxy[::-1] == 'olleh'
    assert '%s!' % proxy == 'hello!'  # noqa: UP031
    assert str(proxy) == 'hello'
    assert f'{proxy}' == 'hello'
    assert ''.join(Proxy(lambda: ['a', 'b'])) == 'ab'


def test_set_target() -> None:
    proxy = Proxy(lambda: {1, 2})
    assert proxy & {2, 3} == {2}
    assert {2, 3} | proxy == {1, 2, 3}
    proxy |= {4}
    assert proxy == {1, 2, 4}
    assert isinstance(proxy, Proxy)
