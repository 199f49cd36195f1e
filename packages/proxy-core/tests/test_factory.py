from __future__ import annotations

import pickle
from typing import Any

import pytest

from proxystore.factory import Factory
from proxystore.factory import LambdaFactory
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy


def add(a: int, b: int = 0) -> int:
    return a + b


def test_base_factory_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        Factory()

    class Half(Factory[int]):
        def __init__(self) -> None:
            pass

    with pytest.raises(NotImplementedError):
        Half()()


def test_simple_factory() -> None:
    factory = SimpleFactory([1, 2])
    assert factory() == [1, 2]
    assert factory.resolve() == [1, 2]
    assert pickle.loads(pickle.dumps(factory))() == [1, 2]
    assert Proxy(factory) == [1, 2]


def test_lambda_factory_calls_every_time() -> None:
    calls: list[Any] = []

    def record(value: int) -> int:
        calls.append(value)
        return value

    factory = LambdaFactory(record, 3)
    assert factory() == 3
    assert factory() == 3
    assert calls == [3, 3]


def test_lambda_factory_with_arguments_pickles() -> None:
    factory = LambdaFactory(add, 1, b=2)
    assert pickle.loads(pickle.dumps(factory))() == 3


def test_lambda_factory_rejects_non_callable() -> None:
    with pytest.raises(TypeError, match="target must be callable, not 'int'"):
        LambdaFactory(5)  # type: ignore[arg-type]
