"""The MPI connector's messages: headers, operations, statuses and tags.

Wire format, never pickled: a request is a fixed `REQUEST` header (operation,
reply tag, payload size, object id) sent to the owner's request tag; the answer
is a fixed `REPLY` header (status, size) on the reply tag the requester chose,
then, for a found ``get``, the bytes themselves in one message on that tag
(mpi4py's buffer API: no copy on the sending side, one receive into the
requester's buffer). A ``get`` that knows the object's size (keys made by
``put`` carry it) skips the header: the requester posts its receive for the
bytes before asking, and the owner sends only the bytes, on the paired data
tag, so a get is one small message out and one message back, as a raw
``Send``/``Recv`` ping-pong. When it cannot (missing, closing, another size),
the header goes to that receive instead, one byte longer if its length would
be the size awaited, so that the length received tells which came. A ``set``
sends its bytes after its header, on its upload tag.

Leaving: a closing service sends ``GOODBYE`` (a request header) to every rank
it has exchanged messages with; each answers ``ACK`` (to the closing rank's
request tag) once it will send that rank nothing more, and crossing goodbyes
stand for each other's answers. Ranks that never spoke to it hear nothing:
a rank without a service would never receive the message, and MPI refuses to
finalize a communicator with messages left unmatched.
"""

from __future__ import annotations

import enum
import itertools
import struct
from typing import NamedTuple

from mpi4py import MPI

from proxystore.connectors.mpi.exceptions import MPIProtocolError

__all__ = [
    'PADDED_REPLY',
    'REPLY',
    'REQUEST',
    'Op',
    'Request',
    'Status',
    'Tags',
    'decode_reply',
    'decode_request',
]

REQUEST = struct.Struct('!B3xIq16s')
"""Request header: operation, reply tag, size, object id.

The size is that of the bytes that follow a ``set``, or for a ``get`` the size
the requester expects (``-1``: unknown).
"""
REPLY = struct.Struct('!B7xQ')
"""Reply header: status, size of the bytes that follow (a found ``get``)."""
PADDED_REPLY = REPLY.size + 1
"""Length of a reply header sent where bytes of ``REPLY.size`` are awaited."""


class Op(enum.IntEnum):
    """Operations of a request."""

    GET = 1
    EXISTS = 2
    EVICT = 3
    SET = 4
    GOODBYE = 5
    ACK = 6


class Status(enum.IntEnum):
    """Statuses of a reply."""

    MISSING = 0
    FOUND = 1
    DONE = 2
    GONE = 3
    FULL = 4
    """A set that does not fit the rank's capacity."""


class Request(NamedTuple):
    """A parsed request header (`REQUEST`)."""

    op: Op
    tag: int
    size: int
    object_id: bytes


def decode_request(header: bytes | bytearray | memoryview, limit: int) -> Request:
    """Parse and check a request header.

    Args:
        header: The header's bytes.
        limit: Most bytes a ``set`` may announce (the bytes are then received
            into memory of that size).

    Raises:
        MPIProtocolError: If the header is not `REQUEST.size` bytes, names no
            known operation, or announces a size out of range: a ``set`` of
            fewer than 0 or more than ``limit`` bytes, a ``get`` expecting
            fewer than ``-1``.
    """
    if len(header) != REQUEST.size:
        raise MPIProtocolError(
            f'A request header has {REQUEST.size} bytes, not {len(header)}.',
        )
    code, tag, size, object_id = REQUEST.unpack(header)
    try:
        op = Op(code)
    except ValueError:
        raise MPIProtocolError(f'A request of unknown operation {code}.') from None
    if op is Op.SET and not 0 <= size <= limit:
        raise MPIProtocolError(
            f'A set request of {size} bytes (this rank takes 0 to {limit}).',
        )
    if op is Op.GET and size < -1:
        raise MPIProtocolError(f'A get request expecting {size} bytes.')
    return Request(op, tag, size, object_id)


def decode_reply(
    header: bytes | bytearray | memoryview, limit: int
) -> tuple[Status, int]:
    """Parse and check a reply header: its status and the size that follows.

    Args:
        header: The header's bytes.
        limit: Most bytes a found ``get`` may announce (memory of that size is
            allocated to receive them).

    Raises:
        MPIProtocolError: If the header is not `REPLY.size` bytes, has an
            unknown status, or announces more than ``limit`` bytes.
    """
    if len(header) != REPLY.size:
        raise MPIProtocolError(
            f'A reply header has {REPLY.size} bytes, not {len(header)}.',
        )
    code, length = REPLY.unpack(header)
    try:
        status = Status(code)
    except ValueError:
        raise MPIProtocolError(
            f'A reply of unknown status {code}: is another library using the '
            'tags of the MPI connector?',
        ) from None
    if length > limit:
        raise MPIProtocolError(
            f'A reply announces {length} bytes, more than this rank takes ({limit}).',
        )
    return status, length


class Tags:
    """The tags of the connector's messages on a communicator.

    The request tag is the second highest tag (`mpi4py.futures` uses the highest
    one for its fallback barrier). Below it, three ranges of ``span`` tags: reply
    tags (headers, owner to requester), upload tags (the bytes of a ``set``,
    requester to owner) and data tags (the bytes of a ``get`` sent without a
    header); a requester's reply tag ``t`` pairs with upload tag ``t + span``
    and data tag ``t + 2 * span``. The ranges are disjoint because two ranks
    pick the same numbers (an upload from rank A to B must never match a reply
    that B awaits from A), and because a header must never land in a buffer
    posted for bytes.
    """

    def __init__(self, comm: MPI.Comm) -> None:
        upper = comm.Get_attr(MPI.TAG_UB)
        if not isinstance(upper, int) or upper < 32767:  # the MPI minimum
            upper = 32767
        self.request = upper - 1
        self.span = min(1 << 20, upper // 4)
        self.first_reply = self.request - 3 * self.span
        # next() of a count is atomic (one C call under the GIL): no lock.
        self._counter = itertools.count()

    def next_reply(self) -> int:
        """A reply tag, different from the last ``span`` ones of this process."""
        return self.first_reply + next(self._counter) % self.span

    def upload(self, reply: int) -> int:
        """The upload tag paired with a reply tag."""
        return reply + self.span

    def data(self, reply: int) -> int:
        """The data tag paired with a reply tag."""
        return reply + 2 * self.span
