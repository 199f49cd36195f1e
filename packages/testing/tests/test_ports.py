"""free_port gives ports of 127.0.0.1 that a server can bind."""

from __future__ import annotations

import socket

from proxystore.testing.ports import free_port


def test_a_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    assert 0 < port <= 65535
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', port))
        sock.listen()


def test_free_ports_are_not_all_the_same() -> None:
    assert len({free_port() for _ in range(20)}) > 1
