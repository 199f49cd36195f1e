"""Files and folders of endpoints are the user's only (0600 files, 0700 folders)."""

from __future__ import annotations

import asyncio
import os
import pathlib
import stat
import threading

from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.endpoint.storage import SQLiteStorage
from proxystore.testing.endpoint import EndpointProcess


def _mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_endpoint_files_are_private(tmp_path: pathlib.Path) -> None:
    old = os.umask(0o022)  # the common default: files 0644, folders 0755
    try:
        home = tmp_path / 'home'
        database = tmp_path / 'data' / 'deeper' / 'blobs.db'
        with EndpointProcess(home, 'files', database_path=str(database)) as endpoint:
            with endpoint.connector() as connector:
                key = connector.put(b'x' * 100_000)
                assert connector.get(key) == b'x' * 100_000
                folder = home / 'files'
                assert _mode(home) == 0o700
                assert _mode(folder) == 0o700
                assert _mode(folder / 'config.toml') == 0o600
                assert _mode(folder / 'log.txt') == 0o600
                assert _mode(database.parent) == 0o700
                assert _mode(database.parent.parent) == 0o700
                for path in (database, *database.parent.glob('blobs.db-*')):
                    assert _mode(path) == 0o600, path
                assert (database.parent / 'blobs.db-wal').exists()
    finally:
        os.umask(old)


def test_existing_database_made_private(tmp_path: pathlib.Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / 'blobs.db'
        path.write_bytes(b'')
        os.chmod(path, 0o644)
        storage = SQLiteStorage(path)
        try:
            assert _mode(path) == 0o600
        finally:
            asyncio.run(storage.close())
    finally:
        os.umask(old)


def test_config_rewritten_private(tmp_path: pathlib.Path) -> None:
    old = os.umask(0o022)
    try:
        endpoint = EndpointProcess(tmp_path, 'cfg')
        path = tmp_path / 'cfg' / 'config.toml'
        os.chmod(path, 0o644)
        write_config(endpoint.config, tmp_path)
        assert _mode(path) == 0o600
    finally:
        os.umask(old)


def test_config_readers_never_see_a_partial_file(tmp_path: pathlib.Path) -> None:
    # An endpoint writes its token into its config on first start while a
    # client polls the file for it: a truncate-then-write let the client
    # read an empty file (EndpointConfigError: missing name, uuid, port).
    endpoint = EndpointProcess(tmp_path, 'race')
    config = endpoint.config
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        for _ in range(20_000):  # bounded; stops with the writer
            if stop.is_set():
                return
            try:
                assert read_config('race', tmp_path).uuid == config.uuid
            except BaseException as error:  # reported below
                errors.append(error)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(300):
            write_config(config, tmp_path)
    finally:
        stop.set()
        reader.join(30)
    assert not errors, errors[0]
    assert sorted(p.name for p in (tmp_path / 'race').iterdir()) == ['config.toml']
