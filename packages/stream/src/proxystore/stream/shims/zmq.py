"""ZeroMQ as the broker: the producer binds a PUB socket, consumers connect SUB.

There is no server: messages go straight from producer to consumers, each of
which gets every message of its topics sent while it is connected (ZeroMQ drops
what is sent before a subscription arrives: see
`ZeroMQPublisher.wait_for_subscribers`).
"""

from __future__ import annotations

import time
from typing import Any

import zmq

from proxystore.stream.exceptions import BrokerError
from proxystore.stream.protocols import single_reader_flag
from proxystore.stream.shims._process import ProcessBound

__all__ = ['ZeroMQPublisher', 'ZeroMQSubscriber']


class ZeroMQPublisher(ProcessBound):
    """Publishes messages on a socket that subscribers connect to.

    The socket is an XPUB, which also hears subscriptions, so that a producer
    can wait until its consumers listen.

    Args:
        address: Interface to bind (``127.0.0.1``, ``*``...).
        port: Port to bind (``0``: a free one, see `port`).
        fans_out: ``False`` only if exactly one subscriber reads the topic,
            and reads each message once: its consumer then evicts objects
            sent with ``evict=True`` after use (both ends must say so).

    Raises:
        BrokerError: If the address cannot be bound.
    """

    fans_out = True
    """Every connected subscriber of a topic gets every message."""

    def __init__(self, address: str, port: int, *, fans_out: bool = True) -> None:
        self.fans_out = single_reader_flag(fans_out)
        self._bind_to_this_process()
        self._context: Any = zmq.Context.instance()
        self._socket: Any = self._context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.LINGER, 1000)
        # Every subscription, even to a topic already subscribed, is counted.
        self._socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        try:
            if port == 0:
                self.port = self._socket.bind_to_random_port(f'tcp://{address}')
            else:
                self._socket.bind(f'tcp://{address}:{port}')
                self.port = port
        except zmq.ZMQError as e:
            self._socket.close()
            raise BrokerError(f'ZeroMQ: cannot bind {address}:{port}: {e}') from e
        self.address = address
        self._subscriptions = 0

    def wait_for_subscribers(self, count: int = 1, timeout: float = 30.0) -> None:
        """Block until ``count`` subscriptions arrived (messages before are lost).

        Raises:
            TimeoutError: If fewer arrive within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while self._subscriptions < count:
            left = deadline - time.monotonic()
            if left <= 0 or not self._socket.poll(int(left * 1000)):
                raise TimeoutError(
                    f'{self._subscriptions} of {count} subscribers within {timeout} s.',
                )
            frame = self._socket.recv()
            if frame[:1] == b'\x01':
                self._subscriptions += 1

    def send_message(self, topic: str, message: bytes) -> None:
        """Send the message with its topic as the first frame.

        Raises:
            BrokerError: If sending fails, or this publisher was made in
                another process (a forked child must make its own).
        """
        self._check_process()
        try:
            self._socket.send_multipart([topic.encode(), message], copy=False)
        except zmq.ZMQError as e:
            raise BrokerError(f'ZeroMQ: sending on "{topic}" failed: {e}') from e

    def close(self) -> None:
        """Close the socket (queued messages get up to a second to go out)."""
        self._socket.close()


class ZeroMQSubscriber(ProcessBound):
    """Receives the messages of a publisher's topics.

    Args:
        address: Address of the publisher.
        port: Port of the publisher.
        topic: Topic to receive (``''``: every topic).
        timeout: Seconds `next_message` waits (``None``: as long as it takes).
        max_message_bytes: Larger messages are dropped by ZeroMQ itself.
        fans_out: ``False`` only if exactly one subscriber reads the topic,
            and reads each message once: its consumer then evicts objects
            sent with ``evict=True`` after use (both ends must say so).
    """

    fans_out = True
    """Every connected subscriber of a topic gets every message."""

    def __init__(
        self,
        address: str,
        port: int,
        *,
        topic: str = '',
        timeout: float | None = None,
        max_message_bytes: int = 64 * 1024 * 1024,
        fans_out: bool = True,
    ) -> None:
        self.fans_out = single_reader_flag(fans_out)
        self.topic = topic
        self.timeout = timeout
        self._bind_to_this_process()
        self._context: Any = zmq.Context.instance()
        self._socket: Any = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.MAXMSGSIZE, max_message_bytes)
        self._socket.connect(f'tcp://{address}:{port}')
        self._socket.setsockopt(zmq.SUBSCRIBE, topic.encode())

    def __iter__(self) -> ZeroMQSubscriber:
        return self

    def __next__(self) -> bytes:
        return self.next_message()

    def next_message(self) -> bytes:
        """The next message.

        Raises:
            TimeoutError: If none comes within the timeout.
            BrokerError: If this subscriber was made in another process (a
                forked child must make its own).
        """
        self._check_process()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            wait = -1
            if deadline is not None:
                wait = max(0, int((deadline - time.monotonic()) * 1000))
            if not self._socket.poll(wait):
                raise TimeoutError(f'No message within {self.timeout} s from ZeroMQ.')
            frames = self._socket.recv_multipart(copy=False)
            if len(frames) != 2:
                raise BrokerError(
                    f'ZeroMQ: a message of {len(frames)} frames, expected topic '
                    'and body.',
                )
            # ZeroMQ matches subscriptions by prefix: "t" also gets "tx".
            if not self.topic or bytes(frames[0].buffer) == self.topic.encode():
                return bytes(frames[1].buffer)

    def close(self) -> None:
        """Close the socket."""
        self._socket.close()
