"""Raw ucxx, the UCX benchmark's baseline: tagged messages with nothing on top.

Both processes make a worker with ucxx's core API (endpoint error handling
off, blocking progress mode, as the connector does), swap worker addresses
over a TCP socket, and wait for requests the way the connector waits: poll
for a moment, then sleep on the worker's event descriptor.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from typing import Any

__all__ = ['RawPeer', 'connect_raw', 'serve_raw']

REQUEST_TAG = 1
REPLY_TAG = 2
PAYLOAD_TAG = 3
OP = struct.Struct('!qq')  # op, size
OP_GET, OP_PUT, OP_STOP = 1, 2, 3
SPIN = 50e-6


class RawPeer:
    """A worker and an endpoint to the other process's worker."""

    def __init__(
        self, sock: socket.socket, transports: str | None, devices: str | None
    ) -> None:
        os.environ.setdefault('UCX_WARN_UNUSED_ENV_VARS', 'n')
        import ucxx._lib.libucxx as libucxx
        from ucxx._lib.arr import Array

        self.libucxx = libucxx
        self.array = Array
        config = {'TLS': transports} if transports else {}
        if devices:
            config['NET_DEVICES'] = devices
        self.context = libucxx.UCXContext(
            config_dict=config,
            feature_flags=(libucxx.Feature.TAG, libucxx.Feature.WAKEUP),
        )
        self.worker = libucxx.UCXWorker(self.context)
        self.worker.init_blocking_progress_mode()
        mine = self.worker.address.tobytes()
        sock.sendall(struct.pack('!I', len(mine)) + mine)
        (length,) = struct.unpack('!I', sock.recv(4, socket.MSG_WAITALL))
        theirs = sock.recv(length, socket.MSG_WAITALL)
        self.endpoint = self.worker.create_endpoint_from_worker_address(
            libucxx.UCXAddress.create_from_buffer(theirs), False
        )

    def send(self, data: Any, tag: int) -> Any:
        """Post a tagged send."""
        return self.endpoint.tag_send(self.array(data), self.libucxx.UCXXTag(tag))

    def recv(self, buffer: Any, tag: int) -> Any:
        """Post a tagged receive."""
        return self.worker.tag_recv(self.array(buffer), self.libucxx.UCXXTag(tag))

    def wait(self, *requests: Any) -> None:
        """Progress until the requests completed (poll, then sleep on events)."""
        spin_until = time.perf_counter() + SPIN
        fd = self.worker.epoll_file_descriptor
        while True:
            self.worker.progress()
            if all(request.completed for request in requests):
                break
            if time.perf_counter() < spin_until:
                os.sched_yield()
                continue
            if not self.worker.arm():
                continue
            select.select([fd], [], [], 1.0)
        for request in requests:
            request.check_error()

    def close(self) -> None:
        """Close the endpoint without waiting for the peer."""
        self.endpoint.close()


def serve_raw(sock: socket.socket, transports: str | None, devices: str | None) -> None:
    """Answer raw gets and puts until told to stop (the peer process's side)."""
    import numpy

    peer = RawPeer(sock, transports, devices)
    buffers: dict[int, Any] = {}
    header = bytearray(OP.size)
    ack = b'\1'
    while True:
        peer.wait(peer.recv(header, REQUEST_TAG))
        op, size = OP.unpack(header)
        if op == OP_STOP:
            break
        buffer = buffers.get(size)
        if buffer is None:
            buffer = buffers[size] = numpy.ones(size, dtype=numpy.uint8)
        if op == OP_GET:
            peer.wait(peer.send(buffer, REPLY_TAG))
        else:
            peer.wait(peer.recv(buffer, PAYLOAD_TAG))
            peer.wait(peer.send(ack, REPLY_TAG))
    peer.close()


def connect_raw(
    sock: socket.socket, transports: str | None, devices: str | None
) -> RawPeer:
    """The measuring process's side."""
    return RawPeer(sock, transports, devices)
