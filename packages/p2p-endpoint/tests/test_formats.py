"""Peer messages, frames, relay messages, configurations, storages and STUN:
typed errors for every bad input."""

from __future__ import annotations

import json
import pathlib
import struct
import uuid

import pytest

from proxystore.endpoint import DictStorage
from proxystore.endpoint import EndpointConfig
from proxystore.endpoint import EndpointConfigError
from proxystore.endpoint import ObjectSizeExceededError
from proxystore.endpoint import RelayConfig
from proxystore.endpoint import SQLiteStorage
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.p2p import messages
from proxystore.p2p.connection import FRAME
from proxystore.p2p.connection import split_frames
from proxystore.p2p.messages import Kind
from proxystore.p2p.messages import Op
from proxystore.p2p.messages import PeerMessage
from proxystore.p2p.messages import PeerMessageError
from proxystore.p2p.messages import Status
from proxystore.p2p.nat import NatType
from proxystore.p2p.nat import check_nat
from proxystore.p2p.relay import RelayMessageError
from proxystore.p2p.relay.messages import Register
from proxystore.p2p.relay.messages import Signal
from proxystore.p2p.relay.messages import decode as decode_relay
from proxystore.p2p.relay.messages import encode as encode_relay
from proxystore.p2p.stun import StunError
from proxystore.p2p.stun import StunServer
from proxystore.p2p.stun import parse_stun_url
from proxystore.p2p.stun import stun_binding
from proxystore.testing.ports import free_port


def _join(parts: list[bytes | bytearray | memoryview]) -> bytes:
    return b''.join(bytes(p) for p in parts)


def test_peer_message_round_trip() -> None:
    message = PeerMessage(Kind.REQUEST, Op.SET, 7, 'kéy', payload=b'\x00data')
    data = _join(messages.encode(message))
    assert data[:4] == b'PSP\x01'
    decoded = messages.decode(bytearray(data))
    assert decoded.kind == Kind.REQUEST and decoded.op == Op.SET
    assert decoded.request_id == 7 and decoded.key == 'kéy'
    assert bytes(decoded.payload) == b'\x00data'
    error = PeerMessage(Kind.RESPONSE, Op.GET, 8, 'k', Status.ERROR, b'boom')
    assert messages.decode(_join(messages.encode(error))).text() == 'boom'


def _header(**fields: int | bytes) -> bytes:
    values: dict[str, int | bytes] = {
        'magic': b'PSP', 'version': 1, 'kind': 0, 'op': 1, 'status': 0,
        'rid': 1, 'klen': 1, 'plen': 0,
    }  # fmt: skip
    values.update(fields)
    return messages.HEADER.pack(*values.values()) + b'k'


@pytest.mark.parametrize(
    ('data', 'message'),
    [
        (b'short', 'message of 5 bytes is shorter than a header'),
        (_header(magic=b'XYZ'), 'not a ProxyStore peer message (bad magic)'),
        (_header(version=9), 'peer message version 9 is not supported (this endpoint speaks 1)'),  # noqa: E501
        (_header(op=99), 'invalid peer message header: 99 is not a valid Op'),
        (_header(kind=5), 'invalid peer message header: 5 is not a valid Kind'),
        (_header(klen=50), 'peer message key is truncated or too long'),
        (_header(plen=10), 'peer message is 27 bytes but its header says 37'),
        (_header()[:-1] + b'\xff', 'peer message key is not UTF-8'),
    ],
)  # fmt: skip
def test_bad_peer_messages(data: bytes, message: str) -> None:
    with pytest.raises(PeerMessageError) as info:
        messages.decode(data)
    assert str(info.value) == message


def test_peer_message_key_too_long() -> None:
    with pytest.raises(PeerMessageError, match='key of 5000 bytes exceeds 4096'):
        messages.encode(PeerMessage(Kind.REQUEST, Op.GET, 1, 'k' * 5000))


def test_frames_cover_the_message_exactly() -> None:
    parts = [b'head', memoryview(bytes(range(256)) * 1000), b'', b'tail']
    whole = _join(parts)  # type: ignore[arg-type]
    frames = list(split_frames(3, parts, frame_bytes=1000))
    rebuilt = bytearray(len(whole))
    for frame in frames:
        assert len(frame) <= 1000
        version, message_id, total, offset = FRAME.unpack_from(frame)
        assert (version, message_id, total) == (1, 3, len(whole))
        rebuilt[offset : offset + len(frame) - FRAME.size] = frame[FRAME.size :]
    assert rebuilt == whole
    assert len(list(split_frames(1, [b'']))) == 1  # an empty message is one frame


def test_relay_messages() -> None:
    endpoint = uuid.uuid4()
    text = encode_relay(Register(endpoint, 'a'))
    assert decode_relay(text) == Register(endpoint, 'a')
    signal = Signal(endpoint, 'answer', 's', 'v=0')
    assert decode_relay(encode_relay(signal)) == signal
    with pytest.raises(RelayMessageError, match='relay messages are text frames'):
        decode_relay(b'{}')
    with pytest.raises(RelayMessageError, match="field 'kind' must be 'offer' or"):
        decode_relay(
            json.dumps(
                {
                    'type': 'signal',
                    'peer': str(endpoint),
                    'kind': 'x',
                    'session': 's',
                    'sdp': 'v',
                }
            )
        )
    with pytest.raises(RelayMessageError, match="field 'name' must be a string"):
        decode_relay(json.dumps({'type': 'register', 'uuid': str(endpoint), 'name': 3}))
    with pytest.raises(RelayMessageError, match="unknown fields \\['extra'\\]"):
        decode_relay(
            json.dumps(
                {'type': 'register', 'uuid': str(endpoint), 'name': 'a', 'extra': 1}
            )
        )
    with pytest.raises(RelayMessageError, match="field 'name' is longer than 256"):
        decode_relay(encode_relay(Register(endpoint, 'n' * 300)))


@pytest.mark.parametrize(
    'text',
    ['[' * 100_000, '{"type": "register", "name": ' + '[' * 5000 + ']' * 5000 + '}'],
)
def test_relay_message_nested_too_deeply(text: str) -> None:
    # Fuzz finding: json's RecursionError escaped decode (the relay server and
    # its clients decode every frame they receive with it).
    with pytest.raises(RelayMessageError, match='nested too deeply'):
        decode_relay(text)


def test_config_round_trip_and_errors(tmp_path: pathlib.Path) -> None:
    config = EndpointConfig(
        name='ep-1',
        uuid=uuid.uuid4(),
        port=9000,
        relay=RelayConfig(address='ws://127.0.0.1:1', token='t'),
    )
    path = write_config(config, tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600  # it holds the token
    assert read_config('ep-1', tmp_path) == config
    assert get_configs(tmp_path) == [config]
    assert config.address == 'http://127.0.0.1:9000'
    with pytest.raises(EndpointConfigError, match="endpoint name 'a b' is invalid"):
        EndpointConfig(name='a b', uuid=uuid.uuid4(), port=1)
    with pytest.raises(EndpointConfigError, match='port must be between 1 and 65535'):
        EndpointConfig(name='a', uuid=uuid.uuid4(), port=0)
    with pytest.raises(EndpointConfigError, match="uuid 'x' is not a UUID"):
        EndpointConfig(name='a', uuid='x', port=1)  # type: ignore[arg-type]
    with pytest.raises(EndpointConfigError, match='must start with ws:// or wss://'):
        RelayConfig(address='http://relay')
    with pytest.raises(EndpointConfigError, match='peer_channels must be between'):
        RelayConfig(peer_channels=0)
    with pytest.raises(EndpointConfigError, match='entries are stun: URLs'):
        RelayConfig(ice_servers=['http://x'])
    with pytest.raises(EndpointConfigError, match="no endpoint named 'nope'"):
        read_config('nope', tmp_path)
    (tmp_path / 'broken').mkdir()
    (tmp_path / 'broken' / 'config.toml').write_text('name = "broken"\nport = [')
    with pytest.raises(EndpointConfigError, match='cannot read'):
        read_config('broken', tmp_path)
    (tmp_path / 'broken' / 'config.toml').write_text('name = "broken"\ncolour = 1')
    with pytest.raises(EndpointConfigError, match='invalid endpoint configuration'):
        read_config('broken', tmp_path)
    assert get_configs(tmp_path) == [config]  # the broken one is skipped


@pytest.mark.parametrize('kind', ['memory', 'sqlite'])
async def test_storages(kind: str, tmp_path: pathlib.Path) -> None:
    storage = (
        DictStorage(max_object_size=10)
        if kind == 'memory'
        else SQLiteStorage(tmp_path / 'db' / 'blobs.db', max_object_size=10)
    )
    assert (storage.count, storage.nbytes) == (0, 0)
    await storage.set('k', b'value')
    await storage.set('k', b'value!')  # replaced: still one object
    assert (storage.count, storage.nbytes) == (1, 6)
    assert bytes(await storage.get('k') or b'') == b'value!'
    assert await storage.exists('k')
    with pytest.raises(ObjectSizeExceededError) as info:
        await storage.set('big', bytes(11))
    assert str(info.value).startswith(
        'object of 11 bytes exceeds the endpoint limit of 10 bytes per object'
    )
    await storage.evict('k')
    await storage.evict('k')
    assert (storage.count, storage.nbytes) == (0, 0)
    assert not await storage.exists('k')
    assert await storage.get('k') is None
    await storage.close()
    await storage.close()


async def test_sqlite_objects_persist(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'blobs.db'
    first = SQLiteStorage(path)
    await first.set('k', memoryview(b'kept'))
    await first.close()
    second = SQLiteStorage(path)
    assert (second.count, second.nbytes) == (1, 4)  # counted from the file
    assert await second.get('k') == b'kept'
    await second.close()


def test_stun_urls() -> None:
    assert parse_stun_url('stun:example.org') == ('example.org', 3478)
    assert parse_stun_url('stun:127.0.0.1:19302') == ('127.0.0.1', 19302)
    assert parse_stun_url('stun:[::1]:5') == ('::1', 5)
    for bad in ('http://x', 'stun::5', 'stun:x:port', 'stun:x:0'):
        with pytest.raises(StunError):
            parse_stun_url(bad)


async def test_stun_server_and_nat_check() -> None:
    async with (
        StunServer('127.0.0.1', 0) as first,
        StunServer('127.0.0.1', 0) as second,
    ):
        local, mapped = await stun_binding(
            ('127.0.0.1', first.port), local=('127.0.0.1', 0)
        )
        assert mapped == local  # no NAT on loopback
        report = await check_nat(
            [f'stun:127.0.0.1:{first.port}', f'stun:127.0.0.1:{second.port}']
        )
        assert report.nat_type is NatType.OPEN
        assert report.public_address == '127.0.0.1'
        assert 'no NAT' in report.summary()
        assert first.answered >= 2 and second.answered == 1


async def test_stun_server_that_does_not_answer() -> None:
    port = free_port()  # nothing listens on this UDP port
    with pytest.raises(StunError) as info:
        await stun_binding(
            ('127.0.0.1', port), local=('127.0.0.1', 0), attempts=2, timeout=0.2
        )
    assert str(info.value) == (
        f'the STUN server 127.0.0.1:{port} did not answer (2 requests, 0.2 s each)'
    )
    with pytest.raises(StunError, match='needs at least one STUN server'):
        await check_nat([])


def test_frame_header_size() -> None:
    assert FRAME.size == struct.calcsize('!BxxxQQQ') == 28


def test_packet_sizes() -> None:
    import aiortc.rtcsctptransport as sctp

    from proxystore.p2p.packets import STANDARD_PACKET_BYTES
    from proxystore.p2p.packets import PacketSizes
    from proxystore.p2p.packets import all_loopback

    assert all_loopback(['127.0.0.1', '::1', '127.3.2.1'])
    assert not all_loopback(['127.0.0.1', '10.0.0.1'])
    assert not all_loopback(['host.local'])
    assert not all_loopback([])
    sizes = PacketSizes()
    one, two = object(), object()
    try:
        sizes.allow(one, 16_000)
        assert sctp.USERDATA_MAX_LENGTH == sizes.current == 16_000
        sizes.allow(two, 1_000)  # the smallest allowance wins
        assert sizes.current == 1_000
        sizes.release(two)
        assert sizes.current == 16_000
        sizes.allow(two, 99_999)  # capped at one DTLS record
        assert sizes.current == 16_000
    finally:
        sizes.release(one)
        sizes.release(two)
    assert sctp.USERDATA_MAX_LENGTH == STANDARD_PACKET_BYTES


def test_packet_size_config() -> None:
    assert RelayConfig(peer_packet_bytes=8972).peer_packet_bytes == 8972
    with pytest.raises(EndpointConfigError, match='between 256 and 16000, not 100'):
        RelayConfig(peer_packet_bytes=100)
