"""The file and shm connectors refuse folders and files another user could plant.

A store folder owned by another user, or writable by group or others, lets a
local attacker plant payloads (or a FIFO that hangs a read); object files are
opened without following symlinks and without blocking, and must be regular.
"""

from __future__ import annotations

import os
import pathlib
import stat
import threading
from collections.abc import Callable
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import UnsafeDirectoryError
from proxystore.connectors.file import UnsafeObjectError
from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.connectors.shm import UnsafeDirectoryError as ShmUnsafeDirectoryError
from proxystore.connectors.shm import UnsafeObjectError as ShmUnsafeObjectError

_OTHER_UID = 65534
needs_root = pytest.mark.skipif(
    not hasattr(os, 'geteuid') or os.geteuid() != 0,
    reason='giving a folder to another user (chown) needs root',
)

Make = Callable[[pathlib.Path], Any]


def _file(folder: pathlib.Path) -> Any:
    return FileConnector(str(folder), clear=False)


def _shm(folder: pathlib.Path) -> Any:
    # The folder of a shm connector is <directory>/proxystore-shm-<name>.
    return SharedMemoryConnector(
        folder.name.removeprefix('proxystore-shm-'),
        directory=str(folder.parent),
        clear=False,
    )


@pytest.fixture(params=['file', 'shm'])
def kind(request: pytest.FixtureRequest) -> tuple[str, Make]:
    return request.param, _file if request.param == 'file' else _shm


def _folder(tmp_path: pathlib.Path, kind: tuple[str, Make]) -> pathlib.Path:
    return tmp_path / ('store' if kind[0] == 'file' else 'proxystore-shm-store')


def test_the_errors_are_one_type_exported_by_both() -> None:
    assert UnsafeDirectoryError is ShmUnsafeDirectoryError
    assert UnsafeObjectError is ShmUnsafeObjectError
    assert issubclass(UnsafeDirectoryError, ConnectorError)
    assert issubclass(UnsafeObjectError, ConnectorError)


def test_a_new_folder_is_private(
    tmp_path: pathlib.Path, kind: tuple[str, Make]
) -> None:
    folder = _folder(tmp_path, kind)
    connector = kind[1](folder)
    key = connector.put(b'data')
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert connector.get(key) == b'data'
    connector.close()


@pytest.mark.parametrize('mode', [0o770, 0o707, 0o777, 0o1777])
def test_a_folder_writable_by_others_is_refused(
    tmp_path: pathlib.Path, kind: tuple[str, Make], mode: int
) -> None:
    folder = _folder(tmp_path, kind)
    folder.mkdir()
    folder.chmod(mode)
    (folder / 'planted').write_bytes(b'evil')
    connector = kind[1](folder)
    for operation in (
        lambda: connector.put(b'x'),
        lambda: connector.get(connector.Key('planted')),
        lambda: connector.exists(connector.Key('planted')),
    ):
        with pytest.raises(UnsafeDirectoryError) as info:
            operation()
        message = str(info.value)
        assert str(folder) in message
        assert oct(mode)[2:] in message
        assert 'writable by' in message
        assert 'chmod go-w' in message
    connector.close()
    assert (folder / 'planted').read_bytes() == b'evil'


@needs_root
def test_a_folder_of_another_user_is_refused(
    tmp_path: pathlib.Path, kind: tuple[str, Make]
) -> None:
    folder = _folder(tmp_path, kind)
    folder.mkdir(mode=0o700)
    (folder / 'planted').write_bytes(b'evil')
    os.chown(folder, _OTHER_UID, _OTHER_UID)
    connector = kind[1](folder)
    with pytest.raises(UnsafeDirectoryError) as info:
        connector.get(connector.Key('planted'))
    message = str(info.value)
    assert str(folder) in message
    assert f'uid {_OTHER_UID}' in message
    assert 'not by you' in message
    with pytest.raises(UnsafeDirectoryError):
        connector.put(b'x')
    connector.close()


def test_a_path_that_is_not_a_folder_is_refused(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'store'
    path.write_bytes(b'')
    with pytest.raises(UnsafeDirectoryError, match='not a folder'):
        FileConnector(str(path), clear=False).put(b'x')


def test_a_missing_folder_reads_as_empty_and_is_not_created(
    tmp_path: pathlib.Path,
) -> None:
    connector = FileConnector(str(tmp_path / 'missing'), clear=False)
    assert connector.get(connector.Key('abc')) is None
    assert not connector.exists(connector.Key('abc'))
    assert not (tmp_path / 'missing').exists()


def _bounded(function: Callable[[], object], seconds: float = 10) -> object:
    """Run ``function`` in a thread; fail (not hang) if it does not return."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as e:  # handed to the test thread
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f'{function} hung for {seconds} s'
    return outcome[0]


def test_a_planted_fifo_is_refused_without_hanging(
    tmp_path: pathlib.Path, kind: tuple[str, Make]
) -> None:
    folder = _folder(tmp_path, kind)
    connector = kind[1](folder)
    connector.put(b'make the folder')
    os.mkfifo(folder / 'fifo')
    key = connector.Key('fifo')
    for operation in (lambda: connector.get(key), lambda: connector.exists(key)):
        error = _bounded(operation)
        assert isinstance(error, UnsafeObjectError), error
        assert str(folder / 'fifo') in str(error)
        assert 'FIFO' in str(error)
        assert 'not a regular file' in str(error)
    connector.close()


def test_a_planted_symlink_is_not_followed(
    tmp_path: pathlib.Path, kind: tuple[str, Make]
) -> None:
    folder = _folder(tmp_path, kind)
    connector = kind[1](folder)
    connector.put(b'make the folder')
    secret = tmp_path / 'secret'
    secret.write_bytes(b'private')
    (folder / 'link').symlink_to(secret)
    key = connector.Key('link')
    with pytest.raises(UnsafeObjectError, match='symbolic link') as info:
        connector.get(key)
    assert str(folder / 'link') in str(info.value)
    with pytest.raises(UnsafeObjectError, match='symbolic link'):
        connector.exists(key)
    connector.evict(key)  # removes the link, never its target
    assert not (folder / 'link').is_symlink()
    assert secret.read_bytes() == b'private'
    connector.close()


def test_a_planted_folder_is_refused(
    tmp_path: pathlib.Path, kind: tuple[str, Make]
) -> None:
    folder = _folder(tmp_path, kind)
    connector = kind[1](folder)
    connector.put(b'make the folder')
    (folder / 'sub').mkdir()
    with pytest.raises(UnsafeObjectError, match='a folder'):
        connector.get(connector.Key('sub'))
    connector.close()
