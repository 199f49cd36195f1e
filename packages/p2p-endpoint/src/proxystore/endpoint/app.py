"""The endpoint's REST API (the routes of ProxyStore 1.x endpoints), on aiohttp.

Every route takes ``key`` and ``endpoint`` query parameters (``endpoint``: the
UUID of the endpoint owning the key; default: this one):

| route | answer |
|---|---|
| ``GET /`` | 200, JSON status: ``uuid``, ``name``, ``peering`` |
| ``GET /endpoint`` | 200, ``{"uuid": ...}`` |
| ``GET /get`` | 200 with the object's bytes, or 404 |
| ``POST /set`` | 200; the request body is the object |
| ``GET /exists`` | 200, ``{"exists": bool}`` |
| ``POST /evict`` | 200 (a missing key is not an error) |

Errors are JSON ``{"error": name, "message": text}``: 400 bad input, 413 an
object over the size limit, 502 a failed peer request, 504 a peer that did
not answer in time. Bodies stream in both directions: a large object is
written out in slices and read in as it arrives.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

from aiohttp import web

from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.endpoint import parse_uuid
from proxystore.endpoint.exceptions import BadRequestError
from proxystore.endpoint.exceptions import EndpointError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeeringNotAvailableError
from proxystore.endpoint.exceptions import PeerTimeoutError
from proxystore.endpoint.storage import Blob
from proxystore.endpoint.storage import check_size

__all__ = ['ENDPOINT_KEY', 'STREAM_SLICE', 'create_app']

logger = logging.getLogger(__name__)

ENDPOINT_KEY: web.AppKey[Endpoint] = web.AppKey('endpoint', Endpoint)
STREAM_SLICE = 4 * 1024 * 1024
"""Bytes written per slice of a streamed response."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, error: Exception) -> web.Response:
    body = json.dumps({'error': type(error).__name__, 'message': str(error)})
    return web.Response(status=status, text=body, content_type='application/json')


def _status_of(error: EndpointError) -> int:
    if isinstance(error, BadRequestError | PeeringNotAvailableError):
        return 400
    if isinstance(error, ObjectSizeExceededError):
        return 413
    if isinstance(error, PeerTimeoutError):
        return 504
    return 502


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except EndpointError as error:
        logger.debug('%s %s: %s', request.method, request.path, error)
        return _error(_status_of(error), error)


def _query(request: web.Request) -> tuple[str, str | None]:
    key = request.query.get('key')
    if not key:
        raise BadRequestError('the request has no key (query parameter "key")')
    endpoint = request.query.get('endpoint') or None
    if endpoint is not None:
        parse_uuid(endpoint)
    return key, endpoint


async def _read_body(request: web.Request, limit: int | None) -> Blob:
    """The request's body, refused early when it would exceed ``limit``."""
    length = request.content_length
    if length is not None:
        check_size(length, limit)
        body = bytearray(length)
        view = memoryview(body)
        filled = 0
        while filled < length:
            chunk = await request.content.readany()
            if not chunk:
                raise BadRequestError(
                    f'the body ended after {filled} of {length} bytes'
                )
            end = filled + len(chunk)
            if end > length:
                raise BadRequestError('the body is longer than its Content-Length')
            view[filled:end] = chunk
            filled = end
        return body
    # Chunked transfer: the size is known only at the end.
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        check_size(size, limit)
        parts.append(chunk)
    return b''.join(parts)


def create_app(
    endpoint: Endpoint, status: Callable[[], dict[str, Any]] | None = None
) -> web.Application:
    """The aiohttp application serving ``endpoint``.

    Args:
        endpoint: The endpoint.
        status: Extra fields of ``GET /`` (peering state), called per request.
    """
    app = web.Application(middlewares=[_errors], client_max_size=1024**2)
    app[ENDPOINT_KEY] = endpoint

    async def home(request: web.Request) -> web.Response:
        data: dict[str, Any] = {'name': endpoint.name, 'uuid': str(endpoint.uuid)}
        if status is not None:
            data.update(status())
        return web.json_response(data)

    async def uuid(request: web.Request) -> web.Response:
        return web.json_response({'uuid': str(endpoint.uuid)})

    async def get(request: web.Request) -> web.StreamResponse:
        key, owner = _query(request)
        blob = await endpoint.get(key, owner)
        if blob is None:
            return _error(404, KeyError(f'no object under key {key!r}'))
        view = memoryview(blob).cast('B')
        if view.nbytes <= STREAM_SLICE:
            return web.Response(body=view, content_type='application/octet-stream')
        response = web.StreamResponse(
            headers={'Content-Type': 'application/octet-stream'}
        )
        response.content_length = view.nbytes
        await response.prepare(request)
        for start in range(0, view.nbytes, STREAM_SLICE):
            await response.write(view[start : start + STREAM_SLICE])
        await response.write_eof()
        return response

    async def set_(request: web.Request) -> web.Response:
        key, owner = _query(request)
        body = await _read_body(request, endpoint.storage.max_object_size)
        await endpoint.set(key, body, owner)
        return web.Response()

    async def exists(request: web.Request) -> web.Response:
        key, owner = _query(request)
        return web.json_response({'exists': await endpoint.exists(key, owner)})

    async def evict(request: web.Request) -> web.Response:
        key, owner = _query(request)
        await endpoint.evict(key, owner)
        return web.Response()

    app.router.add_get('/', home)
    app.router.add_get('/endpoint', uuid)
    app.router.add_get('/get', get)
    app.router.add_post('/set', set_)
    app.router.add_get('/exists', exists)
    app.router.add_post('/evict', evict)
    return app
