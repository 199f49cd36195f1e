"""Ports for the test servers of every package."""

from __future__ import annotations

import socket

__all__ = ['free_port']


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])
