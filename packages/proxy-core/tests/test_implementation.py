"""Choosing the implementation, and the import surface of the package."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import proxystore.proxy
from proxystore.proxy import IMPLEMENTATION
from proxystore.proxy import IMPLEMENTATION_ENV
from proxystore.proxy import Proxy


def _run(code: str, impl: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(IMPLEMENTATION_ENV, None)
    if impl is not None:
        env[IMPLEMENTATION_ENV] = impl
    return subprocess.run(
        [sys.executable, '-c', code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_requested_implementation_is_used() -> None:
    requested = os.environ.get(IMPLEMENTATION_ENV, 'auto')
    if requested in ('c', 'python'):
        assert requested == IMPLEMENTATION
    assert IMPLEMENTATION in ('c', 'python')


def test_base_class_matches_implementation() -> None:
    base = Proxy.__mro__[1]
    expected = '_cproxy' if IMPLEMENTATION == 'c' else '_pyproxy'
    assert base.__module__.endswith(expected)


@pytest.mark.parametrize('impl', ['python', 'PYTHON', ' python '])
def test_python_can_be_forced(impl: str) -> None:
    result = _run('import proxystore.proxy as p; print(p.IMPLEMENTATION)', impl)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'python'


def test_invalid_choice_is_a_clear_error() -> None:
    result = _run('import proxystore.proxy', 'rust')
    assert result.returncode != 0
    assert (
        "ValueError: PROXYSTORE_PROXY_IMPL='rust' is not valid: expected one of "
        'auto, c, python.'
    ) in result.stderr


def test_import_is_cheap() -> None:
    # Importing the proxy must not drag in heavy modules.
    code = (
        'import sys, proxystore.proxy\n'
        'heavy = {"numpy", "asyncio", "concurrent.futures", "pickle", "copy", '
        '"typing_extensions", "inspect"}\n'
        'print(sorted(heavy & set(sys.modules)))'
    )
    result = _run(code, None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[]'


def test_namespace_package_has_no_init() -> None:
    import proxystore

    assert getattr(proxystore, '__file__', None) is None
    assert len(list(proxystore.__path__)) >= 1


def test_proxy_or_alias() -> None:
    from proxystore.proxy import ProxyOr

    assert ProxyOr.__name__ == 'ProxyOr'
    assert ProxyOr.__module__ == 'proxystore.proxy'
    assert proxystore.proxy.ProxyOr is ProxyOr
    assert 'ProxyOr[int]' in repr(ProxyOr[int])


def test_unknown_module_attribute() -> None:
    with pytest.raises(
        AttributeError,
        match=r"module 'proxystore\.proxy' has no attribute 'Nope'",
    ):
        proxystore.proxy.Nope  # noqa: B018


def test_imports_where_the_platform_cannot_fork() -> None:
    code = (
        'import os\n'
        'del os.register_at_fork\n'
        'import proxystore.proxy as p\n'
        'print(p.IMPLEMENTATION, p.Proxy(lambda: [1, 2])[1])'
    )
    result = _run(code, None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == '2'
