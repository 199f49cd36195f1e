"""A write to a full folder raises a typed error naming the folder and the size."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap
from collections.abc import Generator

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import StorageFullError
from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.connectors.shm import StorageFullError as ShmStorageFullError


@pytest.fixture
def small_tmpfs(tmp_path: pathlib.Path) -> Generator[pathlib.Path]:
    """A 64 KiB tmpfs (needs mount privileges, else the test is skipped)."""
    mount = tmp_path / 'small'
    mount.mkdir(mode=0o700)
    done = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', str(mount)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f'cannot mount a small tmpfs here: {done.stderr.strip()}')
    try:
        yield mount
    finally:
        subprocess.run(['umount', str(mount)], timeout=30, check=False)


def test_the_error_is_a_connector_error_exported_by_both() -> None:
    assert StorageFullError is ShmStorageFullError
    assert issubclass(StorageFullError, ConnectorError)


@pytest.mark.parametrize('kind', ['file', 'shm'])
def test_a_full_folder_raises_storage_full(
    small_tmpfs: pathlib.Path, kind: str
) -> None:
    connector = (
        FileConnector(str(small_tmpfs / 'store'))
        if kind == 'file'
        else SharedMemoryConnector('full', directory=str(small_tmpfs))
    )
    kept = connector.put(b'k' * 1000)
    size = 1024 * 1024
    with pytest.raises(StorageFullError) as info:
        connector.put_frames([b'a' * (size // 2), b'b' * (size // 2)])
    message = str(info.value)
    assert connector.directory in message
    assert f'{size} bytes' in message
    assert 'No space left' in message
    assert isinstance(info.value.__cause__, OSError)
    # Nothing partial is left, and what was there before is intact.
    assert sorted(n for n in os.listdir(connector.directory) if n != '.owner') == [
        kept[0]
    ]
    assert bytes(connector.get(kept)) == b'k' * 1000
    with pytest.raises(StorageFullError):
        connector.set(connector.new_key(), b'c' * size)
    connector.close()


_OVER_THE_LIMIT = textwrap.dedent(
    """
    import os, resource, signal, sys
    from proxystore.connectors.file import FileConnector, StorageFullError

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
    connector = FileConnector(sys.argv[1], clear=False)
    small = connector.put(b's' * 100)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        connector.put(b'x' * 10000)
    except StorageFullError as e:
        print(type(e).__name__, '|', e, '|', type(e.__cause__).__name__)
    print(sorted(os.listdir(sys.argv[1])) == [small.filename])
    """
)


def test_a_file_over_the_size_limit_raises_storage_full(
    tmp_path: pathlib.Path,
) -> None:
    # RLIMIT_FSIZE makes write() fail with EFBIG: the same error as a full disk.
    folder = tmp_path / 'store'
    done = subprocess.run(
        [sys.executable, '-c', _OVER_THE_LIMIT, str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    name, message, cause = done.stdout.splitlines()[0].split(' | ')
    assert name == 'StorageFullError'
    assert cause == 'OSError'
    assert str(folder) in message
    assert '10000 bytes' in message
    assert 'file-size limit' in message
    assert done.stdout.splitlines()[1] == 'True'
