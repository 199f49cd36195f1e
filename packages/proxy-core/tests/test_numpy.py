"""numpy interop, including the first program of the project's poster."""

from __future__ import annotations

import pickle
import sys

import numpy
import pytest

from proxystore.proxy import IMPLEMENTATION
from proxystore.proxy import Proxy

# A pure-Python class exports buffers only on Python 3.12+ (PEP 688).
BUFFER_PROTOCOL = IMPLEMENTATION == 'c' or sys.version_info >= (3, 12)


def test_poster_program() -> None:
    x = numpy.array([1, 2, 3])
    p = Proxy(lambda: x)
    assert isinstance(p, Proxy) and isinstance(p, numpy.ndarray)
    assert numpy.array_equal(p, [1, 2, 3])
    assert numpy.sum(p) == 6


def test_arithmetic_and_ufuncs_return_arrays() -> None:
    x = numpy.arange(4.0)
    p = Proxy(lambda: x)
    for result in (p + 1, 1 + p, x + p, numpy.add(p, 1), numpy.sqrt(p), p @ p):
        assert type(result) in (numpy.ndarray, numpy.float64)
    numpy.testing.assert_array_equal(p * 2, x * 2)
    assert p.shape == (4,)
    assert p.dtype == numpy.float64
    assert p.mean() == 1.5
    assert float(p[1]) == 1.0


def test_asarray_shares_memory_with_the_target() -> None:
    x = numpy.arange(6, dtype=numpy.int32).reshape(2, 3)
    p = Proxy(lambda: x)
    view = numpy.asarray(p)
    assert view.shape == (2, 3)
    if BUFFER_PROTOCOL:
        assert numpy.shares_memory(view, x)


def test_object_and_structured_arrays() -> None:
    objects = numpy.array([{'a': 1}, None], dtype=object)
    assert numpy.asarray(Proxy(lambda: objects))[0] == {'a': 1}
    dates = numpy.array(['2024-01-01'], dtype='datetime64[D]')
    assert numpy.asarray(Proxy(lambda: dates))[0] == dates[0]


def test_proxied_list_is_a_sequence_to_numpy() -> None:
    assert numpy.array(Proxy(lambda: [1, 2, 3])).tolist() == [1, 2, 3]


def test_inplace_update_of_array_target() -> None:
    x = numpy.zeros(3)
    p = Proxy(lambda: x)
    p += 1
    assert isinstance(p, Proxy)
    numpy.testing.assert_array_equal(x, numpy.ones(3))


@pytest.mark.skipif(not BUFFER_PROTOCOL, reason='needs the buffer protocol')
def test_memoryview_of_array_proxy() -> None:
    x = numpy.arange(3, dtype=numpy.uint8)
    assert memoryview(Proxy(lambda: x)).tobytes() == b'\x00\x01\x02'


def make_array() -> numpy.ndarray:
    return numpy.ones(1000)


def test_pickled_array_proxy_is_small() -> None:
    p = Proxy(make_array)
    numpy.sum(p)
    assert len(pickle.dumps(p)) < 200
