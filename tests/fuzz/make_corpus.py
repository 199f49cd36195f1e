"""Write the seed corpus of every fuzz target: ``python tests/fuzz/make_corpus.py``.

Each target's folder ``corpus/<target>/`` holds a few valid inputs and a few
near-valid ones (truncated, one field off). Rerun after a format changes; add
files by hand for inputs worth keeping (a finding's reproducer).
"""

from __future__ import annotations

import json
import pathlib
import pickle
import struct
import sys
import uuid

import msgpack

from proxystore.connectors.ucx import _protocol as ucx
from proxystore.p2p import messages as peer
from proxystore.p2p.relay import messages as relay
from proxystore.serialize import serialize
from proxystore.serialize.codec import Codec
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import StoreEvent
from proxystore.stream.events import event_to_bytes

CORPUS = pathlib.Path(__file__).parent / 'corpus'
SECRET = b'fuzz-secret-of-32-bytes-00000000'
"""The secret of the authenticated seeds (the targets use it too)."""
KEY = ('fuzz-key',)
ID = bytes(range(16))


def envelope() -> dict[str, bytes]:
    codec = Codec('fuzz', secret=SECRET)
    return {
        'bytes': serialize(b'abc'),
        'string': serialize('text'),
        'memoryview': serialize(memoryview(b'abcdefgh').cast('I')),
        'pickle': serialize({'a': [1, 2, 3]}),
        'bytearray': serialize(bytearray(100)),
        'authenticated': serialize(b'abc', secret=SECRET),
        # Two frames, the second aligned after padding (a pickle's buffer).
        'authenticated-frames': serialize(
            {'frames': pickle.PickleBuffer(bytearray(100)), 'n': 1}, secret=SECRET
        ),
        'bound': codec.encode(b'bound', key=KEY).join(),
        'truncated': serialize(b'abcdef')[:-3],
    }


def compact_config() -> dict[str, bytes]:
    file = StoreConfig(
        name='files',
        connector=ConnectorConfig(kind='file', options={'store_dir': '/tmp/x'}),
        cache_size=4,
        secret_id='abc',
    )
    local = StoreConfig(name='local', connector=ConnectorConfig(kind='local'))
    redis = StoreConfig(
        name='redis',
        connector=ConnectorConfig(
            kind='redis', options={'hostname': 'h', 'port': 6379, 'db': (1, 2)}
        ),
        metrics=True,
    )
    return {
        'file': file.compact(),
        'local': local.compact(),
        'redis': redis.compact(),
        'truncated': file.compact()[:-5],
    }


def stream_events() -> dict[str, bytes]:
    descriptor = {'name': 's', 'kind': 'file', 'options': {'store_dir': '/tmp/x'}}
    batch = EventBatch(
        't',
        [
            StoreEvent('t', 'id1', descriptor),
            NewObjectKeyEvent('t', 'id1', ('k',), True, {'m': 1}),
            NewObjectEvent('t', [1, 'two', b'3'], {}),
            EndOfStreamEvent('t'),
        ],
    )
    wrong = msgpack.packb({'v': 1, 'topic': 't', 'events': [{'type': 'key'}]})
    return {
        'batch': event_to_bytes(batch),
        'end': event_to_bytes(EventBatch('t', [EndOfStreamEvent('t')])),
        'missing-fields': wrong,
        'version-2': msgpack.packb({'v': 2, 'topic': 't', 'events': []}),
    }


def store_description() -> dict[str, bytes]:
    return {
        name: msgpack.packb(value, use_bin_type=True)
        for name, value in {
            'file': {'name': 's', 'kind': 'file', 'options': {'store_dir': '/x'}},
            'secret': {
                'name': 's',
                'kind': 'local',
                'options': {},
                'secret_id': 'abc',
                'cache_size': 2,
            },
            'custom': {'name': 's', 'custom': True},
            'unknown-kind': {'name': 's', 'kind': 'os.system', 'options': {}},
            'bad-setting': {'name': 's', 'kind': 'local', 'options': {}, 'metrics': 1},
        }.items()
    }


def peer_messages() -> dict[str, bytes]:
    def join(message: peer.PeerMessage) -> bytes:
        return b''.join(bytes(b) for b in peer.encode(message))

    get = peer.PeerMessage(peer.Kind.REQUEST, peer.Op.GET, 7, 'key')
    found = peer.PeerMessage(
        peer.Kind.RESPONSE, peer.Op.GET, 7, 'key', peer.Status.OK, b'data'
    )
    error = peer.PeerMessage(
        peer.Kind.RESPONSE, peer.Op.SET, 8, 'k\u00e9', peer.Status.ERROR, b'boom'
    )
    return {
        'get': join(get),
        'found': join(found),
        'error': join(error),
        'truncated': join(found)[:-2],
    }


def relay_messages() -> dict[str, bytes]:
    a = uuid.UUID(int=1)
    messages = [
        relay.Register(a, 'name'),
        relay.Registered(a, 'user'),
        relay.Signal(a, 'offer', 'session', 'v=0\r\n', 'name'),
        relay.ErrorMessage(a, 'session', 'no such peer'),
        relay.PeerGone(a),
    ]
    seeds = {m.type: relay.encode(m).encode() for m in messages}
    seeds['unknown-field'] = json.dumps({'type': 'peer-gone', 'peer': str(a), 'x': 1})
    seeds['unknown-field'] = seeds['unknown-field'].encode()
    return seeds


def ucx_requests() -> dict[str, bytes]:
    small = ucx.PutEntry(ID, 3, (3,))
    large = ucx.PutEntry(ID[::-1], 20000, (10000, 10000))
    return {
        'put': ucx.encode_put([small, large], [b'abc']),
        'get': ucx.encode_get([(ID, 3), (ID[::-1], -1)]),
        'exists': ucx.encode_ids(ucx.Op.EXISTS, [ID, ID]),
        'evict': ucx.encode_ids(ucx.Op.EVICT, [ID]),
        'reply': ucx.HEADER.pack(ucx.Status.OK, ucx.VERSION, 0, 2)
        + ucx.SIZE.pack(3)
        + ucx.SIZE.pack(-1)
        + b'abc',
        'refused': ucx.HEADER.pack(ucx.Status.BAD_REQUEST, ucx.VERSION, 0, 0)
        + b'too large\0\0',
        'bad-sum': ucx.encode_put([ucx.PutEntry(ID, 5, (3,))], [b'abc']),
    }


def mpi_requests() -> dict[str, bytes]:
    request = struct.Struct('!B3xIq16s')
    reply = struct.Struct('!B7xQ')
    return {
        'get': request.pack(1, 100, -1, ID),
        'set': request.pack(4, 101, 3, ID),
        'goodbye': request.pack(5, 0, 0, bytes(16)),
        'found': reply.pack(1, 3),
        'unknown-op': request.pack(9, 100, 0, ID),
    }


def endpoint_rest() -> dict[str, bytes]:
    # One request per file: the method and the path with its query, a blank
    # line, then the body.
    owner = str(uuid.UUID(int=5))
    return {
        'set': b'POST /set?key=k1\n\nbody',
        'get': b'GET /get?key=k1\n\n',
        'exists': b'GET /exists?key=k1&endpoint=' + owner.encode() + b'\n\n',
        'evict': b'POST /evict?key=k1\n\n',
        'home': b'GET /\n\n',
        'no-key': b'GET /get?endpoint=x\n\n',
        'bad-endpoint': b'POST /set?key=k&endpoint=not-a-uuid\n\nx',
    }


TARGETS = {
    'envelope': envelope,
    'compact_config': compact_config,
    'stream_events': stream_events,
    'store_description': store_description,
    'peer_messages': peer_messages,
    'relay_messages': relay_messages,
    'ucx_requests': ucx_requests,
    'mpi_requests': mpi_requests,
    'endpoint_rest': endpoint_rest,
}


def main(names: list[str]) -> None:
    """Write the corpora of the named targets (default: all)."""
    for name in names or TARGETS:
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for seed, data in TARGETS[name]().items():
            (folder / seed).write_bytes(data)


if __name__ == '__main__':
    main(sys.argv[1:])
