"""Options, configs and the key's route to its server."""

from __future__ import annotations

import pickle

import pytest

from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXKey
from proxystore.connectors.ucx.connector import interface_address
from proxystore.store import Store
from proxystore.testing.ucx import UCXServer


def test_config_leaves_out_defaults_and_a_found_address() -> None:
    assert UCXConnector().config() == {}
    connector = UCXConnector(
        1234, '10.0.0.1', timeout=5, transports=['tcp', 'sm', 'self'], devices='lo'
    )
    assert connector.config() == {
        'port': 1234,
        'address': '10.0.0.1',
        'timeout': 5,
        'transports': 'tcp,sm,self',
        'devices': 'lo',
    }
    again = UCXConnector.from_config(connector.config())
    assert again.config() == connector.config()
    assert UCXConnector(spawn_server=False).config() == {'spawn_server': False}


def test_interface_address() -> None:
    assert interface_address('lo') == '127.0.0.1'
    assert UCXConnector(interface='lo').address == '127.0.0.1'


def test_keys_name_their_server(server: UCXServer) -> None:
    with server.connector() as connector:
        key = connector.put(b'abc')
        assert key == UCXKey(key.object_id, 3, '127.0.0.1', server.port)
        assert pickle.loads(pickle.dumps(key)) == key


def test_proxy_is_small(server: UCXServer) -> None:
    with Store('ucx-size', server.connector()) as store:
        proxy = store.proxy(b'x' * 1000)
        size = len(pickle.dumps(proxy))
    assert size < 350, size


@pytest.mark.parametrize('transports', ['tcp,self', None])
def test_put_frames_large(server: UCXServer, transports: str | None) -> None:
    with server.connector(transports=transports) as connector:
        frames = [b'a' * 100_000, b'', bytearray(b'b' * 3), memoryview(b'c' * 50_000)]
        key = connector.put_frames(frames)
        assert key.size == 150_003
        assert bytes(connector.get(key)) == b''.join(bytes(f) for f in frames)  # type: ignore[arg-type]
