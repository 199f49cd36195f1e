"""The endpoint's REST API (the routes of ProxyStore 1.x endpoints), on aiohttp.

Every route takes ``key`` and ``endpoint`` query parameters (``endpoint``: the
UUID of the endpoint owning the key; default: this one):

| route | answer |
|---|---|
| ``GET /`` | 200, JSON status: ``uuid``, ``name``, ``peering`` (and peers) |
| ``GET /endpoint`` | 200, ``{"uuid": ...}`` (and ``proof``, see below) |
| ``GET /storage`` | 200, JSON: objects and bytes stored, being read, and the limits |
| ``GET /objects`` | 200, JSON ``{"objects": [[key, size], ...]}``: the objects |
| ``GET /get`` | 200 with the object's bytes, or 404 |
| ``POST /set`` | 200; the request body is the object |
| ``GET /exists`` | 200, ``{"exists": bool}`` |
| ``POST /evict`` | 200 (a missing key is not an error) |

Every request must name a loopback host, an IP address or the configured host
in its ``Host`` header (else 403: DNS rebinding), and every route but ``/``
and ``/endpoint`` needs the endpoint's token (``Authorization: Bearer TOKEN``,
from its ``config.toml``; else 401). ``GET /endpoint?challenge=HEX`` answers
``proof``, `identity_proof` of the challenge: a client checks the server knows
the token before sending it.

Errors are JSON ``{"error": name, "message": text}``: 400 bad input, 408 a
body that stopped arriving (``body_timeout``; the connection is then closed),
413 an object over the per-object size limit, 507 an object that would take
the storage over its total cap, 502 a failed peer request, 504 a peer that
did not answer in time. Bodies stream in both directions: a large object is
written out in slices and read in as it arrives (memory grows with the bytes
received, never with the announced ``Content-Length``); bytes of bodies being
read count against the total cap. A client that disconnects mid-body leaves
one warning line in the log (`ClientDisconnectedError`), no traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware

from proxystore.endpoint.auth import TOKEN_HEADER
from proxystore.endpoint.auth import host_checker
from proxystore.endpoint.auth import identity_proof
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.endpoint import parse_uuid
from proxystore.endpoint.exceptions import BadRequestError
from proxystore.endpoint.exceptions import ClientDisconnectedError
from proxystore.endpoint.exceptions import EndpointError
from proxystore.endpoint.exceptions import HostNotAllowedError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeeringNotAvailableError
from proxystore.endpoint.exceptions import PeerTimeoutError
from proxystore.endpoint.exceptions import RequestBodyTimeoutError
from proxystore.endpoint.exceptions import StorageFullError
from proxystore.endpoint.exceptions import UnauthorizedError
from proxystore.endpoint.storage import Storage
from proxystore.endpoint.storage import check_size
from proxystore.endpoint.storage import check_total

__all__ = ['ENDPOINT_KEY', 'PUBLIC_ROUTES', 'STREAM_SLICE', 'create_app']

logger = logging.getLogger(__name__)

ENDPOINT_KEY: web.AppKey[Endpoint] = web.AppKey('endpoint', Endpoint)
STREAM_SLICE = 4 * 1024 * 1024
"""Bytes written per slice of a streamed response."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, error: Exception) -> web.Response:
    body = json.dumps({'error': type(error).__name__, 'message': str(error)})
    return web.Response(status=status, text=body, content_type='application/json')


def _status_of(error: EndpointError) -> int:
    if isinstance(error, UnauthorizedError):
        return 401
    if isinstance(error, HostNotAllowedError):
        return 403
    if isinstance(error, RequestBodyTimeoutError):
        return 408
    if isinstance(error, BadRequestError | PeeringNotAvailableError):
        return 400
    if isinstance(error, StorageFullError):
        return 507
    if isinstance(error, ObjectSizeExceededError):
        return 413
    if isinstance(error, PeerTimeoutError):
        return 504
    return 502


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ClientDisconnectedError as error:
        # One line: the client is gone, there is nothing to answer or trace.
        logger.warning(
            '%s %s from %s: %s: %s',
            request.method,
            request.path,
            request.remote,
            type(error).__name__,
            error,
        )
        response = web.Response(status=400)
        response.force_close()
        return response
    except EndpointError as error:
        logger.debug('%s %s: %s', request.method, request.path, error)
        response = _error(_status_of(error), error)
        if isinstance(error, UnauthorizedError):
            response.headers['WWW-Authenticate'] = 'Bearer'
        if not request.content.is_eof():
            # The rest of the body is not read: the connection cannot carry
            # another request.
            response.force_close()
        if isinstance(error, RequestBodyTimeoutError):
            # The rest may never come: answer, then close now rather than
            # wait (aiohttp would linger up to 10 s for the body's end).
            await response.prepare(request)
            await response.write_eof()
            if request.transport is not None:
                request.transport.close()
        return response


PUBLIC_ROUTES = frozenset({'/', '/endpoint'})
"""Routes answered without the token (they tell only the name, UUID and state)."""


def _guard(token: str | None, allowed_host: Callable[[str | None], bool]) -> Middleware:
    expected = None if token is None else f'Bearer {token}'.encode()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get('Host')
        if not allowed_host(host):
            raise HostNotAllowedError(
                f'this endpoint does not answer for Host {host!r} (loopback names '
                'and the configured host only)'
            )
        if expected is not None and request.path not in PUBLIC_ROUTES:
            given = request.headers.get(TOKEN_HEADER)
            if given is None:
                raise UnauthorizedError(
                    'the request has no token (header "Authorization: Bearer '
                    'TOKEN"; the token is in the endpoint\'s config.toml)'
                )
            if not hmac.compare_digest(given.encode(), expected):
                raise UnauthorizedError("the request's token is wrong")
        return await handler(request)

    return guard


def _query(request: web.Request) -> tuple[str, str | None]:
    key = request.query.get('key')
    if not key:
        raise BadRequestError('the request has no key (query parameter "key")')
    endpoint = request.query.get('endpoint') or None
    if endpoint is not None:
        parse_uuid(endpoint)
    return key, endpoint


_PUBLIC_STATUS = frozenset({'peering', 'relay_error'})
_CHALLENGE = re.compile(r'[0-9a-f]{32,128}')


class _Budget:
    """Bytes of bodies being read, counted against the storage's total cap.

    Stalled or concurrent uploads cannot together take more than the cap:
    each byte that arrives is counted before it is kept.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.reading = 0

    def check(self, size: int) -> None:
        check_total(
            size, self.storage.nbytes + self.reading, self.storage.max_total_bytes
        )

    def take(self, size: int) -> None:
        self.check(size)
        self.reading += size

    def give(self, size: int) -> None:
        self.reading -= size


async def _read_body(
    request: web.Request, storage: Storage, budget: _Budget, timeout: float
) -> tuple[bytearray, int]:
    """The request's body, grown as it arrives, and the bytes taken of ``budget``.

    The caller gives the taken bytes back to ``budget`` once the body is stored
    or dropped (also when this raises: the count is then given back here).

    Raises:
        ObjectSizeExceededError: If the body is (or announces to be) larger
            than the storage's per-object limit.
        StorageFullError: If it does not fit in the storage's total cap.
        RequestBodyTimeoutError: If no bytes arrive for ``timeout`` seconds.
        BadRequestError: If the body is longer than its ``Content-Length``.
        ClientDisconnectedError: If the client disconnects before the body's end.
    """
    length = request.content_length
    if length is not None:
        check_size(length, storage.max_object_size)
        budget.check(length)
    # Never allocated from the announced length: a client that announces
    # 100 MB and sends 90 bytes holds 90 bytes.
    body = bytearray()
    taken = 0
    try:
        while True:
            try:
                async with asyncio.timeout(timeout):
                    chunk = await request.content.readany()
            except TimeoutError:
                expected = '' if length is None else f' of {length}'
                raise RequestBodyTimeoutError(
                    f'the request body stalled: no bytes for {timeout} s after '
                    f'{len(body)}{expected} bytes (body_timeout in the endpoint '
                    'configuration)'
                ) from None
            except (aiohttp.ClientPayloadError, ConnectionError) as error:
                expected = '' if length is None else f' of {length}'
                raise ClientDisconnectedError(
                    f'the client disconnected after {len(body)}{expected} bytes '
                    f'of the body ({type(error).__name__})'
                ) from None
            if not chunk:
                break
            size = len(body) + len(chunk)
            if length is not None and size > length:
                raise BadRequestError('the body is longer than its Content-Length')
            check_size(size, storage.max_object_size)
            budget.take(len(chunk))
            taken += len(chunk)
            body += chunk
    except BaseException:
        budget.give(taken)
        raise
    if length is not None and len(body) < length:
        budget.give(taken)
        raise ClientDisconnectedError(
            f'the client disconnected after {len(body)} of {length} bytes of the body'
        )
    return body, taken


def create_app(
    endpoint: Endpoint,
    status: Callable[[], dict[str, Any]] | None = None,
    *,
    body_timeout: float = 30.0,
    token: str | None = None,
    host: str = '127.0.0.1',
) -> web.Application:
    """The aiohttp application serving ``endpoint``.

    Args:
        endpoint: The endpoint.
        status: Extra fields of ``GET /`` (peering state), called per request.
        body_timeout: Most seconds to wait for the next bytes of a body.
        token: The token every request but those of `PUBLIC_ROUTES` carries
            (``None``: none needed).
        host: The address the server binds to (see `host_checker`).
    """
    app = web.Application(
        middlewares=[_errors, _guard(token, host_checker(host))],
        client_max_size=1024**2,
    )
    app[ENDPOINT_KEY] = endpoint
    budget = _Budget(endpoint.storage)

    def authenticated(request: web.Request) -> bool:
        if token is None:
            return True
        given = request.headers.get(TOKEN_HEADER, '').encode()
        return hmac.compare_digest(given, f'Bearer {token}'.encode())

    async def home(request: web.Request) -> web.Response:
        data: dict[str, Any] = {'name': endpoint.name, 'uuid': str(endpoint.uuid)}
        if status is not None:
            extra = status()
            if not authenticated(request):
                # Who is connected is not told to whoever asks.
                extra = {k: v for k, v in extra.items() if k in _PUBLIC_STATUS}
            data.update(extra)
        return web.json_response(data)

    async def storage(request: web.Request) -> web.Response:
        return web.json_response(
            {
                'objects': endpoint.storage.count,
                'objects_bytes': endpoint.storage.nbytes,
                'reading_bytes': budget.reading,
                'max_total_bytes': endpoint.storage.max_total_bytes,
                'max_object_size': endpoint.storage.max_object_size,
            }
        )

    async def objects(request: web.Request) -> web.Response:
        return web.json_response({'objects': await endpoint.storage.sizes()})

    async def uuid(request: web.Request) -> web.Response:
        data = {'uuid': str(endpoint.uuid)}
        challenge = request.query.get('challenge')
        if challenge is not None:
            if not _CHALLENGE.fullmatch(challenge):
                raise BadRequestError('challenge must be 32 to 128 hexadecimal digits')
            if token is not None:
                data['proof'] = identity_proof(token, data['uuid'], challenge)
        return web.json_response(data)

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
        body, taken = await _read_body(request, endpoint.storage, budget, body_timeout)
        try:
            await endpoint.set(key, body, owner)
        finally:
            budget.give(taken)
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
    app.router.add_get('/storage', storage)
    app.router.add_get('/objects', objects)
    app.router.add_get('/get', get)
    app.router.add_post('/set', set_)
    app.router.add_get('/exists', exists)
    app.router.add_post('/evict', evict)
    return app
