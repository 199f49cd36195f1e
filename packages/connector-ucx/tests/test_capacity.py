"""A data server with a capacity: puts over it are refused whole, typed."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Generator

import pytest

from proxystore.connectors.protocols import StoreFullError
from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXStoreFullError
from proxystore.connectors.ucx._client import ping
from proxystore.connectors.ucx.server import DataServer
from proxystore.testing.ucx import UCXServer

KIB = 1024


@pytest.fixture(scope='module')
def bounded() -> Generator[UCXServer]:
    with UCXServer(capacity=256 * KIB) as server:
        yield server


def test_full_server_refuses_with_a_typed_error(bounded: UCXServer) -> None:
    connector = bounded.connector()
    keys = [connector.put(bytes([i]) * (100 * KIB)) for i in range(2)]
    try:
        with pytest.raises(UCXStoreFullError) as info:
            connector.put(bytes(100 * KIB))
        assert isinstance(info.value, StoreFullError)
        message = str(info.value)
        assert f'a put of {100 * KIB} bytes does not fit' in message
        assert f"the server's capacity is {256 * KIB} bytes" in message
        assert f'{200 * KIB} are held by 2 objects' in message
        # Refused whole, the connection still works: the objects are intact.
        assert bytes(connector.get(keys[1]) or b'') == bytes([1]) * (100 * KIB)
        small = connector.put(b'fits')  # inline objects count too, and fit
        assert bytes(connector.get(small) or b'') == b'fits'
        connector.evict(small)
        with pytest.raises(UCXStoreFullError):
            connector.put_batch([bytes(30 * KIB), bytes(30 * KIB)])
    finally:
        connector.evict_batch(keys)
    key = connector.put(bytes(200 * KIB))  # room again after the evictions
    connector.evict(key)


def test_a_put_waits_full_timeout_for_an_eviction(bounded: UCXServer) -> None:
    connector = bounded.connector(full_timeout=60)
    first = connector.put(bytes(200 * KIB))
    evicted = threading.Event()

    def evict() -> None:
        bounded.connector().evict(first)
        evicted.set()

    timer = threading.Timer(0.3, evict)
    timer.start()
    try:
        key = connector.put(bytes(200 * KIB))  # waits for the eviction
    finally:
        timer.join(30)
    assert evicted.is_set()
    connector.evict(key)


def test_full_timeout_runs_out(bounded: UCXServer) -> None:
    connector = bounded.connector(full_timeout=0.2)
    first = connector.put(bytes(200 * KIB))
    try:
        with pytest.raises(UCXStoreFullError) as info:
            connector.put(bytes(100 * KIB))
        assert any('waited 0.2 s (full_timeout)' in n for n in info.value.__notes__)
    finally:
        connector.evict(first)


def test_full_timeout_in_config() -> None:
    connector = UCXConnector(spawn_server=False, full_timeout=2.5)
    assert connector.config()['full_timeout'] == 2.5
    assert UCXConnector.from_config(connector.config()).full_timeout == 2.5
    assert 'full_timeout' not in UCXConnector(spawn_server=False).config()
    with pytest.raises(ValueError, match='full_timeout must be 0 or more, not -1'):
        UCXConnector(full_timeout=-1)


@pytest.mark.parametrize('capacity', [0, -1, True, 2.5])
def test_bad_capacity(capacity: object) -> None:
    with pytest.raises(ValueError, match='capacity must be a positive number of bytes'):
        DataServer(capacity=capacity)  # type: ignore[arg-type]


def test_a_spilling_server_keeps_every_object(tmp_path: pathlib.Path) -> None:
    spill = tmp_path / 'spill'
    with UCXServer(capacity=256 * KIB, spill_directory=str(spill)) as server:
        connector = server.connector()
        values = [bytes([i]) * (100 * KIB) for i in range(8)]  # 800 KiB, 3x over
        keys = [connector.put(value) for value in values]
        (folder,) = spill.iterdir()
        assert folder.name == f'proxystore-ucx-spill-{server.pid}'
        assert len(list(folder.iterdir())) >= 5  # the oldest went to disk
        assert connector.exists(keys[0])
        for key, value in zip(keys, values, strict=True):
            assert bytes(connector.get(key) or b'') == value  # read back
        size = ping(server.address, server.port, timeout=10)[2]
        assert size <= 256 * KIB  # memory stays within the capacity
        listed = {o.key: o for o in connector.list_objects()}
        assert set(listed) == set(keys)
        assert all(o.size == 100 * KIB for o in listed.values())
        assert 0 < sum(o.spilled for o in listed.values()) < 8
        connector.evict_batch(keys)
        assert not any(connector.exists(key) for key in keys)
        assert list(folder.iterdir()) == []
    assert not spill.exists() or list(spill.iterdir()) == []  # removed at stop


def test_a_killed_servers_spill_folder_is_reaped(tmp_path: pathlib.Path) -> None:
    spill = tmp_path / 'spill'
    with UCXServer(capacity=64 * KIB, spill_directory=str(spill)) as server:
        connector = server.connector()
        for i in range(4):
            connector.put(bytes([i]) * (40 * KIB))
        dead = spill / f'proxystore-ucx-spill-{server.pid}'
        assert dead.exists()
        server.kill()
        server.start()  # a new server on the folder removes the dead one's
        assert not dead.exists()
        assert (spill / f'proxystore-ucx-spill-{server.pid}').exists()


def test_spill_directory_needs_a_capacity(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match='spill_directory needs a capacity'):
        DataServer(spill_directory=str(tmp_path))
