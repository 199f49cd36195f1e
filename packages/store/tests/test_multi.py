"""MultiConnector policies: size, tags, hosts, dormant connectors."""

from __future__ import annotations

import pathlib
import socket
from collections.abc import Generator

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import MultiConnectorError
from proxystore.connectors.multi import MultiKey
from proxystore.connectors.multi import Policy
from proxystore.store import Store


@pytest.fixture
def multi(tmp_path: pathlib.Path) -> Generator[MultiConnector]:
    connectors = {
        'small': (LocalConnector(), Policy(max_size_bytes=100, priority=2)),
        'tagged': (
            FileConnector(str(tmp_path / 't')),
            Policy(priority=1, subset_tags=['a', 'b'], superset_tags=['a']),
        ),
        'big': (FileConnector(str(tmp_path / 'b')), Policy(min_size_bytes=101)),
    }
    with MultiConnector(connectors) as connector:
        yield connector


def test_routing_by_size_and_priority(multi: MultiConnector) -> None:
    assert multi.put(b'x' * 10).connector_name == 'small'
    assert multi.put(b'x' * 1000).connector_name == 'big'


def test_routing_by_tags(multi: MultiConnector) -> None:
    key = multi.put(b'x' * 1000, subset_tags=['a'], superset_tags=['a'])
    assert key.connector_name == 'tagged'
    with pytest.raises(MultiConnectorError, match='No connector policy was suitable'):
        multi.put(b'x' * 1000, subset_tags=['zzz'], superset_tags=['zzz'])


def test_store_passes_tags(multi: MultiConnector) -> None:
    with Store('multi', multi) as store:
        key = store.put('x' * 1000, subset_tags=['a'], superset_tags=['a'])
        assert key.connector_name == 'tagged'
        assert store.get(key) == 'x' * 1000


def test_put_batch_groups_by_connector(multi: MultiConnector) -> None:
    keys = multi.put_batch([b'1', b'2' * 500, b'3'])
    assert [k.connector_name for k in keys] == ['small', 'big', 'small']
    assert [bytes(v) for v in multi.get_batch(keys)] == [b'1', b'2' * 500, b'3']  # type: ignore[arg-type]


def test_policy_checks() -> None:
    policy = Policy(min_size_bytes=10, max_size_bytes=20, subset_tags=['x'])
    assert policy.is_valid(size_bytes=15)
    assert not policy.is_valid(size_bytes=5)
    assert not policy.is_valid(size_bytes=25)
    assert policy.is_valid(subset_tags=['x'])
    assert not policy.is_valid(subset_tags=['y'])
    hostname = socket.gethostname()
    assert Policy(host_pattern=hostname).is_valid_on_host()
    assert Policy(host_pattern=['nomatch', '.*']).is_valid_on_host()
    assert not Policy(host_pattern='definitely-not-this-host').is_valid_on_host()
    assert Policy(**Policy(host_pattern=('a', 'b')).as_dict()) == Policy(
        host_pattern=['a', 'b']
    )


def test_dormant_connectors(tmp_path: pathlib.Path) -> None:
    active = FileConnector(str(tmp_path / 'a'))
    elsewhere = FileConnector(str(tmp_path / 'e'))
    multi = MultiConnector(
        {
            'here': (active, Policy(priority=0)),
            'there': (elsewhere, Policy(priority=1, host_pattern='other-host')),
        },
    )
    key = multi.put(b'x')
    assert key.connector_name == 'here'  # 'there' is not valid on this host
    config = multi.config()
    before = dict(multi.dormant_connectors)
    copy = MultiConnector.from_config(config)
    assert multi.dormant_connectors == before  # config() does not mutate
    assert 'there' in copy.dormant_connectors
    assert bytes(copy.get(key)) == b'x'  # type: ignore[arg-type]
    with pytest.raises(MultiConnectorError, match='dormant on this host'):
        copy.get(MultiKey('there', ('f',)))
    with pytest.raises(MultiConnectorError, match='Unknown connector "nowhere"'):
        copy.get(MultiKey('nowhere', ('f',)))
    multi.close()


def test_multi_connector_refuses_foreign_keys(multi: MultiConnector) -> None:
    key = LocalConnector().put(b'x')
    with pytest.raises(
        TypeError, match='MultiConnector keys are MultiKey, not LocalKey'
    ):
        multi.get(key)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match='MultiConnector keys are MultiKey'):
        multi.get_batch([key])  # type: ignore[list-item]


def test_multi_connector_needs_a_connector() -> None:
    with pytest.raises(ValueError, match='at least one connector'):
        MultiConnector({})
