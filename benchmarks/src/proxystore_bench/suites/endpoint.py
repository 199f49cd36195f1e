"""Endpoint get/put latency and bandwidth: local, peer to peer, Redis, and 1.x.

Everything runs on this host, each server in a process of its own on
127.0.0.1. At each size:

- ``local``: `EndpointConnector` get / put on its own endpoint (HTTP);
- ``peer``: the same connector on keys owned by a second endpoint: the
  local endpoint forwards them over WebRTC (a relay for signaling; ICE on
  127.0.0.1 only);
- ``redis``: `RedisConnector` against a redis-server on 127.0.0.1;
- ``v1-local`` / ``v1-peer`` (with a ProxyStore 1.1.0 venv): the same two
  cases with 1.x's relay, endpoints and HTTP client (`endpoint_v1`).

Each case runs as many operations as fit in ``seconds`` (at least 3, at most
``count``) after one warm-up; the best of ``repeat`` runs is kept. Puts are
evicted after each operation, outside the timing. With ``rounds`` > 1 the
whole measurement (ours, Redis, then 1.x) is made again and the best of every
case is kept, so that load from other programs on a shared machine weighs on
both sides alike.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Annotated
from typing import Any

import typer

from proxystore.connectors.endpoint import EndpointKey
from proxystore.connectors.redis import RedisConnector
from proxystore.testing.endpoint import EndpointProcess
from proxystore.testing.endpoint import RelayProcess
from proxystore.testing.redis import RedisServer
from proxystore_bench.harness import options
from proxystore_bench.harness.report import Results
from proxystore_bench.harness.subprocesses import run_json
from proxystore_bench.harness.subprocesses import worker_script
from proxystore_bench.harness.suite import choose
from proxystore_bench.harness.suite import measure
from proxystore_bench.harness.suite import no_baseline_note
from proxystore_bench.harness.transfer import MIB
from proxystore_bench.harness.transfer import Times
from proxystore_bench.harness.transfer import TransferRecord
from proxystore_bench.harness.transfer import TransferSettings
from proxystore_bench.harness.transfer import keep_best

__all__ = [
    'EndpointRecord',
    'EndpointSettings',
    'command',
    'run_endpoint_benchmark',
]

LATENCY_TARGET_US = 1000.0
"""Local endpoint get of 1 KB (1.x: 1.68 ms on Perlmutter, SC'23)."""
PEER_TARGET = 2.0
"""Peer-to-peer bandwidth against 1.x peering, objects of 1 MiB and more."""
SMALL = 1024
V1_WORKER = worker_script('endpoint_v1_worker')


@dataclasses.dataclass(frozen=True)
class EndpointSettings(TransferSettings):
    """Shape of a run (`TransferSettings`, two rounds)."""

    rounds: int = 2
    channels: int = 4
    v1_channels: int = 2
    """1.x's peer channels (its paper's peering runs used 2)."""
    redis: bool = True
    baseline_python: str | None = None

    @classmethod
    def quick(cls) -> EndpointSettings:
        """1 KiB, 1 MiB and 4 MiB, a fraction of a second each, one round."""
        return dataclasses.replace(super().quick(), sizes=(1024, MIB, 4 * MIB))

    def validate(self) -> None:
        """Raise `ValueError` for a run that cannot be made."""
        super().validate()
        if self.channels < 1 or self.v1_channels < 1:
            raise ValueError('channels must be at least 1.')


@dataclasses.dataclass(frozen=True)
class EndpointRecord(TransferRecord):
    """The best of one method at one size and operation."""

    vs_v1: float | None
    """Bandwidth against 1.x's same case (``local``/``peer`` only)."""

    @property
    def vs(self) -> float | None:
        """`vs_v1`."""
        return self.vs_v1

    @property
    def target(self) -> str | None:
        """The issue's target for this record."""
        if self.method == 'local' and self.op == 'get' and self.size <= SMALL:
            return f'latency <= {LATENCY_TARGET_US:g} us'
        if self.method == 'peer' and self.size >= MIB:
            return f'bandwidth >= {PEER_TARGET:g}x 1.x peering'
        return None

    @property
    def meets_target(self) -> bool | None:
        """Whether the record meets its target (``None``: none, or no 1.x run)."""
        if self.target is None:
            return None
        if self.method == 'local':
            return self.latency_us <= LATENCY_TARGET_US
        if self.vs_v1 is None:
            return None
        return self.vs_v1 >= PEER_TARGET


def _cases(
    connector: Any, size: int, owner: str | None
) -> dict[str, Callable[[], float]]:
    """Get and put of ``size`` bytes; ``owner``: the endpoint holding the keys."""
    data = bytes(size)
    if owner is None:
        key = connector.put(data)
    else:
        key = EndpointKey(str(uuid.uuid4()), owner)
        connector.set(key, data)

    def get() -> float:
        start = time.perf_counter()
        found = connector.get(key)
        elapsed = time.perf_counter() - start
        assert found is not None
        assert len(memoryview(found)) == size
        return elapsed

    def put() -> float:
        if owner is None:
            start = time.perf_counter()
            written = connector.put(data)
        else:
            written = EndpointKey(str(uuid.uuid4()), owner)
            start = time.perf_counter()
            connector.set(written, data)
        elapsed = time.perf_counter() - start
        connector.evict(written)
        return elapsed

    return {'get': get, 'put': put}


def _ours(settings: EndpointSettings) -> Times:
    times: Times = {}
    limit = 2 * max(settings.sizes)
    with (
        tempfile.TemporaryDirectory() as directory,
        RelayProcess(None) as relay,
    ):

        def endpoint(name: str) -> EndpointProcess:
            return EndpointProcess(
                pathlib.Path(directory),
                name,
                relay=relay.address,
                peer_channels=settings.channels,
                max_object_size=limit,
                timeout=60,
            )

        with (
            endpoint('bench-local') as local,
            endpoint('bench-remote') as remote,
            local.connector(timeout=300) as connector,
        ):
            for size in settings.sizes:
                for method, owner in (('local', None), ('peer', str(remote.uuid))):
                    for op, case in _cases(connector, size, owner).items():
                        times[op, method, size] = settings.best(case)
    return times


def _redis(settings: EndpointSettings) -> Times:
    times: Times = {}
    with (
        tempfile.TemporaryDirectory() as directory,
        RedisServer(pathlib.Path(directory) / 'redis') as server,
    ):
        redis = RedisConnector('127.0.0.1', server.port)
        for size in settings.sizes:
            for op, case in _cases(redis, size, None).items():
                times[op, 'redis', size] = settings.best(case)
        redis.close()
    return times


def _v1(settings: EndpointSettings) -> Times:
    assert settings.baseline_python is not None
    result = run_json(
        'ProxyStore 1.x endpoints',
        [
            settings.baseline_python, str(V1_WORKER),
            '--sizes', ','.join(str(s) for s in settings.sizes),
            '--count', str(settings.count), '--seconds', str(settings.seconds),
            '--repeat', str(settings.repeat), '--channels', str(settings.v1_channels),
        ],
    )  # fmt: skip
    return {
        (r['op'], f'v1-{r["method"]}', int(r['size'])): (
            int(r['operations']),
            float(r['seconds']),
        )
        for r in result['results']
    }


def run_endpoint_benchmark(settings: EndpointSettings) -> list[EndpointRecord]:
    """Measure every method at every size (see the module's docstring)."""
    settings.validate()
    times: Times = {}

    for _ in range(settings.rounds):
        keep_best(times, _ours(settings))
        if settings.redis:
            keep_best(times, _redis(settings))
        if settings.baseline_python is not None:
            keep_best(times, _v1(settings))
    records = []
    for (op, method, size), (done, spent) in times.items():
        v1 = times.get((op, f'v1-{method}', size))
        records.append(
            EndpointRecord.timed(
                (op, method, size),
                done,
                spent,
                vs_v1=None if v1 is None else (v1[1] / v1[0]) / (spent / done),
            )
        )
    order = {'local': 0, 'v1-local': 1, 'peer': 2, 'v1-peer': 3, 'redis': 4}
    return sorted(records, key=lambda r: (r.op, r.size, order[r.method]))


def command(
    quick: options.Quick = True,
    baseline_python: options.BaselinePython = None,
    sizes: options.Sizes = None,
    channels: Annotated[
        int, typer.Option(min=1, max=64, help='Data channels per peer connection.')
    ] = 4,
    redis: Annotated[
        bool, typer.Option(help='Also measure the Redis connector.')
    ] = True,
) -> Results:
    """Endpoint get/put, local and peer to peer, vs Redis and ProxyStore 1.x."""
    settings = choose(
        EndpointSettings,
        quick=quick,
        sizes=options.sizes(sizes),
        channels=channels,
        redis=redis,
        baseline_python=None if baseline_python is None else str(baseline_python),
    )
    no_baseline_note(baseline_python)
    records = measure(
        'measuring endpoint gets and puts...',
        lambda _: run_endpoint_benchmark(settings),
    )
    return Results('endpoint', records)
