"""Store descriptions may point a consumer only under the paths it allows."""

from __future__ import annotations

import os
import pathlib
import queue
import re
import uuid
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream._stores import ALLOWED_PATHS_ENV
from proxystore.stream._stores import PathPolicy
from proxystore.stream._stores import StoreDirectory
from proxystore.stream._stores import paths_of
from proxystore.stream._stores import store_id
from proxystore.stream.exceptions import MalformedEventError
from proxystore.stream.exceptions import PathNotAllowedError
from proxystore.stream.exceptions import StreamError
from proxystore.stream.exceptions import UnknownStoreError
from proxystore.stream.shims.queue import QueuePublisher
from proxystore.stream.shims.queue import QueueSubscriber

from .conftest import SECRET


@pytest.fixture(autouse=True)
def _no_paths_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite allows pytest's temporary folder (conftest): not here.
    monkeypatch.delenv(ALLOWED_PATHS_ENV, raising=False)


def _file(folder: pathlib.Path | str, **extra: Any) -> dict[str, Any]:
    return {
        'name': f'described-{uuid.uuid4().hex[:6]}',
        'kind': 'file',
        'options': {'store_dir': str(folder)},
        **extra,
    }


def _announce(directory: StoreDirectory, descriptor: dict[str, Any]) -> None:
    directory.announce(store_id(descriptor), descriptor)


def _close_made(directory: StoreDirectory, *keep: Store[Any]) -> None:
    for store in directory.stores():
        if all(store is not k for k in keep):
            store.close()


def test_the_error_is_an_unknown_store_error() -> None:
    assert issubclass(PathNotAllowedError, UnknownStoreError)
    assert issubclass(PathNotAllowedError, StreamError)


@pytest.mark.parametrize(
    ('options', 'paths'),
    [
        ({'store_dir': '/data/objects'}, {'/data/objects'}),
        ({'name': 'n', 'directory': '/dev/shm'}, {'/dev/shm'}),
        ({'name': 'n', 'directory': None}, set()),  # the connector's default
        ({'endpoints': ['u'], 'proxystore_dir': '/home/x/.ps'}, {'/home/x/.ps'}),
        ({'unix_socket_path': '/run/redis.sock'}, {'/run/redis.sock'}),
        ({'url': 'unix:///run/redis%20x.sock'}, {'/run/redis x.sock'}),
        ({'url': 'redis://127.0.0.1:6379/0'}, set()),
        ({'hostname': '127.0.0.1', 'port': 1}, set()),
        ({'nested': [{'inner': {'store_dir': '/deep'}}]}, {'/deep'}),
    ],
)
def test_paths_of_options(options: dict[str, Any], paths: set[str]) -> None:
    assert paths_of(options) == paths


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'store_dir': 3}, 'Option "store_dir" must name a path, not 3.'),
        ({'store_dir': ''}, 'Option "store_dir" must name a path, not \'\'.'),
        (
            {'x': {'directory': b'/a'}},
            'Option "directory" must name a path, not b\'/a\'.',
        ),
    ],
)
def test_a_path_option_must_be_a_path(options: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedEventError) as info:
        paths_of(options)
    assert str(info.value) == message


def test_paths_are_compared_on_whole_components(tmp_path: pathlib.Path) -> None:
    data = tmp_path / 'data'
    data.mkdir()
    policy = PathPolicy([data])
    assert policy.allows(str(data))
    assert policy.allows(str(data / 'objects' / 'deeper'))
    assert policy.allows(str(data) + os.sep)
    assert not policy.allows(str(tmp_path / 'database'))  # a string prefix only
    assert not policy.allows(str(tmp_path / 'dat'))
    assert not policy.allows(str(tmp_path))
    assert not policy.allows(str(data / '..' / 'elsewhere'))  # resolved first
    assert not policy.allows('data/objects')  # relative: never allowed
    assert PathPolicy([os.sep]).allows(str(tmp_path / 'anything'))
    with pytest.raises(ValueError, match='An allowed path must not be empty.'):
        PathPolicy([' '])


def test_a_symbolic_link_out_of_an_allowed_folder_is_refused(
    tmp_path: pathlib.Path,
) -> None:
    allowed, outside = tmp_path / 'allowed', tmp_path / 'outside'
    allowed.mkdir()
    outside.mkdir()
    (allowed / 'link').symlink_to(outside, target_is_directory=True)
    policy = PathPolicy([allowed])
    assert not policy.allows(str(allowed / 'link'))
    assert not policy.allows(str(allowed / 'link' / 'objects'))
    # And a link to an allowed folder is as good as the folder.
    (tmp_path / 'to-allowed').symlink_to(allowed, target_is_directory=True)
    assert policy.allows(str(tmp_path / 'to-allowed' / 'objects'))


def test_a_description_in_another_folder_is_refused_before_any_store(
    tmp_path: pathlib.Path,
) -> None:
    folder = tmp_path / 'forged'
    descriptor = _file(folder)
    directory = StoreDirectory(trust_broker=True)  # the defaults only
    expected = (
        f'Store "{descriptor["name"]}" was described by the broker with path '
        f"'{folder}', which this consumer does not use (allowed: "
        f'{os.pathsep.join(directory.paths.entries)}, with what lies under '
        'them; the paths of its stores are among them). Allow it with '
        'StreamConsumer(allowed_paths=[...]) or '
        f'{ALLOWED_PATHS_ENV}=/a/folder{os.pathsep}..., or give the store to '
        'StreamConsumer(stores=[...]).'
    )
    with pytest.raises(PathNotAllowedError, match=f'^{re.escape(expected)}$'):
        _announce(directory, descriptor)
    assert get_store(descriptor['name']) is None  # no store was made
    assert not folder.exists()  # nor its folder


def test_a_relative_path_is_refused() -> None:
    descriptor = _file('objects')
    with pytest.raises(
        PathNotAllowedError,
        match=(
            r"with path 'objects', which is relative \(a description must name "
            r'absolute paths\)'
        ),
    ):
        _announce(StoreDirectory(trust_broker=True, allowed_paths=[os.sep]), descriptor)


def test_the_defaults_are_shared_memory_and_the_endpoint_home(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / 'home'
    monkeypatch.setenv('PROXYSTORE_HOME', str(home))
    policy = PathPolicy.default()
    assert policy.allows('/dev/shm') or not os.path.isdir('/dev/shm')
    assert policy.allows(str(home))
    assert not policy.allows(str(tmp_path / 'other-home'))
    # A forged endpoint home (it selects the configuration naming the endpoint).
    forged = {
        'name': f'endpoint-{uuid.uuid4().hex[:6]}',
        'kind': 'endpoint',
        'options': {'endpoints': [str(uuid.uuid4())], 'proxystore_dir': '/tmp/evil'},
    }
    with pytest.raises(PathNotAllowedError, match="with path '/tmp/evil'"):
        _announce(StoreDirectory(trust_broker=True), forged)
    assert get_store(forged['name']) is None


@pytest.mark.skipif(not os.path.isdir('/dev/shm'), reason='needs /dev/shm')
def test_a_shared_memory_description_in_dev_shm_is_made() -> None:
    descriptor = {
        'name': f'shm-{uuid.uuid4().hex[:6]}',
        'kind': 'shm',
        'options': {'name': uuid.uuid4().hex[:8], 'directory': '/dev/shm'},
    }
    directory = StoreDirectory(trust_broker=True)
    _announce(directory, descriptor)
    assert get_store(descriptor['name']) is not None
    _close_made(directory)


def test_the_environment_sets_the_allowed_paths(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / 'first', tmp_path / 'second'
    monkeypatch.setenv(ALLOWED_PATHS_ENV, f'{first}{os.pathsep} {second} ')
    directory = StoreDirectory(trust_broker=True)
    assert directory.paths.entries == (str(first), str(second))
    _announce(directory, _file(first / 'objects'))
    _announce(directory, _file(second))
    with pytest.raises(PathNotAllowedError, match=f'allowed: {re.escape(str(first))}'):
        _announce(directory, _file(tmp_path / 'third'))
    _close_made(directory)


def test_paths_of_given_stores_are_allowed(tmp_path: pathlib.Path) -> None:
    given_dir = tmp_path / 'given'
    with Store('given', FileConnector(str(given_dir))) as given:
        directory = StoreDirectory([given], trust_broker=True, allowed_paths=[])
        _announce(directory, _file(given_dir / 'sub'))  # under the given store's
        assert directory.paths.entries == (str(given_dir),)
        with pytest.raises(
            PathNotAllowedError, match=f'allowed: {re.escape(str(given_dir))},'
        ):
            _announce(directory, _file(tmp_path / 'elsewhere'))
    nothing = StoreDirectory(trust_broker=True, allowed_paths=[])
    with pytest.raises(PathNotAllowedError, match='allowed: none,'):
        _announce(nothing, _file(given_dir))
        _close_made(directory, given)


def test_a_consumer_streams_from_an_allowed_folder(tmp_path: pathlib.Path) -> None:
    # The producer's store is not registered: the consumer makes its own from
    # the description (authenticated, in a folder it allows).
    folder = tmp_path / 'objects'
    name = f'allowed-{uuid.uuid4().hex[:6]}'
    events: queue.Queue[bytes] = queue.Queue()
    with Store(name, FileConnector(str(folder)), secret=SECRET, register=False) as s:
        producer: StreamProducer[Any] = StreamProducer(
            QueuePublisher({'t': events}), stores={'t': s}
        )
        producer.send('t', {'value': 42})
        producer.close_topics('t')
        consumer: StreamConsumer[Any] = StreamConsumer(
            QueueSubscriber(events, timeout=5), allowed_paths=str(tmp_path)
        )
        assert [dict(p) for p in consumer] == [{'value': 42}]
        consumer.close()
        made = get_store(name)
        assert made is not None and made is not s
        made.close()


def test_a_consumer_refuses_another_folder(tmp_path: pathlib.Path) -> None:
    name = f'refused-{uuid.uuid4().hex[:6]}'
    events: queue.Queue[bytes] = queue.Queue()
    folder = tmp_path / 'objects'
    with Store(name, FileConnector(str(folder)), secret=SECRET, register=False) as s:
        producer: StreamProducer[Any] = StreamProducer(
            QueuePublisher({'t': events}), stores={'t': s}
        )
        producer.send('t', 'x')
        consumer: StreamConsumer[Any] = StreamConsumer(
            QueueSubscriber(events, timeout=5), allowed_paths=[tmp_path / 'other']
        )
        with pytest.raises(
            PathNotAllowedError, match=f"path '{re.escape(str(folder))}'"
        ):
            consumer.next()
        assert get_store(name) is None
        consumer.close()
