"""``clear`` removes the connector's own files only, never a user's other files."""

from __future__ import annotations

import os
import pathlib

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import FileKey
from proxystore.connectors.shm import SharedMemoryConnector


def _plant_user_files(folder: pathlib.Path) -> None:
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / 'notes.txt').write_text('mine')
    (folder / 'results').mkdir()
    (folder / 'results' / 'run.csv').write_text('1,2')
    (folder / '.hidden').write_text('mine too')
    (folder / 'abcdefghijk').write_text('eleven chars, not a key')


def _user_files(folder: pathlib.Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob('*')
        if p.name != '.owner'
    }


USER_FILES = {'notes.txt', 'results', 'results/run.csv', '.hidden', 'abcdefghijk'}


def test_file_clear_keeps_the_users_files(tmp_path: pathlib.Path) -> None:
    folder = tmp_path / 'data'
    _plant_user_files(folder)
    connector = FileConnector(str(folder))  # clear=True by default
    keys = [connector.put(b'x' * 10) for _ in range(3)]
    connector.set(FileKey('custom.bin'), b'a name of our choosing')
    worker = FileConnector.from_config(connector.config())
    keys.append(worker.put(b'from a copy in another process'))
    worker.close()
    # A partial object of a writer that died mid-write.
    (folder / f'.tmp-{keys[0].filename}-0123abcd').write_bytes(b'part')
    assert _user_files(folder) > USER_FILES
    connector.close()
    assert _user_files(folder) == USER_FILES
    assert (folder / 'notes.txt').read_text() == 'mine'


def test_file_clear_removes_the_folder_when_nothing_else_is_left(
    tmp_path: pathlib.Path,
) -> None:
    folder = tmp_path / 'data'
    connector = FileConnector(str(folder))
    connector.put(b'x')
    connector.close()
    assert not folder.exists()


def test_shm_clear_keeps_the_users_files(tmp_path: pathlib.Path) -> None:
    connector = SharedMemoryConnector('clear', directory=str(tmp_path))
    folder = pathlib.Path(connector.directory)
    connector.put(b'x')
    _plant_user_files(folder)
    connector.close()
    assert _user_files(folder) == USER_FILES
    assert not (folder / '.owner').exists()


def test_a_foreign_file_named_like_a_key_of_another_length_stays(
    tmp_path: pathlib.Path,
) -> None:
    folder = tmp_path / 'data'
    folder.mkdir(mode=0o700)
    for name in ('a' * 11, 'a' * 13, 'has.dot.1234', '.tmp-x'):
        (folder / name).write_text('user')
    FileConnector(str(folder)).close()
    assert sorted(os.listdir(folder)) == sorted(
        ['a' * 11, 'a' * 13, 'has.dot.1234', '.tmp-x']
    )


@pytest.mark.parametrize('clear', [False, None])
def test_close_without_clear_removes_nothing(
    tmp_path: pathlib.Path, clear: bool | None
) -> None:
    folder = tmp_path / 'data'
    connector = FileConnector(str(folder), clear=clear is None)
    key = connector.put(b'x')
    connector.close(clear=False if clear is None else None)
    assert (folder / key.filename).exists()
