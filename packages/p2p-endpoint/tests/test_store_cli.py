"""``proxystore store ls | evict`` on an endpoint, and its ``GET /objects``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from proxystore.store.cli import app
from proxystore.testing.endpoint import EndpointProcess

runner = CliRunner()


def test_objects_route_needs_the_token(solo: EndpointProcess) -> None:
    assert solo.request('GET', '/objects', {}, authenticated=False).status == 401
    response = solo.request('GET', '/objects', {})
    assert response.status == 200
    assert isinstance(response.json()['objects'], list)


def test_ls_and_evict_an_endpoint(solo: EndpointProcess) -> None:
    connector = solo.connector()
    key = connector.put(b'x' * 1234)
    target = ['-k', 'endpoint', '-o', f'endpoints=["{solo.uuid}"]']
    target += ['-o', f'proxystore_dir={solo.home}']
    result = runner.invoke(app, ['store', 'ls', '--json', *target])
    assert result.exit_code == 0, result.output
    listed = {o['key']: o for o in json.loads(result.output)}
    assert listed[key.object_id]['size'] == 1234
    assert listed[key.object_id]['owner'] == 'solo'
    result = runner.invoke(app, ['store', 'evict', key.object_id, '-y', *target])
    assert result.exit_code == 0, result.output
    assert not connector.exists(key)
