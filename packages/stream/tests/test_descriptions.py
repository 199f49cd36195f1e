"""Store descriptions from the broker: forged ones are refused, never trusted."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.multi import Policy
from proxystore.store import Store
from proxystore.stream import _stores
from proxystore.stream._stores import StoreDirectory
from proxystore.stream._stores import describe
from proxystore.stream._stores import store_id
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import UnknownStoreError


def _file(folder: pathlib.Path, **extra: Any) -> dict[str, Any]:
    return {
        'name': 'forged',
        'kind': 'file',
        'options': {'store_dir': str(folder)},
        **extra,
    }


def _announce(directory: StoreDirectory, descriptor: dict[str, Any]) -> None:
    directory.announce(store_id(descriptor), descriptor)


def test_a_description_must_match_its_id(tmp_path: pathlib.Path) -> None:
    descriptor = _file(tmp_path)
    with pytest.raises(MalformedEventError, match='does not match its id'):
        StoreDirectory(trust_broker=True).announce('0123456789abcdef', descriptor)


@pytest.mark.parametrize(
    ('descriptor', 'message'),
    [
        ({'kind': 'file', 'options': {}}, 'no valid "name"'),
        ({'name': 'x', 'options': {}}, 'needs "kind" and "options"'),
        ({'name': 'x', 'kind': 'os.system', 'options': {}}, 'cannot use here'),
        ({'name': 'x', 'kind': 'multi', 'options': {}}, 'cannot use here'),
        (
            {'name': 'x', 'kind': 'file', 'options': {}, 'cache_size': 'big'},
            'must be int',
        ),
        ({'name': 'x', 'kind': 'file', 'options': {'bogus': 1}}, 'cannot be made'),
    ],
)
def test_invalid_descriptions(descriptor: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedEventError, match=message):
        _announce(StoreDirectory(trust_broker=True), descriptor)


def test_a_description_never_clears_shared_data(tmp_path: pathlib.Path) -> None:
    (tmp_path / 'keep').write_bytes(b'data of someone else')
    directory = StoreDirectory(trust_broker=True)
    descriptor = _file(tmp_path, options={'store_dir': str(tmp_path), 'clear': True})
    _announce(directory, descriptor)
    for store in directory.stores():
        store.close()
    assert (tmp_path / 'keep').exists()


def test_the_number_of_stores_made_is_bounded(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_stores, 'MAX_STORES', 2)
    directory = StoreDirectory(trust_broker=True)
    for i in range(2):
        _announce(directory, {**_file(tmp_path / str(i)), 'name': f'forged-{i}'})
    with pytest.raises(MalformedEventError, match='More than 2 stores'):
        _announce(directory, {**_file(tmp_path / 'x'), 'name': 'forged-x'})
    for store in directory.stores():
        store.close()


def test_without_trust_only_authenticated_stores_are_made(
    tmp_path: pathlib.Path,
) -> None:
    with pytest.raises(UnknownStoreError, match='name a secret it holds'):
        _announce(StoreDirectory(), _file(tmp_path))
    unknown_secret = _file(tmp_path, secret_id='00' * 8)
    with pytest.raises(UnknownStoreError, match='name a secret it holds'):
        _announce(StoreDirectory(), unknown_secret)


def test_stores_of_this_process_are_used_as_they_are(tmp_path: pathlib.Path) -> None:
    with Store('mine', FileConnector(str(tmp_path)), register=True) as mine:
        directory = StoreDirectory()  # no trust needed: the store is ours
        descriptor = describe(mine)
        _announce(directory, descriptor)
        assert directory.get(store_id(descriptor)) is mine


def test_multi_connector_stores_cannot_stream() -> None:
    connector = MultiConnector({'local': (LocalConnector(), Policy(priority=1))})
    with (
        Store('multi', connector) as store,
        pytest.raises(TypeError, match='streams do not support'),
    ):
        describe(store)
