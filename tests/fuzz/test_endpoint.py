"""Fuzz target of the endpoint's REST API: request lines, query strings, bodies.

A real endpoint app (aiohttp) serves on 127.0.0.1 in this process, once over
memory and once over SQLite storage; each input is one raw HTTP request (the
corpus format: ``METHOD PATH`` on the first line, a blank line, the body),
sent with the endpoint's token and a loopback Host. Contract: the endpoint
answers every request with a status of the API (never 500: an exception that
escaped a handler) and keeps serving; error answers are the API's JSON.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import types
import uuid

import pytest
from aiohttp import web

from proxystore.endpoint.app import create_app
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage

pytestmark = pytest.mark.fuzz

TOKEN = 'fuzz-token'
# The statuses of the API (app.py) and of aiohttp's own refusals (bad request
# line or headers, unknown route or method, an over-long line).
ALLOWED = {200, 400, 401, 403, 404, 405, 408, 413, 414, 431, 502, 504, 507}
OWNER = uuid.UUID(int=5)


def _request(data: bytes, token: bool) -> bytes:
    line, _, body = data.partition(b'\n\n')
    method, _, target = line.partition(b' ')
    headers = [b'Host: 127.0.0.1', b'Connection: close']
    if token:
        headers.append(f'Authorization: Bearer {TOKEN}'.encode())
    if method.upper() == b'POST' or body:
        headers.append(b'Content-Length: %d' % len(body))
    return b'%s %s HTTP/1.1\r\n%s\r\n\r\n%s' % (
        method or b'GET',
        target or b'/',
        b'\r\n'.join(headers),
        body,
    )


async def _exchange(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b'\r\n\r\n')
    status = int(head.split(b' ', 2)[1])
    return status, body


@pytest.mark.parametrize('storage', ['memory', 'sqlite'])
def test_endpoint_rest(
    fuzz: types.ModuleType, storage: str, tmp_path: pathlib.Path
) -> None:
    loop = asyncio.new_event_loop()
    backend = (
        DictStorage(max_object_size=1024, max_total_bytes=64 * 1024)
        if storage == 'memory'
        else SQLiteStorage(tmp_path / 'fuzz.db', max_object_size=1024)
    )
    endpoint = Endpoint('fuzz', OWNER, storage=backend)
    app = create_app(endpoint, body_timeout=2.0, token=TOKEN)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, '127.0.0.1', 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]

    def check(data: bytes) -> None:
        for token in (True, False):
            status, body = loop.run_until_complete(
                _exchange(port, _request(data, token))
            )
            assert status in ALLOWED, (status, body[:300])
            if status in (401, 403, 408, 413, 502, 504, 507):
                assert set(json.loads(body)) == {'error', 'message'}
        # Still serving, and answering right.
        status, body = loop.run_until_complete(
            _exchange(port, _request(b'GET /endpoint\n\n', True))
        )
        assert status == 200
        assert json.loads(body) == {'uuid': str(OWNER)}

    try:
        fuzz.run('endpoint_rest', check, name=f'endpoint_rest[{storage}]')
    finally:
        loop.run_until_complete(runner.cleanup())
        loop.run_until_complete(endpoint.close())
        loop.close()
