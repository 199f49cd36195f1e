"""Attribute access, isinstance, dir and the documented dunder attributes."""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved


class Thing:
    """A thing's docstring."""

    kind = 'class-level'

    def __init__(self) -> None:
        self.value = 1

    def method(self, x: int) -> int:
        return self.value + x

    @property
    def double(self) -> int:
        return self.value * 2


def test_get_set_delete_attributes_on_target() -> None:
    thing = Thing()
    proxy = Proxy(lambda: thing)
    assert proxy.value == 1
    assert proxy.kind == 'class-level'
    assert proxy.double == 2
    assert proxy.method(2) == 3
    proxy.value = 5
    assert thing.value == 5
    proxy.extra = 'new'
    assert thing.extra == 'new'  # type: ignore[attr-defined]
    del proxy.extra
    assert not hasattr(thing, 'extra')
    assert vars(proxy) == {'value': 5}
    assert proxy.__dict__ is thing.__dict__


def test_missing_attribute_raises_target_error() -> None:
    proxy = Proxy(Thing)
    with pytest.raises(AttributeError, match="'Thing' object has no attribute 'nope'"):
        proxy.nope  # noqa: B018
    assert not hasattr(proxy, 'nope')
    assert getattr(proxy, 'nope', 'default') == 'default'


def test_doc_module_and_name_report_the_target() -> None:
    proxy = Proxy(lambda: Thing)
    assert proxy.__doc__ == "A thing's docstring."
    assert proxy.__module__ == __name__
    assert proxy.__name__ == 'Thing'
    assert proxy.__qualname__ == 'Thing'
    proxy.__doc__ = 'changed'
    assert Thing.__doc__ == 'changed'
    Thing.__doc__ = "A thing's docstring."


def test_class_level_attributes_describe_the_proxy_class() -> None:
    assert Proxy.__module__ == 'proxystore.proxy'
    assert Proxy.__name__ == 'Proxy'
    assert 'transparent' in (Proxy.__doc__ or '')


def test_annotations_report_the_target() -> None:
    def annotated(x: int) -> str:
        return str(x)

    proxy = Proxy(lambda: annotated)
    assert proxy.__annotations__ == annotated.__annotations__


def test_isinstance_and_class() -> None:
    proxy = Proxy(lambda: [1])
    assert isinstance(proxy, Proxy)
    assert not is_resolved(proxy)
    assert isinstance(proxy, list)
    assert proxy.__class__ is list
    assert type(proxy) is Proxy
    assert isinstance(proxy, collections.abc.Sequence)
    assert not isinstance(proxy, dict)
    assert issubclass(type(proxy), Proxy)


def test_isinstance_of_target_that_overrides_class() -> None:
    class Liar:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return int

    assert isinstance(Proxy(Liar), int)


def test_generic_alias_isinstance_matches_1x() -> None:
    proxy = Proxy(lambda: {'a': 1})
    assert isinstance(proxy, collections.abc.Mapping)
    # typing's aliases check type(obj), which is the proxy class (as in 1.x).
    with pytest.raises(TypeError):
        isinstance(proxy, typing.Mapping[str, int])  # type: ignore[misc]


def test_proxy_of_a_class_works_with_isinstance_and_issubclass() -> None:
    proxy = Proxy(lambda: int)
    assert isinstance(3, proxy)
    assert not isinstance('3', proxy)
    assert issubclass(bool, proxy)
    assert proxy('12') == 12


def test_set_class_sets_the_target_class() -> None:
    class Other(Thing):
        pass

    thing = Thing()
    proxy = Proxy(lambda: thing)
    proxy.__class__ = Other
    assert type(thing) is Other


def test_dir_lists_the_target() -> None:
    proxy = Proxy(Thing)
    listing = dir(proxy)
    assert 'method' in listing
    assert 'value' in listing
    assert '__proxy_factory__' not in listing


def test_callable_target() -> None:
    proxy = Proxy(lambda: lambda a, b=1: a + b)
    assert proxy(1) == 2
    assert proxy(1, b=5) == 6
    assert callable(proxy)


def test_str_and_bytes() -> None:
    assert str(Proxy(lambda: 42)) == '42'
    assert bytes(Proxy(lambda: b'abc')) == b'abc'
    assert bytes(Proxy(lambda: [1, 2])) == b'\x01\x02'


def test_repr_never_resolves() -> None:
    proxy = Proxy(lambda: [1, 2])
    text = repr(proxy)
    assert text.startswith('<Proxy at 0x')
    assert 'with factory' in text
    assert not is_resolved(proxy)
    proxy.__proxy_wrapped__  # noqa: B018
    assert 'wrapping [1, 2] at 0x' in repr(proxy)


def test_proxy_attributes_stay_on_the_proxy() -> None:
    def factory() -> Thing:
        return Thing()

    proxy = Proxy(factory)
    assert proxy.__proxy_factory__ is factory
    assert proxy.__proxy_default_class__ is None
    assert proxy.__proxy_default_hash__ is None
    assert not proxy.__proxy_resolved__
    assert not is_resolved(proxy)


def test_bool() -> None:
    assert not Proxy(lambda: [])
    assert Proxy(lambda: [0])
    assert not Proxy(lambda: 0)


def test_fspath() -> None:
    import os
    import pathlib

    assert os.fspath(Proxy(lambda: pathlib.Path('/tmp/x'))) == '/tmp/x'
    assert os.fspath(Proxy(lambda: '/tmp/y')) == '/tmp/y'
    with pytest.raises(TypeError):
        os.fspath(Proxy(lambda: 1))


def test_sizeof_reports_the_target() -> None:
    import sys

    data = list(range(1000))
    assert Proxy(lambda: data).__sizeof__() == data.__sizeof__()
    assert sys.getsizeof(Proxy(lambda: data)) >= data.__sizeof__()


def test_target_attribute_error_inside_property_is_not_masked() -> None:
    class Broken:
        @property
        def value(self) -> Any:
            raise AttributeError('inner problem')

    with pytest.raises(AttributeError, match='inner problem'):
        Proxy(Broken).value  # noqa: B018
