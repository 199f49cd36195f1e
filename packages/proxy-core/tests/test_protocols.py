"""Context managers, copying, the buffer protocol and async protocols."""

from __future__ import annotations

import array
import asyncio
import copy
import sys
import types
from collections.abc import AsyncIterator
from typing import Any

import pytest

from proxystore.proxy import IMPLEMENTATION
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved

BUFFER_PROTOCOL = IMPLEMENTATION == 'c' or sys.version_info >= (3, 12)
needs_buffer = pytest.mark.skipif(
    not BUFFER_PROTOCOL,
    reason='a pure-Python class exports buffers only on Python 3.12+ (PEP 688)',
)


class Manager:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def __enter__(self) -> str:
        self.events.append('enter')
        return 'value'

    def __exit__(self, *exc: Any) -> bool:
        self.events.append(exc[0])
        return True


def test_context_manager() -> None:
    manager = Manager()
    with Proxy(lambda: manager) as value:
        assert value == 'value'
        raise KeyError('swallowed by __exit__')
    assert manager.events == ['enter', KeyError]


def test_non_context_manager_target() -> None:
    with (
        pytest.raises(TypeError, match='does not support the context manager'),
        Proxy(lambda: [1]),
    ):
        pass


def test_copy_copies_the_target() -> None:
    inner = [1]
    data = [inner, 2]
    proxy = Proxy(lambda: data)
    shallow = copy.copy(proxy)
    assert shallow == data
    assert type(shallow) is list
    assert shallow is not data
    assert shallow[0] is inner
    deep = copy.deepcopy(proxy)
    assert deep == data
    assert deep[0] is not inner


def test_deepcopy_of_a_structure_holding_a_proxy() -> None:
    proxy = Proxy(lambda: {'k': [1]})
    holder = {'p': proxy, 'again': proxy}
    copied = copy.deepcopy(holder)
    assert copied['p'] == {'k': [1]}
    assert copied['p'] is copied['again']


@needs_buffer
def test_memoryview_of_bytes_like_targets() -> None:
    data = bytearray(b'abcdef')
    proxy = Proxy(lambda: data)
    view = memoryview(proxy)
    assert view.tobytes() == b'abcdef'
    view[0] = ord('z')
    assert data[0] == ord('z')
    numbers = array.array('d', [1.0, 2.0])
    assert memoryview(Proxy(lambda: numbers)).tolist() == [1.0, 2.0]
    assert b'-'.join([Proxy(lambda: b'a'), b'b']) == b'a-b'
    assert bytearray(Proxy(lambda: b'xy')) == bytearray(b'xy')


@needs_buffer
def test_memoryview_of_non_buffer_target() -> None:
    with pytest.raises(TypeError, match="bytes-like object is required, not 'list'"):
        memoryview(Proxy(lambda: [1]))


@needs_buffer
def test_buffer_consumers_accept_proxies() -> None:
    import hashlib
    import struct

    payload = struct.pack('<i', 7)
    proxy = Proxy(lambda: payload)
    assert struct.unpack('<i', proxy) == (7,)
    assert hashlib.sha256(proxy).digest() == hashlib.sha256(payload).digest()


async def test_await_coroutine() -> None:
    async def compute() -> int:
        await asyncio.sleep(0)
        return 5

    assert await Proxy(compute) == 5


async def test_await_future_and_generator_coroutine() -> None:
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.call_soon(future.set_result, 'done')
    assert await Proxy(lambda: future) == 'done'

    @types.coroutine
    def legacy() -> Any:
        yield
        return 'legacy'

    assert await Proxy(legacy) == 'legacy'


async def test_await_non_awaitable() -> None:
    with pytest.raises(TypeError, match="object int can't be used in 'await'"):
        await Proxy(lambda: 1)


async def test_async_iteration() -> None:
    async def numbers() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    assert [x async for x in Proxy(numbers)] == [0, 1, 2]
    iterator = Proxy(numbers)
    assert await anext(aiter(iterator)) == 0


async def test_async_context_manager() -> None:
    class AsyncManager:
        entered = False

        async def __aenter__(self) -> str:
            self.entered = True
            return 'inside'

        async def __aexit__(self, *exc: Any) -> None:
            self.entered = False

    manager = AsyncManager()
    async with Proxy(lambda: manager) as value:
        assert value == 'inside'
        assert manager.entered
    assert not manager.entered


async def test_async_protocols_on_wrong_target() -> None:
    with pytest.raises(TypeError, match='asynchronous context manager'):
        async with Proxy(lambda: 1):
            pass
    with pytest.raises(TypeError, match='asynchronous iteration'):
        async for _ in Proxy(lambda: 1):
            pass


def test_creating_an_async_proxy_does_not_resolve() -> None:
    proxy = Proxy(lambda: asyncio.sleep(0))
    assert not is_resolved(proxy)
