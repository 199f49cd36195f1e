"""Shared-memory folders do not outlive their owner's process.

A normal exit without ``close()`` removes the owner's folder; a folder whose
owner was killed (``SIGKILL``) is removed by the next connector; a live owner's
folder, and a folder kept on purpose, are never removed.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
from collections.abc import Generator

import pytest

from proxystore.connectors.shm import SharedMemoryConnector

pytestmark = pytest.mark.skipif(
    sys.platform == 'win32', reason='owner locks use fcntl.flock'
)

_OWNER = textwrap.dedent(
    """
    import os, sys
    from proxystore.connectors.shm import SharedMemoryConnector

    connector = SharedMemoryConnector(sys.argv[2], directory=sys.argv[1])
    key = connector.put(b'from the owner ' * 100)
    print(connector.directory, key.segment, os.getpid(), flush=True)
    if sys.argv[3] == 'exit':
        sys.exit(0)  # no close()
    if sys.argv[3] == 'fork':
        child = os.fork()
        if child == 0:
            sys.exit(0)  # a forked child exits normally: the parent's folder stays
        os.waitpid(child, 0)
        print(os.path.isdir(connector.directory), flush=True)
        sys.exit(0)
    sys.stdin.readline()  # 'wait': live until told (or killed)
    """
)


_started_processes: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _reap_the_owner_processes() -> Generator[None]:
    yield
    while _started_processes:
        process = _started_processes.pop()
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)  # closes the pipes


def _owner(base: pathlib.Path, name: str, how: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, '-c', _OWNER, str(base), name, how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _started_processes.append(process)
    return process


def _started(process: subprocess.Popen[str]) -> tuple[pathlib.Path, str, int]:
    assert process.stdout is not None
    line = process.stdout.readline()  # bounded: the process prints or exits
    assert line, process.communicate(timeout=60)
    folder, segment, pid = line.split()
    return pathlib.Path(folder), segment, int(pid)


def test_a_normal_exit_without_close_leaves_nothing(tmp_path: pathlib.Path) -> None:
    process = _owner(tmp_path, 'exits', 'exit')
    folder, _, _ = _started(process)
    assert process.wait(timeout=60) == 0, process.communicate(timeout=60)
    assert not folder.exists()
    assert os.listdir(tmp_path) == []


def test_a_killed_owner_is_reaped_by_the_next_connector(
    tmp_path: pathlib.Path,
) -> None:
    process = _owner(tmp_path, 'killed', 'wait')
    folder, segment, pid = _started(process)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert (folder / segment).exists()  # nothing ran at the kill
    assert (folder / '.owner').read_text().split() == [str(pid)]
    with SharedMemoryConnector('next', directory=str(tmp_path)) as nxt:
        assert not folder.exists()
        assert os.listdir(tmp_path) == [os.path.basename(nxt.directory)]
    assert os.listdir(tmp_path) == []


def test_a_killed_owner_is_reaped_by_a_worker_copy_too(
    tmp_path: pathlib.Path,
) -> None:
    process = _owner(tmp_path, 'killed', 'wait')
    folder, _, _ = _started(process)
    process.kill()
    process.wait(timeout=60)
    copy = SharedMemoryConnector.from_config(
        {'name': 'other', 'directory': str(tmp_path)}
    )
    assert not folder.exists()
    copy.close()


def test_a_live_owners_folder_is_never_reaped(tmp_path: pathlib.Path) -> None:
    process = _owner(tmp_path, 'alive', 'wait')
    try:
        folder, segment, _ = _started(process)
        for _ in range(3):
            SharedMemoryConnector(directory=str(tmp_path)).close()
        assert (folder / segment).exists()
        # Its objects are read from another process (this one), as before.
        config = {'name': 'alive', 'directory': str(tmp_path)}
        with SharedMemoryConnector.from_config(config) as reader:
            view = reader.get(reader.Key(segment))
            assert view is not None
            assert bytes(view) == b'from the owner ' * 100
            key = reader.put(b'from a reader')
        assert (folder / key.segment).exists()  # the reader removes nothing
    finally:
        assert process.stdin is not None
        process.stdin.write('\n')
        process.stdin.flush()
        assert process.wait(timeout=60) == 0, process.communicate(timeout=60)
    assert not folder.exists()  # the owner's exit removes its readers' objects too


def test_a_reader_keeps_a_killed_owners_folder_while_it_lives(
    tmp_path: pathlib.Path,
) -> None:
    process = _owner(tmp_path, 'shared', 'wait')
    folder, segment, _ = _started(process)
    config = {'name': 'shared', 'directory': str(tmp_path)}
    reader = SharedMemoryConnector.from_config(config)
    process.kill()
    process.wait(timeout=60)
    SharedMemoryConnector(directory=str(tmp_path)).close()
    assert (folder / segment).exists()  # still in use by the reader
    reader.close()
    SharedMemoryConnector(directory=str(tmp_path)).close()
    assert not folder.exists()  # nobody holds it now


def test_a_forked_child_exiting_leaves_the_parents_folder(
    tmp_path: pathlib.Path,
) -> None:
    process = _owner(tmp_path, 'forks', 'fork')
    folder, _, _ = _started(process)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert stdout.split() == ['True']
    assert not folder.exists()  # then the parent's own exit removed it


def test_kept_folders_are_never_reaped(tmp_path: pathlib.Path) -> None:
    kept = SharedMemoryConnector('kept', directory=str(tmp_path))
    key = kept.put(b'keep me')
    kept.close(clear=False)  # kept on purpose: no lock file any more
    unowned = SharedMemoryConnector('unowned', directory=str(tmp_path), clear=False)
    other = unowned.put(b'keep me too')
    unowned.close()
    SharedMemoryConnector(directory=str(tmp_path)).close()
    assert (pathlib.Path(kept.directory) / key.segment).exists()
    assert (pathlib.Path(unowned.directory) / other.segment).exists()
    assert not (pathlib.Path(kept.directory) / '.owner').exists()


def test_two_owners_of_one_name_share_the_folder(tmp_path: pathlib.Path) -> None:
    first = SharedMemoryConnector('twice', directory=str(tmp_path))
    second = SharedMemoryConnector('twice', directory=str(tmp_path))
    key = first.put(b'x')
    assert second.get(key) == b'x'
    second.close()
    assert first.get(key) is None  # an owner's close clears, as before
    first.close()
    assert os.listdir(tmp_path) == []


def test_a_folder_of_another_user_is_not_reaped(tmp_path: pathlib.Path) -> None:
    if not hasattr(os, 'geteuid') or os.geteuid() != 0:
        pytest.skip('giving a folder to another user (chown) needs root')
    folder = tmp_path / 'proxystore-shm-theirs'
    folder.mkdir(mode=0o700)
    (folder / '.owner').write_text('1\n')
    os.chown(folder, 65534, 65534)
    SharedMemoryConnector(directory=str(tmp_path)).close()
    assert (folder / '.owner').exists()
