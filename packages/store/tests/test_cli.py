"""``proxystore store ls | du | evict`` over the store's own connectors."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from proxystore.connectors.file import FileConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.store import Store
from proxystore.store.cli import app
from proxystore.store.cli import open_connector
from proxystore.store.exceptions import CommandLineError

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: pathlib.Path) -> pathlib.Path:
    connector = FileConnector(str(tmp_path / 'objects'))
    for size in (10, 2000, 300_000):
        connector.put(bytes(size))
    return tmp_path / 'objects'


def _file(folder: pathlib.Path) -> list[str]:
    return ['-k', 'file', '-o', f'store_dir={folder}']


def _ls(*args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ['store', 'ls', '--json', *args])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert isinstance(listed, list)
    return listed


def test_ls_lists_keys_sizes_ages_owners(folder: pathlib.Path) -> None:
    listed = _ls(*_file(folder), '--sort', 'size')
    assert [o['size'] for o in listed] == [300_000, 2000, 10]
    names = sorted(os.listdir(folder))
    assert sorted(str(o['key']) for o in listed) == names
    for obj in listed:
        assert isinstance(obj['age'], float) and obj['age'] >= 0
        assert obj['owner']  # the files' user
        assert obj['spilled'] is False
    table = runner.invoke(app, ['store', 'ls', *_file(folder), '--limit', '2'])
    assert table.exit_code == 0
    assert '3 objects, 294.9 KiB (1 more not shown)' in table.output


def test_du_totals(folder: pathlib.Path) -> None:
    result = runner.invoke(app, ['store', 'du', '--json', *_file(folder)])
    assert result.exit_code == 0, result.output
    total = json.loads(result.output)
    assert total['objects'] == 3
    assert total['bytes'] == 302_010
    assert total['spilled_objects'] == 0
    assert sum(v['objects'] for v in total['owners'].values()) == 3
    text = runner.invoke(app, ['store', 'du', *_file(folder)])
    assert 'total: 3 objects, 294.9 KiB' in text.output


def test_evict_by_size_key_age_and_all(folder: pathlib.Path) -> None:
    result = runner.invoke(
        app, ['store', 'evict', *_file(folder), '--larger-than', '1000', '-y']
    )
    assert result.exit_code == 0, result.output
    assert 'evicted 2 objects (294.9 KiB)' in result.output
    (left,) = _ls(*_file(folder))
    assert left['size'] == 10
    # Nothing is older than an hour: nothing to evict.
    result = runner.invoke(
        app, ['store', 'evict', *_file(folder), '--older-than', '3600', '-y']
    )
    assert 'nothing to evict' in result.output
    result = runner.invoke(app, ['store', 'evict', *_file(folder), str(left['key'])])
    assert result.exit_code == 1  # asked, and the answer (none) is no
    assert len(_ls(*_file(folder))) == 1
    result = runner.invoke(
        app, ['store', 'evict', *_file(folder), str(left['key'])], input='y\n'
    )
    assert result.exit_code == 0, result.output
    assert _ls(*_file(folder)) == []


def test_evict_refuses_unknown_keys_and_no_choice(folder: pathlib.Path) -> None:
    result = runner.invoke(app, ['store', 'evict', *_file(folder), 'nope', '-y'])
    assert result.exit_code == 2
    assert 'No object under nope in the channel' in result.output
    result = runner.invoke(app, ['store', 'evict', *_file(folder)])
    assert result.exit_code == 2
    assert 'Choose what to evict' in result.output
    assert len(_ls(*_file(folder))) == 3


def test_store_config_file(folder: pathlib.Path, tmp_path: pathlib.Path) -> None:
    store = Store('cli', FileConnector(str(folder)))
    config = tmp_path / 'store.toml'
    store.config().write_toml(config)
    assert len(_ls('--config', str(config))) == 3
    store.close(clear=False)


def test_shm_listing_never_clears_the_folder() -> None:
    owner = SharedMemoryConnector()
    try:
        key = owner.put(b'shared')
        listed = _ls('-k', 'shm', '-o', f'name={owner.name}')
        assert [o['key'] for o in listed] == [key.segment]
        # The command's connector closed without clearing the owner's folder.
        assert owner.get(key) == b'shared'
    finally:
        owner.close()


@pytest.mark.parametrize(
    ('args', 'message', 'code'),
    [
        ([], 'Name the channel with --config FILE or --connector KIND.', 2),
        (['-k', 'file', '-c', 'x.toml'], 'Name the channel with --config', 2),
        (['-k', 'nonexistent-kind'], 'nonexistent-kind', 2),
        (['-k', 'file', '-o', 'store_dir'], "Invalid option 'store_dir'", 2),
        (['-k', 'file', '-o', 'colour=1'], 'Invalid options for FileConnector', 2),
        (['-c', '/nonexistent/store.toml'], 'Cannot read the store config', 2),
        (['-k', 'local', '--sort', 'colour'], '--sort must be key, size or age', 2),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str, code: int) -> None:
    result = runner.invoke(app, ['store', 'ls', *args])
    assert result.exit_code == code
    assert message in result.output
    assert 'Traceback' not in result.output


def test_multi_connector_keys_name_their_connector(tmp_path: pathlib.Path) -> None:
    from proxystore.connectors.multi import MultiConnector
    from proxystore.connectors.multi import Policy

    inner = FileConnector(str(tmp_path / 'inner'))
    multi = MultiConnector({'disk': (inner, Policy(priority=1))})
    key = multi.put(b'abc')
    (listed,) = multi.list_objects()
    assert listed.key == key
    assert listed.size == 3
    config = tmp_path / 'multi.toml'
    Store('multi-cli', multi).config().write_toml(config)
    (shown,) = _ls('--config', str(config))
    assert shown['key'] == f'disk/{key.connector_key.filename}'


def test_open_connector_refuses_both_or_neither(tmp_path: pathlib.Path) -> None:
    with pytest.raises(CommandLineError, match='Name the channel with --config FILE'):
        open_connector(None, None)
    with pytest.raises(CommandLineError, match='--option goes with --connector'):
        open_connector(tmp_path / 'x.toml', None, ['a=1'])


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, '-m', 'proxystore.store.cli', 'store', 'ls', '-k', 'local'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '0 objects, 0 B' in result.stdout
