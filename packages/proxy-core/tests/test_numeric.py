"""Every arithmetic, bitwise, comparison and conversion operator is forwarded."""

from __future__ import annotations

import math
import operator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved

BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.floordiv,
    operator.mod,
    operator.pow,
    operator.lshift,
    operator.rshift,
    operator.and_,
    operator.xor,
    operator.or_,
    divmod,
    operator.lt,
    operator.le,
    operator.eq,
    operator.ne,
    operator.gt,
    operator.ge,
]

INPLACE = [
    (operator.iadd, operator.add),
    (operator.isub, operator.sub),
    (operator.imul, operator.mul),
    (operator.itruediv, operator.truediv),
    (operator.ifloordiv, operator.floordiv),
    (operator.imod, operator.mod),
    (operator.ipow, operator.pow),
    (operator.ilshift, operator.lshift),
    (operator.irshift, operator.rshift),
    (operator.iand, operator.and_),
    (operator.ixor, operator.xor),
    (operator.ior, operator.or_),
]


@pytest.mark.parametrize('op', BINARY, ids=lambda op: op.__name__)
def test_binary_operators_both_sides(op: Any) -> None:
    left, right = 13, 5
    assert op(Proxy(lambda: left), right) == op(left, right)
    assert op(left, Proxy(lambda: right)) == op(left, right)
    assert op(Proxy(lambda: left), Proxy(lambda: right)) == op(left, right)


@pytest.mark.parametrize(('iop', 'op'), INPLACE, ids=lambda op: op.__name__)
def test_inplace_operators_keep_the_proxy(iop: Any, op: Any) -> None:
    proxy = Proxy(lambda: 13)
    original = proxy
    proxy = iop(proxy, 5)
    assert proxy is original
    assert isinstance(proxy, Proxy)
    assert proxy == op(13, 5)


def test_inplace_on_mutable_target_mutates_it() -> None:
    data = [1]
    proxy = Proxy(lambda: data)
    proxy += [2]
    assert data == [1, 2]
    assert proxy.__proxy_wrapped__ is data


def test_inplace_with_proxy_operand() -> None:
    proxy = Proxy(lambda: 10)
    proxy -= Proxy(lambda: 4)
    assert proxy == 6


def test_ternary_pow() -> None:
    assert pow(Proxy(lambda: 3), 4, 5) == pow(3, 4, 5)
    assert pow(3, Proxy(lambda: 4)) == 81


def test_matmul() -> None:
    class Matrix:
        def __init__(self, value: int) -> None:
            self.value = value

        def __matmul__(self, other: Any) -> int:
            return self.value * 10 + other

        def __rmatmul__(self, other: Any) -> int:
            return other * 10 + self.value

        def __imatmul__(self, other: Any) -> Matrix:
            return Matrix(self.value + other)

    proxy = Proxy(lambda: Matrix(2))
    assert proxy @ 3 == 23
    assert 3 @ proxy == 32
    proxy @= 5
    assert isinstance(proxy, Proxy)
    assert proxy.value == 7


@pytest.mark.parametrize(
    'op',
    [operator.neg, operator.pos, abs, operator.invert, int, float, complex, bool],
    ids=lambda op: op.__name__,
)
def test_unary_and_conversions(op: Any) -> None:
    assert op(Proxy(lambda: -7)) == op(-7)


def test_conversions_follow_the_target_semantics() -> None:
    assert int(Proxy(lambda: '42')) == 42
    assert float(Proxy(lambda: '1.5')) == 1.5
    assert complex(Proxy(lambda: '1+2j')) == 1 + 2j


def test_index() -> None:
    items = ['a', 'b', 'c']
    assert items[Proxy(lambda: 2)] == 'c'
    assert operator.index(Proxy(lambda: 5)) == 5
    assert hex(Proxy(lambda: 255)) == '0xff'
    assert list(range(Proxy(lambda: 3))) == [0, 1, 2]


def test_index_refuses_floats_like_the_target() -> None:
    # ProxyStore 1.x truncated silently here.
    with pytest.raises(TypeError, match="'float' object cannot be interpreted"):
        ['a', 'b'][Proxy(lambda: 1.0)]


def test_round_with_and_without_digits() -> None:
    proxy = Proxy(lambda: 3.14159)
    assert round(proxy) == 3
    assert round(proxy, 2) == 3.14
    assert round(Proxy(lambda: Decimal('2.675')), 2) == Decimal('2.68')


def test_trunc_floor_ceil() -> None:
    assert math.trunc(Proxy(lambda: -2.7)) == -2
    assert math.floor(Proxy(lambda: -2.7)) == -3
    assert math.ceil(Proxy(lambda: -2.7)) == -2
    # Fraction keeps exact arithmetic through its own __floor__.
    huge = Fraction(10**30 + 1, 10)
    assert math.floor(Proxy(lambda: huge)) == math.floor(huge)


def test_format() -> None:
    assert format(Proxy(lambda: 3.14159), '.2f') == '3.14'
    value = Proxy(lambda: 42)
    assert f'{value:>5}|{value!r:.6}|{value}' == '   42|<Proxy|42'


@pytest.mark.parametrize(
    'value',
    [Decimal('1.25'), Fraction(3, 4), 2.5, 7, 1 + 1j],
    ids=type,
)
def test_numeric_tower(value: Any) -> None:
    proxy = Proxy(lambda: value)
    assert proxy + 1 == value + 1
    assert 2 * proxy == 2 * value
    assert proxy / 2 == value / 2
    assert -proxy == -value
    assert abs(proxy) == abs(value)
    assert proxy == value
    assert hash(proxy) == hash(value)


def test_unsupported_operation_raises_target_error() -> None:
    with pytest.raises(TypeError, match=r'unsupported operand type\(s\) for \+'):
        Proxy(lambda: 1) + 'x'


def test_comparisons_between_proxies() -> None:
    left = Proxy(lambda: 1)
    right = Proxy(lambda: 2)
    assert left < right
    assert is_resolved(left)
    assert is_resolved(right)
    assert sorted([Proxy(lambda: 3), Proxy(lambda: 1), 2]) == [1, 2, 3]
