"""UCX connector get and put against raw ucxx and the Redis connector.

Two processes: this one measures, ``ucx_peer`` answers. At each size:

- ``raw``: a raw ucxx round trip between the same two processes, the bytes
  received into a buffer allocated once (a get), or sent to one the peer
  allocated once (a put);
- ``raw-new-buffer`` (gets): the same, into a new buffer each time (from the
  pool the connectors receive into), as any reader of a new object must;
- ``connector``: `UCXConnector.get` / ``put`` against the peer, now a data
  server (puts are evicted after each round, outside the timing);
- ``redis``: `RedisConnector` against a redis-server on 127.0.0.1.

Each case runs as many operations as fit in ``seconds`` (at least 3, at most
``count``) after one warm-up, ``repeat`` times in each of ``rounds`` rounds (a
new peer process each); the best run is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Annotated
from typing import Any

import numpy
import typer

from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.ucx import UCXConnector
from proxystore.connectors.ucx import UCXServerNotRunningError
from proxystore.serialize.buffers import allocate
from proxystore.testing.ports import free_port
from proxystore.testing.redis import RedisServer
from proxystore_bench.harness import options
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure
from proxystore_bench.harness.transfer import MIB
from proxystore_bench.harness.transfer import SIZES_TO_256_MIB
from proxystore_bench.harness.transfer import Times
from proxystore_bench.harness.transfer import TransferRecord
from proxystore_bench.harness.transfer import TransferSettings
from proxystore_bench.harness.transfer import keep_best
from proxystore_bench.workers import ucx_raw

__all__ = ['UCXRecord', 'UCXSettings', 'command', 'run_ucx_benchmark']

BANDWIDTH_TARGET = 0.8
"""Connector get bandwidth / raw ucxx, objects of 1 MiB and more."""
LATENCY_TARGET_US = 500.0
"""Connector get of a small object (the 1.x UCX connector took 3.8-14.8 ms)."""
SMALL = 4096


@dataclasses.dataclass(frozen=True)
class UCXSettings(TransferSettings):
    """Shape of a run (`TransferSettings`, up to 256 MiB, three rounds)."""

    sizes: tuple[int, ...] = SIZES_TO_256_MIB
    repeat: int = 1
    rounds: int = 3
    """Raw and connector take turns this many times; the best of all is kept."""
    transports: str | None = None
    devices: str | None = 'lo'
    redis: bool = True


@dataclasses.dataclass(frozen=True)
class UCXRecord(TransferRecord):
    """The best of one method at one size and operation."""

    vs_raw: float | None
    """Bandwidth against ``raw`` of the same operation and size."""

    @property
    def vs(self) -> float | None:
        """`vs_raw`."""
        return self.vs_raw

    @property
    def target(self) -> str | None:
        """The issue's target for this record (connector gets only)."""
        if self.op != 'get' or self.method != 'connector':
            return None
        if self.size >= MIB:
            return f'bandwidth >= {BANDWIDTH_TARGET}x raw'
        if self.size <= SMALL:
            return f'latency <= {LATENCY_TARGET_US:g} us'
        return None

    @property
    def meets_target(self) -> bool | None:
        """Whether the record meets its target (``None``: it has none)."""
        if self.target is None:
            return None
        if self.size >= MIB:
            return self.vs_raw is not None and self.vs_raw >= BANDWIDTH_TARGET
        return self.latency_us <= LATENCY_TARGET_US


def _raw_cases(
    peer: ucx_raw.RawPeer, size: int
) -> dict[tuple[str, str], Callable[[], float]]:
    reused = numpy.empty(size, dtype=numpy.uint8)
    data = numpy.ones(size, dtype=numpy.uint8)
    ack = bytearray(1)

    def get(new_buffer: bool) -> Callable[[], float]:
        def once() -> float:
            start = time.perf_counter()
            buffer = allocate(size) if new_buffer else reused
            reply = peer.recv(buffer, ucx_raw.REPLY_TAG)
            peer.wait(
                reply,
                peer.send(ucx_raw.OP.pack(ucx_raw.OP_GET, size), ucx_raw.REQUEST_TAG),
            )
            return time.perf_counter() - start

        return once

    def put() -> float:
        start = time.perf_counter()
        reply = peer.recv(ack, ucx_raw.REPLY_TAG)
        peer.wait(
            reply,
            peer.send(ucx_raw.OP.pack(ucx_raw.OP_PUT, size), ucx_raw.REQUEST_TAG),
            peer.send(data, ucx_raw.PAYLOAD_TAG),
        )
        return time.perf_counter() - start

    return {
        ('get', 'raw'): get(new_buffer=False),
        ('get', 'raw-new-buffer'): get(new_buffer=True),
        ('put', 'raw'): put,
    }


def _connector_cases(
    connector: Any, name: str, size: int
) -> dict[tuple[str, str], Callable[[], float]]:
    data = numpy.ones(size, dtype=numpy.uint8).data
    key = connector.put(data)

    def get() -> float:
        start = time.perf_counter()
        result = connector.get(key)
        elapsed = time.perf_counter() - start
        assert result is not None
        assert len(memoryview(result)) == size
        return elapsed

    def put() -> float:
        start = time.perf_counter()
        written = connector.put(data)
        elapsed = time.perf_counter() - start
        connector.evict(written)
        return elapsed

    return {('get', name): get, ('put', name): put}


@contextlib.contextmanager
def _peer(settings: UCXSettings) -> Iterator[tuple[ucx_raw.RawPeer, int]]:
    import socket

    raw_port, server_port = free_port(), free_port()
    command = [
        sys.executable, '-m', 'proxystore_bench.workers.ucx_peer',
        '--raw-port', str(raw_port), '--server-port', str(server_port),
    ]  # fmt: skip
    if settings.transports:
        command += ['--transports', settings.transports]
    if settings.devices:
        command += ['--devices', settings.devices]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sock = socket.create_connection(('127.0.0.1', raw_port), timeout=60)
                break
            except ConnectionRefusedError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('the UCX benchmark peer did not start') from None
                time.sleep(0.05)
        with sock:
            peer = ucx_raw.connect_raw(sock, settings.transports, settings.devices)
            yield peer, server_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_server(connector: UCXConnector, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connector.evict(connector.put(b'ping'))
            return
        except UCXServerNotRunningError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _measure_round(settings: UCXSettings, times: Times) -> None:
    """Raw ucxx, then the connector, with a new peer process."""
    with _peer(settings) as (peer, server_port):
        for size in settings.sizes:
            for (op, method), case in _raw_cases(peer, size).items():
                keep_best(times, {(op, method, size): settings.best(case)})
        peer.wait(peer.send(ucx_raw.OP.pack(ucx_raw.OP_STOP, 0), ucx_raw.REQUEST_TAG))
        peer.close()
        connector = UCXConnector(
            server_port,
            '127.0.0.1',
            transports=settings.transports,
            devices=settings.devices,
            spawn_server=False,
            # The raw baseline's endpoints have error handling off (shared
            # memory and cma within a node): the connector is measured alike.
            error_handling=False,
        )
        _wait_for_server(connector)
        for size in settings.sizes:
            cases = _connector_cases(connector, 'connector', size)
            for (op, method), case in cases.items():
                keep_best(times, {(op, method, size): settings.best(case)})


def run_ucx_benchmark(settings: UCXSettings) -> list[UCXRecord]:
    """Measure every method at every size (see the module's docstring).

    Raw and connector cases take turns, round after round, so that a busy
    moment of the machine does not fall on one method only.
    """
    settings.validate()
    times: Times = {}
    for _ in range(settings.rounds):
        _measure_round(settings, times)
    if settings.redis:
        with (
            tempfile.TemporaryDirectory() as directory,
            RedisServer(pathlib.Path(directory) / 'redis') as server,
        ):
            redis = RedisConnector('127.0.0.1', server.port)
            for _ in range(settings.rounds):
                for size in settings.sizes:
                    cases = _connector_cases(redis, 'redis', size)
                    for (op, method), case in cases.items():
                        keep_best(times, {(op, method, size): settings.best(case)})
            redis.close()
    records = []
    for (op, method, size), (done, spent) in times.items():
        raw = times.get((op, 'raw', size))
        records.append(
            UCXRecord.timed(
                (op, method, size),
                done,
                spent,
                vs_raw=None
                if raw is None or method == 'raw'
                else (raw[1] / raw[0]) / (spent / done),
            )
        )
    order = {'raw': 0, 'raw-new-buffer': 1, 'connector': 2, 'redis': 3}
    return sorted(records, key=lambda r: (r.op, r.size, order[r.method]))


def command(
    quick: options.Quick = True,
    sizes: options.Sizes = None,
    transports: Annotated[
        str | None,
        typer.Option(help="UCX transports, e.g. 'tcp,self'; default: UCX's choice."),
    ] = None,
    redis: Annotated[
        bool, typer.Option(help='Also measure the Redis connector.')
    ] = True,
) -> Results:
    """UCX connector get/put vs raw ucxx and the Redis connector, two processes."""
    settings = choose(
        UCXSettings,
        quick=quick,
        sizes=options.sizes(sizes),
        transports=transports,
        redis=redis,
    )
    records = measure(
        'measuring UCX gets and puts...', lambda _: run_ucx_benchmark(settings)
    )
    name = 'ucx' if transports is None else f'ucx-{transports.replace(",", "-")}'
    return Results(name, records)
