"""Fuzz targets of the payload envelope and of compact store configs.

Contract: `deserialize` and `Codec.decode` return a value or raise a
`SerializationError` (its subclasses); an authenticated reader accepts only
payloads sealed with its secret, whose value is then the one sealed.
`StoreConfig.from_compact` returns a config or raises `ValueError`.
"""

from __future__ import annotations

import contextlib
import pickle
import types
from typing import Any

import pytest
from hypothesis import strategies as st

from proxystore.connectors.local import LocalConnector
from proxystore.proxy import _proxy_trampoline
from proxystore.serialize import Codec
from proxystore.serialize import SerializationError
from proxystore.serialize import deserialize
from proxystore.store import Store
from proxystore.store.config import StoreConfig
from proxystore.store.factory import _rebuild
from proxystore.store.utils import get_factory_of_store_proxy

pytestmark = pytest.mark.fuzz

SECRET = b'fuzz-secret-of-32-bytes-00000000'  # as in make_corpus.py
KEY = ('fuzz-key',)


def _authentic_values() -> list[Any]:
    # The values the authenticated seeds hold (see make_corpus.py): an accepted
    # authenticated payload must decode to one of them.
    return [b'abc', b'bound', {'frames': bytearray(100), 'n': 1}]


def test_envelope(fuzz: types.ModuleType) -> None:
    authentic = _authentic_values()
    codec = Codec('fuzz', secret=SECRET)
    plain = Codec('fuzz')

    def check(data: bytes) -> None:
        for buffer in (data, bytearray(data), memoryview(data)):
            with contextlib.suppress(SerializationError):
                deserialize(buffer)
        with contextlib.suppress(SerializationError):
            plain.decode(data, key=KEY)
        for decode in (
            lambda: deserialize(data, secret=SECRET),
            lambda: codec.decode(data, key=KEY),
        ):
            try:
                value = decode()
            except SerializationError:
                continue
            assert value in authentic, f'a forged payload was accepted: {value!r}'

    fuzz.run('envelope', check)


def test_compact_config(fuzz: types.ModuleType) -> None:
    def check(blob: bytes) -> None:
        try:
            config = StoreConfig.from_compact(blob)
        except ValueError:
            return
        assert isinstance(config, StoreConfig)
        assert StoreConfig.from_compact(config.compact()) == config

    fuzz.run('compact_config', check)


class _ForgedFactory:
    # Pickles as a store proxy's factory does (`StoreFactory.__reduce__`).
    def __init__(self, key: tuple[str, ...], blob: bytes) -> None:
        self.key, self.blob = key, blob

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, ((self.key, True), self.blob))


class _ForgedProxy(_ForgedFactory):
    # Pickles as a proxy of that factory does: the blob is never parsed here.
    def __reduce__(self) -> tuple[Any, ...]:
        factory = _ForgedFactory(self.key, self.blob)
        return (_proxy_trampoline, (factory, None, None))


def test_compact_config_in_pickled_proxy(fuzz: types.ModuleType) -> None:
    """Proxies whose config blob is fuzzed, pickled and unpickled, then used."""
    with Store('fuzz-proxy', LocalConnector(), register=False) as store:
        proxy = store.proxy(b'value')
        key = tuple(get_factory_of_store_proxy(proxy).key)
        original = store.config().compact()
        assert original in pickle.dumps(proxy)

        def check(blob: bytes) -> None:
            forged = pickle.loads(pickle.dumps(_ForgedProxy(key, blob)))
            factory = get_factory_of_store_proxy(forged)
            try:
                factory.store_config  # noqa: B018 - parses the blob
                factory.key  # noqa: B018 - needs the connector's key class
            except ValueError:
                return

        fuzz.run(
            'compact_config',
            check,
            fuzz.inputs('compact_config', st.just(original)),
            name='compact_config_in_proxy',
        )
