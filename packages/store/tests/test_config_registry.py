"""Configs (validation, TOML, connector lookup) and the store registry."""

from __future__ import annotations

import pathlib
import pickle
import subprocess
import sys

import pydantic
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.store import ConnectorConfig
from proxystore.store import Store
from proxystore.store import StoreConfig
from proxystore.store import get_or_create_store
from proxystore.store import get_store
from proxystore.store import register_store
from proxystore.store import store_registration
from proxystore.store import unregister_store
from proxystore.store.config import connector_kinds
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.exceptions import StoreExistsError


@pytest.mark.parametrize(
    'kind',
    [
        'file',
        'FileConnector',
        'fileconnector',
        'FILE',
        'proxystore.connectors.file.FileConnector',
    ],
)
def test_connector_kinds(kind: str, tmp_path: pathlib.Path) -> None:
    config = ConnectorConfig(kind=kind, options={'store_dir': str(tmp_path)})
    assert config.get_connector_type() is FileConnector
    connector = config.get_connector()
    assert isinstance(connector, FileConnector)


def test_installed_connectors_come_from_entry_points() -> None:
    kinds = connector_kinds()
    assert {'local', 'file', 'shm', 'multi'} <= set(kinds)
    assert kinds['shm'] == 'proxystore.connectors.shm:SharedMemoryConnector'


def test_unknown_connector_names_the_package_to_install() -> None:
    with pytest.raises(ValueError, match='Unknown connector type "nosuch"') as exc:
        ConnectorConfig(kind='nosuch').get_connector_type()
    message = str(exc.value)
    assert "pip install 'proxystore[nosuch]'" in message
    assert 'proxystore-connector-nosuch' in message
    listed = message.split('Installed connectors: ')[1].split('.')[0].split(', ')
    assert {'file', 'local', 'multi', 'shm'} <= set(listed)
    assert listed == sorted(listed)


def test_bad_import_path() -> None:
    with pytest.raises(ValueError, match='cannot import it'):
        ConnectorConfig(kind='proxystore.connectors.nowhere.Thing').get_connector_type()


@pytest.mark.parametrize(
    'data',
    [
        {'name': 'x'},
        {'name': '', 'connector': {'kind': 'local'}},
        {'name': 'x', 'connector': {'kind': 'local'}, 'cache_size': -1},
        {'name': 'x', 'connector': {'kind': 'local'}, 'unknown': 1},
        {'name': 'x', 'connector': {'kind': 'local', 'extra': 1}},
        {'name': 'x', 'connector': {'kind': 'local'}, 'serializer': 'not callable'},
    ],
    ids=[
        'no-connector',
        'empty-name',
        'negative-cache',
        'extra-field',
        'extra-connector-field',
        'bad-serializer',
    ],
)
def test_invalid_configs(data: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        StoreConfig.model_validate(data)


def test_toml_round_trip(tmp_path: pathlib.Path) -> None:
    config = StoreConfig(
        name='toml',
        connector=ConnectorConfig(kind='file', options={'store_dir': '/tmp/x'}),
        cache_size=3,
        metrics=True,
        secret=b'not written',
    )
    path = tmp_path / 'nested' / 'store.toml'
    config.write_toml(path)
    text = path.read_text()
    assert 'not written' not in text
    assert 'secret' not in text
    loaded = StoreConfig.from_toml(path)
    assert loaded.name == 'toml'
    assert loaded.cache_size == 3
    assert loaded.connector == config.connector
    assert loaded.secret is None


def test_toml_leaves_out_none_options(tmp_path: pathlib.Path) -> None:
    # TOML has no null: options set to None (nested too) are left out.
    config = StoreConfig(
        name='nones',
        connector=ConnectorConfig(
            kind='file', options={'store_dir': '/tmp/x', 'nested': {'a': None, 'b': 1}}
        ),
    )
    path = tmp_path / 'store.toml'
    config.write_toml(path)
    loaded = StoreConfig.from_toml(path)
    assert loaded.connector.options == {'store_dir': '/tmp/x', 'nested': {'b': 1}}
    listed = StoreConfig(
        name='list',
        connector=ConnectorConfig(kind='file', options={'hosts': ['a', None]}),
    )
    with pytest.raises(ValueError, match='A list with None cannot be written to TOML'):
        listed.write_toml(path)


def test_toml_errors(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / 'bad.toml'
    bad.write_text('name = ')
    with pytest.raises(ValueError, match='is not valid TOML'):
        StoreConfig.from_toml(bad)
    with pytest.raises(FileNotFoundError):
        StoreConfig.from_toml(tmp_path / 'missing.toml')
    wrong = tmp_path / 'wrong.toml'
    wrong.write_text('name = "x"\n')
    with pytest.raises(pydantic.ValidationError, match='connector'):
        StoreConfig.from_toml(wrong)
    config = StoreConfig(
        name='f',
        connector=ConnectorConfig(kind='local'),
        serializer=pickle.dumps,
    )
    with pytest.raises(ValueError, match='custom serializer or deserializer cannot be'):
        config.write_toml(tmp_path / 'x.toml')


def test_config_pickles_compactly() -> None:
    config = StoreConfig(
        name='c', connector=ConnectorConfig(kind='shm', options={'name': 'n'})
    )
    data = pickle.dumps(config)
    assert len(data) < 150
    assert pickle.loads(data) == config
    assert StoreConfig.from_compact(config.compact()) == config


def test_registry_functions() -> None:
    store = Store('reg', LocalConnector())
    assert get_store('reg') is None
    register_store(store)
    try:
        assert get_store('reg') is store
        register_store(store)  # the same store again is fine
        with pytest.raises(StoreExistsError, match='"reg" already exists'):
            register_store(Store('reg', LocalConnector()))
        register_store(Store('reg', LocalConnector()), exist_ok=True)
        assert get_store('reg') is not store
    finally:
        unregister_store('reg')
    unregister_store('reg')  # absent: no error
    assert get_store('reg') is None


def test_store_registration_is_exception_safe() -> None:
    store = Store('ctx', LocalConnector())
    with pytest.raises(RuntimeError), store_registration(store):
        assert get_store('ctx') is store
        raise RuntimeError('boom')
    assert get_store('ctx') is None


def test_store_registration_rolls_back_on_a_clash() -> None:
    first = Store('one', LocalConnector(), register=True)
    try:
        with (
            pytest.raises(StoreExistsError),
            store_registration(
                Store('two', LocalConnector()),
                Store('one', LocalConnector()),
            ),
        ):
            pass  # pragma: no cover
        assert get_store('two') is None
    finally:
        first.close()


def test_get_or_create_store() -> None:
    config = StoreConfig(name='made', connector=ConnectorConfig(kind='local'))
    store = get_or_create_store(config)
    try:
        assert get_or_create_store(config) is store
        assert get_store('made') is store
    finally:
        store.close()
    assert get_store('made') is None
    unregistered = get_or_create_store(config, register=False)
    assert get_store('made') is None
    unregistered.close()


def test_a_store_made_from_an_older_config_is_replaced(tmp_path: pathlib.Path) -> None:
    # A long-lived worker meets a new store of an old name (another folder).
    def config(folder: str) -> StoreConfig:
        connector = ConnectorConfig(kind='file', options={'store_dir': folder})
        return StoreConfig(name='reused', connector=connector)

    old = get_or_create_store(config(str(tmp_path / 'old')))
    new = get_or_create_store(config(str(tmp_path / 'new')))
    try:
        assert new is not old and old.closed
        assert get_store('reused') is new
        assert new.connector.store_dir == str(tmp_path / 'new')
    finally:
        new.close()


def test_a_registered_store_of_the_name_is_left_alone(tmp_path: pathlib.Path) -> None:
    connector = ConnectorConfig(kind='file', options={'store_dir': str(tmp_path)})
    config = StoreConfig(name='mine', connector=connector)
    with Store('mine', LocalConnector(), register=True) as mine:
        other = get_or_create_store(config)
        assert other is not mine and not mine.closed
        assert get_store('mine') is mine
        assert other.connector.store_dir == str(tmp_path)
        other.close()


def test_get_store_of_a_proxy(tmp_path: pathlib.Path) -> None:
    from proxystore.proxy import Proxy

    with Store('p', FileConnector(str(tmp_path))) as store:
        proxy = store.proxy(1)
        assert get_store(proxy) is store
    with pytest.raises(ProxyStoreFactoryError, match='must have a StoreFactory'):
        get_store(Proxy(lambda: 1))


def test_implicit_stores_close_at_exit_keeping_shared_data(
    tmp_path: pathlib.Path,
) -> None:
    # A process that re-creates a store from a config closes it at exit, but
    # must not delete the data that the owner shares.
    with Store('owner', SharedMemoryConnector(), register=True) as owner:
        key = owner.put('shared')
        config = owner.config()
        code = (
            'import pickle, sys\n'
            'from proxystore.store import get_or_create_store\n'
            f'config = pickle.loads({pickle.dumps(config)!r})\n'
            'store = get_or_create_store(config)\n'
            f'key = store.connector.Key(*{tuple(key)!r})\n'
            'print(store.get(key))\n'
        )
        done = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert done.stdout.strip() == 'shared'
        assert owner.get(key) == 'shared'  # still there after the child exited


def test_implicit_stores_are_closed_at_exit(tmp_path: pathlib.Path) -> None:
    config = StoreConfig(
        name='implicit',
        connector=ConnectorConfig(kind='file', options={'store_dir': str(tmp_path)}),
    )
    # atexit runs handlers last-in first-out: the probe, registered before the
    # store package is imported, runs after the package has closed its stores.
    code = (
        'import atexit, pickle\n'
        'state = {}\n'
        "probe = lambda: print('closed' if state['store'].closed else 'open')\n"
        'atexit.register(probe)\n'
        'from proxystore.store import get_or_create_store\n'
        f'config = pickle.loads({pickle.dumps(config)!r})\n'
        "state['store'] = get_or_create_store(config)\n"
    )
    done = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == 'closed'
    assert tmp_path.exists()  # closed with clear=False: the data stay


def test_proxies_of_a_shadowed_name_share_one_store(tmp_path: pathlib.Path) -> None:
    from proxystore.store.utils import get_factory_of_store_proxy

    with Store('shadowed', FileConnector(str(tmp_path), clear=False)) as origin:
        first, second = origin.proxy([1]), origin.proxy([2])
        data = pickle.dumps((first, second))
    # Elsewhere the application registered another store of that name.
    with Store('shadowed', LocalConnector(), register=True) as mine:
        a, b = pickle.loads(data)
        assert (a, b) == ([1], [2])
        stores = {id(get_factory_of_store_proxy(p).get_store()) for p in (a, b)}
        assert len(stores) == 1 and id(mine) not in stores
        get_factory_of_store_proxy(a).get_store().close()
