"""Shims whose connection belongs to the process that made it.

A Redis pub/sub connection and a ZeroMQ socket cannot be shared with a forked
child: the child would read half of the parent's messages (or tear their
framing), or its sends would queue for ever on a socket of the parent's
context. Such shims remember the process that made them and refuse to be used
from another, with a `BrokerError` that says what to do.
"""

from __future__ import annotations

import os

from proxystore.stream.exceptions import BrokerError


class ProcessBound:
    """Mixin: the object may be used only in the process that made it."""

    _owner_pid: int

    def _bind_to_this_process(self) -> None:
        self._owner_pid = os.getpid()

    def _check_process(self) -> None:
        if os.getpid() != self._owner_pid:
            raise BrokerError(
                f'this {type(self).__name__} was made in process '
                f'{self._owner_pid}; a forked child cannot use its connection: '
                'make a new one in the child.',
            )
