"""Two endpoints and a relay, real processes on 127.0.0.1: operations on one
endpoint's keys made through the other, over a WebRTC connection."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Generator

import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointKey
from proxystore.connectors.endpoint import EndpointObjectTooLargeError
from proxystore.connectors.endpoint import EndpointPeerError
from proxystore.store import Store
from proxystore.testing.endpoint import EndpointProcess
from proxystore.testing.endpoint import RelayProcess

TOKEN = 'peering-test-token'


@pytest.fixture(scope='module')
def relay() -> Generator[RelayProcess]:
    with RelayProcess({'alice': TOKEN}) as relay:
        yield relay


@pytest.fixture(scope='module')
def alpha(home: pathlib.Path, relay: RelayProcess) -> Generator[EndpointProcess]:
    with EndpointProcess(home, 'alpha', relay=relay.address, token=TOKEN) as endpoint:
        yield endpoint


@pytest.fixture(scope='module')
def beta(home: pathlib.Path, relay: RelayProcess) -> Generator[EndpointProcess]:
    with EndpointProcess(
        home,
        'beta',
        relay=relay.address,
        token=TOKEN,
        peer_channels=2,
        max_object_size=4 * 1024 * 1024,
    ) as endpoint:
        yield endpoint


@pytest.fixture
def via_alpha(alpha: EndpointProcess) -> Generator[EndpointConnector]:
    with alpha.connector(timeout=60) as connector:
        yield connector


def test_remote_put_get_exists_evict(
    via_alpha: EndpointConnector, alpha: EndpointProcess, beta: EndpointProcess
) -> None:
    key = EndpointKey(str(uuid.uuid4()), str(beta.uuid))
    assert not via_alpha.exists(key)
    assert via_alpha.get(key) is None
    via_alpha.set(key, b'stored on beta')
    assert via_alpha.exists(key)
    assert bytes(via_alpha.get(key) or b'') == b'stored on beta'
    with beta.connector() as local:  # it is on beta itself
        assert bytes(local.get(key) or b'') == b'stored on beta'
    via_alpha.evict(key)
    assert not via_alpha.exists(key)
    with beta.connector() as local:
        assert not local.exists(key)
    assert str(beta.uuid) in via_alpha_status(via_alpha)
    # Every candidate is loopback: large SCTP packets on both sides.
    for endpoint in (alpha, beta):
        assert 'SCTP packets now carry up to 16000 bytes' in endpoint.log()


def via_alpha_status(connector: EndpointConnector) -> list[str]:
    from proxystore.connectors.endpoint import _http

    status = _http.request(
        connector._host,
        connector._port,
        'GET',
        '/',
        {},
        timeout=10,
        headers=connector._headers,  # the peers are told with the token only
    ).json()
    assert status['peering'] == 'connected'
    # alpha opened the connection, with its 4 channels (beta would open 2).
    assert set(status['channels'].values()) == {4}
    assert status['packet_bytes'] == 16000
    peers = status['peers']
    assert isinstance(peers, list)
    return peers


def test_large_objects_are_chunked_across_channels(
    via_alpha: EndpointConnector, beta: EndpointProcess
) -> None:
    data = bytes(range(256)) * (3 * 1024 * 1024 // 256) + b'tail'
    with beta.connector() as local:
        key = local.put(data)
    assert bytes(via_alpha.get(key) or b'') == data
    other = EndpointKey(str(uuid.uuid4()), str(beta.uuid))
    via_alpha.set(other, data[::-1])
    with beta.connector() as local:
        assert bytes(local.get(other) or b'') == data[::-1]
        local.evict(key)
        local.evict(other)


def test_object_over_the_peer_limit(
    via_alpha: EndpointConnector, beta: EndpointProcess
) -> None:
    key = EndpointKey(str(uuid.uuid4()), str(beta.uuid))
    with pytest.raises(EndpointObjectTooLargeError) as info:
        via_alpha.set(key, bytes(5 * 1024 * 1024))
    assert 'exceeds the endpoint limit of 4194304 bytes per object' in str(info.value)
    assert not via_alpha.exists(key)


def test_unknown_peer_is_a_clear_error(via_alpha: EndpointConnector) -> None:
    stranger = uuid.uuid4()
    key = EndpointKey('k', str(stranger))
    with pytest.raises(EndpointPeerError) as info:
        via_alpha.get(key)
    assert f'endpoint {stranger} is not connected to the relay' in str(info.value)


def test_store_proxies_resolve_through_a_peer(
    alpha: EndpointProcess, beta: EndpointProcess
) -> None:
    import numpy

    endpoints = [alpha.uuid, beta.uuid]
    with EndpointConnector(endpoints, str(alpha.home)) as connector:
        # Both endpoints run here; the first one listed is this host's.
        assert connector.endpoint_uuid == alpha.uuid
    with beta.connector() as on_beta, alpha.connector() as on_alpha:
        array = numpy.arange(1000)
        key = Store('beta-store', on_beta, cache_size=0).put(array)
        assert key.endpoint_id == str(beta.uuid)
        copy = Store('alpha-store', on_alpha, cache_size=0).get(key)
        numpy.testing.assert_array_equal(copy, array)
        on_beta.evict(key)


def test_status_without_token_hides_the_peers(
    via_alpha: EndpointConnector, alpha: EndpointProcess, beta: EndpointProcess
) -> None:
    key = EndpointKey(str(uuid.uuid4()), str(beta.uuid))
    assert via_alpha.get(key) is None  # alpha is connected to beta now
    assert str(beta.uuid) in via_alpha_status(via_alpha)
    public = alpha.status()  # no token
    assert public == {'name': 'alpha', 'uuid': str(alpha.uuid), 'peering': 'connected'}
