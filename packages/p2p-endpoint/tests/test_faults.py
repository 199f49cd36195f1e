"""Faults with real processes: a peer that dies mid-transfer, a relay that
restarts, an endpoint the relay refuses."""

from __future__ import annotations

import concurrent.futures
import pathlib
import time
import uuid

import pytest

from proxystore.connectors.endpoint import EndpointKey
from proxystore.connectors.endpoint import EndpointPeerError
from proxystore.connectors.endpoint import EndpointTimeoutError
from proxystore.testing.endpoint import EndpointProcess
from proxystore.testing.endpoint import RelayProcess
from proxystore.testing.ports import free_port

TOKEN = 'fault-test-token'
MIB = 1024 * 1024


def _wait_for(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.1)


def test_peer_dies_mid_transfer(tmp_path: pathlib.Path) -> None:
    # Standard-size packets (about 30 MB/s): the transfer lasts long enough to
    # be cut short.
    with RelayProcess({'u': TOKEN}) as relay:
        a = EndpointProcess(
            tmp_path, 'a', relay=relay.address, token=TOKEN, peer_packet_bytes=1172
        )
        b = EndpointProcess(
            tmp_path, 'b', relay=relay.address, token=TOKEN, peer_packet_bytes=1172
        )
        with a, b, b.connector() as on_b, a.connector(timeout=60) as on_a:
            key = on_b.put(bytes(48 * MIB))
            assert on_a.exists(key)  # peered
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                started = time.monotonic()
                transfer = pool.submit(on_a.get, key)
                time.sleep(0.3)
                assert not transfer.done(), 'transfer too fast to interrupt'
                b.kill()
                with pytest.raises(EndpointPeerError) as info:
                    transfer.result(timeout=30)
                elapsed = time.monotonic() - started
            message = str(info.value)
            assert message.startswith(f'get of {key.object_id} failed with status 502')
            assert f'endpoint {b.uuid}' in message
            assert elapsed < 15
            # a is unharmed, and the dead peer is now plainly unreachable.
            local = on_a.put(b'still here')
            assert bytes(on_a.get(local) or b'') == b'still here'
            with pytest.raises(EndpointPeerError, match='not connected to the relay'):
                on_a.get(key)


def test_frozen_peer_times_out(tmp_path: pathlib.Path) -> None:
    """A peer that stops (SIGSTOP) without leaving: the silence ends the request."""
    options = {'token': TOKEN, 'peer_packet_bytes': 1172, 'timeout': 2.0}
    with RelayProcess({'u': TOKEN}) as relay:
        a = EndpointProcess(tmp_path, 'a', relay=relay.address, **options)  # type: ignore[arg-type]
        b = EndpointProcess(tmp_path, 'b', relay=relay.address, **options)  # type: ignore[arg-type]
        with a, b, b.connector() as on_b, a.connector(timeout=60) as on_a:
            key = on_b.put(bytes(48 * MIB))
            assert on_a.exists(key)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                started = time.monotonic()
                transfer = pool.submit(on_a.get, key)
                time.sleep(0.3)
                b.freeze()
                with pytest.raises(EndpointTimeoutError) as info:
                    transfer.result(timeout=30)
                elapsed = time.monotonic() - started
            assert f'endpoint {b.uuid} did not answer get of' in str(info.value)
            assert 'within 2.0 s' in str(info.value)
            assert elapsed < 10


def test_endpoints_reconnect_after_a_relay_restart(tmp_path: pathlib.Path) -> None:
    port = free_port()
    relay = RelayProcess({'u': TOKEN}, port=port)
    relay.start()
    try:
        with (
            EndpointProcess(tmp_path, 'a', relay=relay.address, token=TOKEN) as a,
            EndpointProcess(tmp_path, 'b', relay=relay.address, token=TOKEN) as b,
        ):
            key = EndpointKey(str(uuid.uuid4()), str(b.uuid))
            with a.connector() as on_a:
                on_a.set(key, b'before')
                relay.kill()
                _wait_for(lambda: a.status()['peering'] == 'connecting')
                # The peers talk directly: no relay is needed once connected.
                assert bytes(on_a.get(key) or b'') == b'before'
                relay = RelayProcess({'u': TOKEN}, port=port)
                relay.start()
                _wait_for(lambda: relay.health() == 'OK 2 endpoints\n')
                assert a.status()['peering'] == 'connected'
                # A new peer connection needs the relay: both re-registered.
                with EndpointProcess(
                    tmp_path, 'c', relay=relay.address, token=TOKEN
                ) as c:
                    fresh = EndpointKey(str(uuid.uuid4()), str(c.uuid))
                    on_a.set(fresh, b'after')
                    assert bytes(on_a.get(fresh) or b'') == b'after'
    finally:
        relay.stop()


def test_endpoint_with_a_bad_token(tmp_path: pathlib.Path) -> None:
    with (
        RelayProcess({'u': TOKEN}) as relay,
        EndpointProcess(tmp_path, 'a', relay=relay.address, token='wrong') as a,
    ):
        _wait_for(lambda: a.status()['peering'] == 'refused')
        status = a.status()
        assert status['relay_error'] == (
            'the relay refused the connection (4001): missing or unknown token '
            '(Authorization: Bearer TOKEN)'
        )
        with a.connector() as on_a:
            with pytest.raises(EndpointPeerError) as info:
                on_a.get(EndpointKey('k', str(uuid.uuid4())))
            assert 'the relay refused the connection (4001)' in str(info.value)
            assert bytes(on_a.get(on_a.put(b'local works')) or b'') == b'local works'
