"""Subclasses of Proxy: the extension points that ProxyStore 1.x code relies on."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved


class Thing:
    def __init__(self) -> None:
        self.value = 1


class Checked(Proxy[Any]):
    """Refuses every use once invalidated, as ownership proxies do."""

    __slots__ = ('__proxy_valid__',)

    def __init__(self, factory: Any) -> None:
        object.__setattr__(self, '__proxy_valid__', True)
        super().__init__(factory)

    @property
    def __proxy_wrapped__(self) -> Any:
        if not object.__getattribute__(self, '__proxy_valid__'):
            raise RuntimeError('this proxy was invalidated')
        return super().__proxy_wrapped__

    @__proxy_wrapped__.setter
    def __proxy_wrapped__(self, value: Any) -> None:
        Proxy.__proxy_wrapped__.__set__(self, value)  # type: ignore[attr-defined]


def test_object_setattr_and_delattr_work_on_proxy_slots() -> None:
    proxy = Proxy(Thing)
    object.__setattr__(proxy, '__proxy_default_class__', Thing)
    assert proxy.__proxy_default_class__ is Thing
    object.__delattr__(proxy, '__proxy_default_class__')
    with pytest.raises(AttributeError):
        proxy.__proxy_default_class__  # noqa: B018
    assert not is_resolved(proxy)


def test_overridden_wrapped_sees_every_use() -> None:
    proxy = Checked(lambda: [1, 2])
    assert len(proxy) == 2
    assert proxy[0] == 1
    assert proxy + [3] == [1, 2, 3]  # noqa: RUF005
    object.__setattr__(proxy, '__proxy_valid__', False)
    for use in (len, str, hash, lambda p: p[0], lambda p: p.count(1), list):
        with pytest.raises(RuntimeError, match='invalidated'):
            use(proxy)
    with pytest.raises(RuntimeError, match='invalidated'):
        proxy + [3]  # noqa: RUF005
    with pytest.raises(RuntimeError, match='invalidated'):
        isinstance(proxy, list)
    assert isinstance(proxy, Proxy)


def test_subclass_overriding_an_operator_can_call_super() -> None:
    class Logged(Proxy[Any]):
        __slots__ = ()
        calls: list[str] = []  # noqa: RUF012

        def __add__(self, other: Any) -> Any:
            Logged.calls.append('add')
            return super().__add__(other)

        def __radd__(self, other: Any) -> Any:
            Logged.calls.append('radd')
            return super().__radd__(other)

    proxy = Logged(lambda: 1)
    assert proxy + 1 == 2
    assert 1 + proxy == 2
    assert Proxy(lambda: 10) + proxy == 11
    assert Logged.calls[:2] == ['add', 'radd']


def test_subclass_overriding_only_the_reflected_operator() -> None:
    class Right(Proxy[Any]):
        __slots__ = ()

        def __radd__(self, other: Any) -> Any:
            return ('right', other)

    assert Right(lambda: 1) + 1 == 2
    assert 1 + Right(lambda: 1) == ('right', 1)


def test_vars_and_dict_of_a_subclass_report_the_target() -> None:
    class WithDict(Proxy[Any]):
        pass

    thing = Thing()
    proxy = WithDict(lambda: thing)
    assert vars(proxy) == {'value': 1}
    assert proxy.__dict__ is thing.__dict__
    proxy.other = 2
    assert thing.other == 2  # type: ignore[attr-defined]


def test_long_chain_of_proxies_is_freed() -> None:
    base = Proxy.__mro__[1]  # the implementation's base class
    proxy: Any = base(int, target=0)
    for _ in range(100_000):
        proxy = base(int, target=proxy)
    del proxy
    gc.collect()


def test_super_in_an_overridden_operator_unwraps_self() -> None:
    class Doubled(Proxy[Any]):
        __slots__ = ()

        def __add__(self, other: Any) -> Any:
            return super().__add__(other) * 2

    assert Doubled(lambda: 1) + Proxy(lambda: 2) == 6
    assert Doubled(lambda: 1) + 2 == 6


def test_overriding_operand_on_the_right_keeps_its_say() -> None:
    class Left(Proxy[Any]):
        __slots__ = ()

        def __add__(self, other: Any) -> Any:
            return super().__add__(other)

    class Right(Proxy[Any]):
        __slots__ = ()

        def __radd__(self, other: Any) -> Any:
            return 'Right.__radd__'

    assert Left(lambda: 1) + Right(lambda: 2) == 'Right.__radd__'


def test_operator_of_a_python_target_runs_once() -> None:
    calls = []

    class Declines:
        def __add__(self, other: Any) -> Any:
            calls.append('add')
            return NotImplemented

    with pytest.raises(TypeError, match='unsupported operand'):
        Proxy(Declines) + Declines()
    assert calls == ['add']


def test_non_int_hash_default_is_refused() -> None:
    proxy = Proxy(Thing)
    proxy.__proxy_default_hash__ = 'abc'
    with pytest.raises(TypeError, match='__hash__ method should return an integer'):
        hash(proxy)


def test_cached_unhashable_error_has_no_context() -> None:
    proxy = Proxy(lambda: [1], cache_defaults=True, target=[1])
    del proxy.__proxy_wrapped__
    try:
        hash(proxy)
    except TypeError as e:
        assert e.__suppress_context__  # noqa: PT017
    else:  # pragma: no cover
        pytest.fail('hash() of an unhashable default must raise')


def test_a_proxy_with_cached_defaults_is_freed_without_a_gc_pass() -> None:
    # Finalizers of subclasses (ownership) rely on prompt release: no cycle.
    import weakref

    enabled = gc.isenabled()
    gc.disable()
    try:
        proxy = Proxy(lambda: [1], cache_defaults=True, target=[1])  # unhashable
        ref = weakref.ref(proxy)
        del proxy
        assert ref() is None
    finally:
        if enabled:
            gc.enable()
