"""Fuzz targets of the request and reply structs of the UCX and MPI connectors.

Only the pure parsing functions run (no server, no MPI job). Contract: a
parsed request encodes back to the same bytes (the reserved field aside); any
other input raises the protocol's typed error (`ProtocolError` for UCX, which
the server answers as a bad request; `MPIProtocolError` for MPI).
"""

from __future__ import annotations

import types

import pytest

pytestmark = pytest.mark.fuzz


def test_ucx_requests(fuzz: types.ModuleType) -> None:
    from proxystore.connectors.ucx import _protocol as wire
    from proxystore.connectors.ucx._client import Client
    from proxystore.connectors.ucx.exceptions import UCXConnectorError

    def same(encoded: bytes, data: memoryview, end: int) -> None:
        # The reserved field (bytes 2 and 3) is ignored by the reader.
        assert encoded[:2] + encoded[4:] == bytes(data[:2]) + bytes(data[4:end])

    def check(data: bytes) -> None:
        view = memoryview(data)
        try:
            code, count = wire.decode_header(view)
        except wire.ProtocolError:
            return
        try:
            if code == wire.Op.PUT:
                entries, offset = wire.decode_put(view, count)
                assert wire.HEADER.size <= offset <= len(view)
                same(wire.encode_put(entries, []), view, offset)
            elif code == wire.Op.GET:
                same(wire.encode_get(wire.decode_get(view, count)), view, len(view))
            elif code in (wire.Op.EXISTS, wire.Op.EVICT):
                ids = wire.decode_ids(view, count)
                same(wire.encode_ids(wire.Op(code), ids), view, len(view))
        except wire.ProtocolError:
            pass
        # The same bytes as a listing (what follows a list reply).
        entries = len(view) // wire.LIST_ENTRY.size
        try:
            listing = wire.decode_listing(view, entries)
        except wire.ProtocolError:
            pass
        else:
            assert wire.encode_listing(listing) == bytes(view)
        # The same bytes as a reply, read as the client reads it.
        try:
            Client._check_reply(view, 'a fuzzed reply')
        except (wire.ProtocolError, UCXConnectorError):
            return
        try:
            sizes = list(wire.iter_sizes(view, min(count, 1024)))
        except wire.ProtocolError:
            return
        assert all(size >= -1 for size in sizes)

    fuzz.run('ucx_requests', check)


def test_mpi_requests(fuzz: types.ModuleType) -> None:
    # Importing the protocol starts MPI as a singleton (no mpiexec needed).
    from proxystore.connectors.mpi import _protocol as wire
    from proxystore.connectors.mpi.exceptions import MPIProtocolError

    limit = 1 << 30

    def check(data: bytes) -> None:
        try:
            request = wire.decode_request(data, limit)
        except MPIProtocolError:
            pass
        else:
            again = wire.REQUEST.pack(*request)
            assert again[:1] + again[4:] == data[:1] + data[4:]  # padding aside
            if request.op is wire.Op.SET:  # a get's size is the requester's guess
                assert 0 <= request.size <= limit
        try:
            status, length = wire.decode_reply(data, limit)
        except MPIProtocolError:
            return
        assert 0 <= length <= limit
        assert wire.REPLY.unpack(data[: wire.REPLY.size]) == (status, length)

    fuzz.run('mpi_requests', check)
