"""Soak and chaos: 4 processes x 8 threads per channel while faults strike.

Run by the ``soak`` nox session (marker ``soak``); ``SOAK_SECONDS`` (default
120) is the length of each channel's run. Each run writes its figures to
``soak-results/<channel>.json`` and prints them. The one unmarked test is a
few-second run on the file channel, so the harness is checked by the default
suite too.

Faults: the Redis server (append-only, ``appendfsync always``), the UCX data
server and the endpoint (SQLite storage) are killed with ``SIGKILL`` and
restarted; the file and shared-memory channels have no server, so worker
processes are killed mid-operation instead and replaced.

What must hold: no mismatched bytes, no untyped error, nothing left after the
owner's cleanup; on channels that keep their objects across a fault (Redis
append-only, the endpoint's SQLite file, files, shared memory) no acknowledged
object is lost; on the UCX server (memory only) every object it held when it
was killed is reported lost, never returned wrong.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.store import Store
from proxystore.testing.soak import Fault
from proxystore.testing.soak import ServerFault
from proxystore.testing.soak import SoakReport
from proxystore.testing.soak import WorkerFault
from proxystore.testing.soak import count_files
from proxystore.testing.soak import run_soak

SECONDS = float(os.environ.get('SOAK_SECONDS', '120'))
SECRET = 'soak-test-secret-0123456789abcdef'
RESULTS = pathlib.Path(__file__).parents[2] / 'soak-results'


def _lock_file(name: str) -> bool:
    return name.startswith('.')


@dataclasses.dataclass
class _Target:
    residue: Callable[[], int]
    cleanup: Callable[[], int]


def _report(report: SoakReport, capsys: pytest.CaptureFixture[str]) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f'{report.channel}.json'
    path.write_text(json.dumps(dataclasses.asdict(report), indent=2))
    with capsys.disabled():
        print(f'\n{report.summary()}')


def _check(report: SoakReport, *, keeps_objects: bool, clears: bool = True) -> None:
    assert report.untyped_errors == []
    assert report.mismatched == 0
    # Orphans: puts a fault cut off after the channel stored the object (the
    # caller got a typed error), at most one per writing thread and fault.
    writers = report.processes * report.threads
    assert report.orphans <= report.faults_injected * writers
    if clears:  # the owner's cleanup removes them
        assert report.leaked == 0
    assert report.acknowledged > 0
    assert report.verified > 0 or not keeps_objects
    if keeps_objects:
        assert report.lost == 0, report.lost_errors
    done = report.verified + report.lost + report.evicted + report.evicted_unconfirmed
    assert done == report.acknowledged


def _run(
    channel: str,
    store: Store[Any],
    target: _Target,
    tmp_path: pathlib.Path,
    fault: Fault | None,
    seconds: float = SECONDS,
    processes: int = 4,
    threads: int = 8,
) -> SoakReport:
    return run_soak(
        channel,
        store,
        target,
        tmp_path / 'run',
        seconds=seconds,
        processes=processes,
        threads=threads,
        fault=fault,
        secret=SECRET,
        # Restarting a server takes seconds on a loaded machine (an endpoint
        # imports much): faults come seconds apart, so work goes on between.
        interval=(max(seconds / 12, 2.0), max(seconds / 5, 4.0)),
    )


def _directory_target(
    connector: FileConnector | SharedMemoryConnector,
) -> _Target:
    folder = pathlib.Path(connector.directory)

    def cleanup() -> int:
        connector.close(clear=True)
        left = count_files(folder, lambda _: False)
        return left + int(folder.exists())

    return _Target(lambda: count_files(folder, _lock_file), cleanup)


def test_soak_file_smoke(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A short run with worker kills: the harness's own check (default suite)."""
    connector = FileConnector(str(tmp_path / 'objects'))
    store = Store('soak-smoke', connector, cache_size=0, secret=SECRET)
    report = _run(
        'file-smoke',
        store,
        _directory_target(connector),
        tmp_path,
        WorkerFault(),
        seconds=6,
        processes=2,
        threads=2,
    )
    _report(report, capsys)
    _check(report, keeps_objects=True)
    assert report.ops.get('put', 0) > 0
    assert report.faults_injected >= 1


@pytest.mark.soak
@pytest.mark.timeout(SECONDS + 600)
def test_soak_file(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files: workers killed mid-operation."""
    connector = FileConnector(str(tmp_path / 'objects'))
    store = Store('soak-file', connector, cache_size=0, secret=SECRET)
    report = _run('file', store, _directory_target(connector), tmp_path, WorkerFault())
    _report(report, capsys)
    _check(report, keeps_objects=True)


@pytest.mark.soak
@pytest.mark.timeout(SECONDS + 600)
def test_soak_shm(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Shared memory: workers killed mid-operation; /dev/shm empty afterwards."""
    connector = SharedMemoryConnector()
    store = Store('soak-shm', connector, cache_size=0, secret=SECRET)
    report = _run('shm', store, _directory_target(connector), tmp_path, WorkerFault())
    _report(report, capsys)
    _check(report, keeps_objects=True)
    assert not os.path.exists(connector.directory)


@pytest.mark.soak
@pytest.mark.timeout(SECONDS + 600)
def test_soak_shm_spilling(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shared memory over a 32 MiB budget spilling to disk: workers killed."""
    spill = tmp_path / 'spill'
    connector = SharedMemoryConnector(
        capacity=32 * 1024 * 1024, spill_directory=str(spill)
    )
    store = Store('soak-shm-spill', connector, cache_size=0, secret=SECRET)
    target = _directory_target(connector)
    residue = target.residue

    def both() -> int:
        return residue() + count_files(spill, _lock_file)

    def cleanup() -> int:
        left = target.cleanup()
        return left + count_files(spill, lambda _: False)

    report = _run('shm-spill', store, _Target(both, cleanup), tmp_path, WorkerFault())
    _report(report, capsys)
    _check(report, keeps_objects=True)
    stats = connector.budget_stats()
    assert stats is None or stats.used <= 32 * 1024 * 1024


@pytest.mark.soak
@pytest.mark.timeout(SECONDS + 600)
def test_soak_redis(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Redis (append-only): the server killed and restarted."""
    from proxystore.connectors.redis import RedisConnector
    from proxystore.testing.redis import RedisServer

    with RedisServer(tmp_path / 'redis', appendonly=True) as server:
        connector = RedisConnector('127.0.0.1', server.port, prefix='soak:', clear=True)
        store = Store('soak-redis', connector, cache_size=0, secret=SECRET)

        def residue() -> int:
            with server.client() as client:
                return sum(1 for _ in client.scan_iter(match='soak:*', count=1000))

        def cleanup() -> int:
            connector.close(clear=True)
            return residue()

        report = _run(
            'redis', store, _Target(residue, cleanup), tmp_path, ServerFault(server)
        )
    _report(report, capsys)
    _check(report, keeps_objects=True)


@pytest.mark.soak
@pytest.mark.timeout(SECONDS + 600)
def test_soak_ucx(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The UCX data server (memory only) killed and restarted."""
    from proxystore.connectors.ucx._client import ping
    from proxystore.testing.ucx import UCXServer

    with UCXServer() as server:
        store = Store('soak-ucx', server.connector(), cache_size=0, secret=SECRET)

        def residue() -> int:
            return ping(server.address, server.port, timeout=10.0)[1]

        report = _run(
            'ucx', store, _Target(residue, residue), tmp_path, ServerFault(server)
        )
    _report(report, capsys)
    _check(report, keeps_objects=False)


@pytest.mark.soak
@pytest.mark.timeout(SECONDS + 600)
def test_soak_endpoint(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint with SQLite storage killed and restarted."""
    from proxystore.testing.endpoint import EndpointProcess

    with EndpointProcess(
        tmp_path / 'home', 'soak', database_path=str(tmp_path / 'objects.db')
    ) as endpoint:
        store = Store(
            'soak-endpoint', endpoint.connector(), cache_size=0, secret=SECRET
        )

        def residue() -> int:
            objects = endpoint.request('GET', '/storage', {}).json()['objects']
            assert isinstance(objects, int)
            return objects

        report = _run(
            'endpoint',
            store,
            _Target(residue, residue),
            tmp_path,
            ServerFault(endpoint),
        )
    _report(report, capsys)
    # An endpoint has no clear: its orphans stay until it is removed.
    _check(report, keeps_objects=True, clears=False)
