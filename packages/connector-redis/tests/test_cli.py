"""``proxystore store ls | du | evict`` on a Redis namespace."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from proxystore.connectors.redis import RedisConnector
from proxystore.store.cli import app
from proxystore.testing.ports import free_port
from proxystore.testing.redis import RedisServer

runner = CliRunner()


def test_ls_du_evict_a_namespace(redis_server: RedisServer) -> None:
    ours = RedisConnector('127.0.0.1', redis_server.port, prefix='cli:')
    other = RedisConnector('127.0.0.1', redis_server.port, prefix='other:')
    keys = [ours.put(bytes(n)) for n in (5, 50_000)]
    kept = other.put(b'not ours')
    target = ['-k', 'redis', '-o', 'hostname=127.0.0.1']
    target += ['-o', f'port={redis_server.port}', '-o', 'prefix=cli:']
    try:
        result = runner.invoke(
            app, ['store', 'ls', '--json', '--sort', 'size', *target]
        )
        assert result.exit_code == 0, result.output
        listed = json.loads(result.output)
        assert [(o['key'], o['size']) for o in listed] == [
            (keys[1].redis_key, 50_000),
            (keys[0].redis_key, 5),
        ]
        assert all(o['age'] is None for o in listed)  # Redis keeps no write time
        result = runner.invoke(app, ['store', 'du', '--json', *target])
        assert json.loads(result.output)['bytes'] == 50_005
        result = runner.invoke(app, ['store', 'evict', '--all', '-y', *target])
        assert 'evicted 2 objects' in result.output
        assert not any(ours.exists(k) for k in keys)
        assert other.exists(kept)  # another prefix is never touched
    finally:
        other.evict(kept)
        ours.close()
        other.close()


def test_unreachable_server_is_a_typed_error() -> None:
    target = ['-k', 'redis', '-o', 'hostname=127.0.0.1', '-o', f'port={free_port()}']
    target += ['-o', 'socket_connect_timeout=1', '-o', 'retries=0']
    result = runner.invoke(app, ['store', 'ls', *target])
    assert result.exit_code == 1
    assert 'error: RedisUnavailableError: Redis at 127.0.0.1' in result.output
    assert 'Traceback' not in result.output
