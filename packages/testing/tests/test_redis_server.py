"""RedisServer is a ServerProcess: a real server on 127.0.0.1, ended by its owner."""

from __future__ import annotations

import os
import pathlib
import socket

import pytest

from proxystore.testing.processes import ServerProcess
from proxystore.testing.processes import ServerStartError
from proxystore.testing.redis import RedisCluster
from proxystore.testing.redis import RedisServer


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_server_answers_on_loopback_and_its_port_is_free_after(
    tmp_path: pathlib.Path,
) -> None:
    with RedisServer(tmp_path / 'one') as server:
        assert isinstance(server, ServerProcess)
        pid = server.pid
        with server.client() as client:
            assert client.ping()
            bind = client.config_get('bind')['bind']
            assert bind.split() == ['127.0.0.1']
        assert server.log.exists()
    assert server.process is None
    assert _gone(pid)
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', server.port))


def test_a_bad_option_is_a_start_error_and_leaves_no_process(
    tmp_path: pathlib.Path,
) -> None:
    server = RedisServer(tmp_path / 'bad', extra=['--no-such-directive', 'yes'])
    with pytest.raises(ServerStartError, match='exited with'):
        server.start()
    assert server.process is None


def test_an_appendonly_server_keeps_its_writes_over_a_crash(
    tmp_path: pathlib.Path,
) -> None:
    with RedisServer(tmp_path / 'durable', appendonly=True) as server:
        with server.client() as client:
            client.set('k', b'v')
        server.kill()
        assert server.process is not None
        assert not server.ready()
        server.start()
        with server.client() as client:
            assert client.get('k') == b'v'
        server.restart()
        with server.client() as client:
            assert client.get('k') == b'v'


def test_a_cluster_stops_every_node(tmp_path: pathlib.Path) -> None:
    with RedisCluster(tmp_path / 'cluster', shards=2) as cluster:
        pids = [node.pid for node in cluster.nodes]
        with cluster.nodes[1].client() as client:
            assert b'cluster_state:ok' in client.execute_command('CLUSTER', 'INFO')
    assert all(_gone(pid) for pid in pids)
