"""A genomics-style pipeline (after 1000 Genomes) whose stages are linked by futures.

Stages, on synthetic data made by the tasks themselves:

1. ``individuals``: one task per chunk of variants: the genotypes (0, 1 or
   2 alternate alleles) of every individual;
2. ``sifting``: the variants predicted deleterious (a SIFT-like score);
3. ``merge``: the chunks joined into one genotype matrix;
4. ``mutation_overlap``: per population, how many deleterious variants each
   individual carries;
5. ``frequency``: per population, the allele frequencies of the deleterious
   variants.

Every task first prepares (``prep`` seconds: reading its inputs, say), then
needs its upstream data. By value, a task is submitted once its upstream tasks
are done. By proxy, the driver makes a `proxystore.futures.Future` for each
stage's output and submits every task at once: a task gets proxies of the
futures it needs, prepares while its upstream stages still run, and blocks
only when it touches their data. Each task reports when it started and when
its inputs were ready, so the overlap shows. The populations' results are
checked against the whole pipeline run on the driver.
"""

from __future__ import annotations

import time
from typing import Any

import numpy
from numpy.typing import NDArray
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from proxystore.connectors.protocols import DeferrableConnector
from proxystore.futures import Future
from proxystore.proxy import Proxy
from proxystore.proxy import extract
from proxystore_apps.engine import Engine
from proxystore_apps.engine import TaskFuture
from proxystore_apps.errors import AppCheckError
from proxystore_apps.errors import InvalidParameterError

__all__ = [
    'SUMMARY',
    'Params',
    'Pending',
    'frequency',
    'individuals',
    'merge',
    'mutation_overlap',
    'run',
    'sifting',
]

SUMMARY = 'genomics-style pipeline; stages linked by proxy futures start early'
SIFT_THRESHOLD = 0.05


class Params(BaseModel):
    """Parameters of the pipeline app.

    Attributes:
        chunks: Chunks of variants (``individuals`` tasks).
        individuals: Individuals genotyped.
        variants_per_chunk: Variants in a chunk.
        populations: Populations (one ``mutation_overlap`` and one
            ``frequency`` task each).
        prep: Seconds each task spends preparing before it needs its inputs.
        timeout: Longest wait, in seconds, for an upstream stage.
        seed: Seed of the data.
    """

    model_config = ConfigDict(extra='forbid')

    chunks: int = Field(default=4, ge=1, le=10_000)
    individuals: int = Field(default=200, ge=1, le=1_000_000)
    variants_per_chunk: int = Field(default=2_000, ge=1, le=100_000_000)
    populations: int = Field(default=3, ge=1, le=1000)
    prep: float = Field(default=0.05, ge=0, le=3600)
    timeout: float = Field(default=120.0, gt=0)
    seed: int = 0


class Pending:
    """A proxy of a future's result, kept as is until the task asks for it.

    The runner resolves proxies among a task's arguments before the task
    starts; one inside a `Pending` is resolved only by `get`.
    """

    __slots__ = ('proxy',)

    def __init__(self, proxy: Proxy[Any]) -> None:
        self.proxy = proxy

    def __getstate__(self) -> Proxy[Any]:
        return self.proxy

    def __setstate__(self, state: Proxy[Any]) -> None:
        self.proxy = state

    def get(self) -> Any:
        """The result (waits for the producer)."""
        return extract(self.proxy)


def _data(item: Any) -> Any:
    """The data of an input: a pending future's result, or a stage's output."""
    if isinstance(item, Pending):
        return item.get()
    return item['data']


def _finish(
    data: Any, out: Future[Any] | None, start: float, ready: float
) -> dict[str, Any]:
    if out is not None:
        out.set_result(data)
        data = None
    return {'data': data, 'start': start, 'ready': ready, 'end': time.time()}


def _genotypes(params: Params, chunk: int) -> NDArray[numpy.int8]:
    rng = numpy.random.default_rng((params.seed, chunk))
    frequencies = rng.beta(0.5, 4.0, size=params.variants_per_chunk)
    genotypes: NDArray[numpy.int8] = rng.binomial(
        2, frequencies, size=(params.individuals, params.variants_per_chunk)
    ).astype(numpy.int8)
    return genotypes


def _deleterious(params: Params) -> NDArray[numpy.bool_]:
    rng = numpy.random.default_rng((params.seed, 2**31))
    scores = rng.random(params.chunks * params.variants_per_chunk)
    mask: NDArray[numpy.bool_] = scores < SIFT_THRESHOLD
    return mask


def _population(params: Params, population: int) -> NDArray[numpy.int64]:
    rng = numpy.random.default_rng((params.seed, 2**31 + 1))
    labels = rng.integers(0, params.populations, size=params.individuals)
    members: NDArray[numpy.int64] = numpy.flatnonzero(labels == population)
    return members


def _overlap(
    matrix: NDArray[numpy.int8],
    mask: NDArray[numpy.bool_],
    members: NDArray[numpy.int64],
) -> dict[str, Any]:
    carried = (matrix[members][:, mask] > 0).sum(axis=1)
    return {
        'individuals': len(members),
        'mean_carried': float(carried.mean()) if len(members) else 0.0,
        'max_carried': int(carried.max()) if len(members) else 0,
    }


def _frequency(
    matrix: NDArray[numpy.int8],
    mask: NDArray[numpy.bool_],
    members: NDArray[numpy.int64],
) -> list[int]:
    if not len(members):
        return [0] * 10
    alleles = matrix[members][:, mask].sum(axis=0) / (2 * len(members))
    histogram, _ = numpy.histogram(alleles, bins=10, range=(0.0, 1.0))
    return [int(n) for n in histogram]


def individuals(params: Params, chunk: int, out: Future[Any] | None) -> dict[str, Any]:
    """Stage 1: the genotypes of a chunk of variants."""
    start = time.time()
    time.sleep(params.prep)
    return _finish(_genotypes(params, chunk), out, start, start)


def sifting(params: Params, out: Future[Any] | None) -> dict[str, Any]:
    """Stage 2: which variants are deleterious."""
    start = time.time()
    time.sleep(params.prep)
    return _finish(_deleterious(params), out, start, start)


def merge(params: Params, *chunks: Any, out: Future[Any] | None) -> dict[str, Any]:
    """Stage 3: the chunks joined into one matrix."""
    start = time.time()
    time.sleep(params.prep)
    parts = [_data(chunk) for chunk in chunks]
    ready = time.time()
    return _finish(numpy.concatenate(parts, axis=1), out, start, ready)


def mutation_overlap(
    params: Params, matrix: Any, mask: Any, population: int
) -> dict[str, Any]:
    """Stage 4: deleterious variants carried by each member of a population."""
    start = time.time()
    members = _population(params, population)
    time.sleep(params.prep)
    matrix, mask = _data(matrix), _data(mask)
    ready = time.time()
    return _finish(_overlap(matrix, mask, members), None, start, ready)


def frequency(
    params: Params, matrix: Any, mask: Any, population: int
) -> dict[str, Any]:
    """Stage 5: allele frequencies of the deleterious variants in a population."""
    start = time.time()
    members = _population(params, population)
    time.sleep(params.prep)
    matrix, mask = _data(matrix), _data(mask)
    ready = time.time()
    return _finish(_frequency(matrix, mask, members), None, start, ready)


def _submit_by_value(engine: Engine, params: Params) -> dict[str, list[TaskFuture]]:
    chunks = [engine.submit(individuals, params, c, None) for c in range(params.chunks)]
    mask = engine.submit(sifting, params, None)
    matrix = engine.submit(merge, params, *chunks, out=None)
    pops = range(params.populations)
    return {
        'individuals': chunks,
        'sifting': [mask],
        'merge': [matrix],
        'mutation_overlap': [
            engine.submit(mutation_overlap, params, matrix, mask, p) for p in pops
        ],
        'frequency': [engine.submit(frequency, params, matrix, mask, p) for p in pops],
    }


def _submit_by_proxy(engine: Engine, params: Params) -> dict[str, list[TaskFuture]]:
    store = engine.store()
    if not isinstance(store.connector, DeferrableConnector):
        raise InvalidParameterError(
            f'the pipeline links its stages with futures, which the '
            f'{type(store.connector).__name__} cannot hold: use a deferrable '
            'connector (shm, file, redis)',
        )

    def future() -> Future[Any]:
        made: Future[Any] = store.future(
            polling_interval=0.001,
            polling_backoff_factor=1.5,
            polling_interval_limit=0.02,
            polling_timeout=params.timeout,
        )
        return made

    def pending(made: Future[Any]) -> Pending:
        return Pending(made.proxy(target_class=numpy.ndarray))

    # Producers before consumers: with a first-in first-out engine, a task
    # waits only for tasks that started before it (no deadlock on few workers).
    chunk_futures = [future() for _ in range(params.chunks)]
    mask_future, matrix_future = future(), future()
    chunks = [
        engine.submit(individuals, params, c, f) for c, f in enumerate(chunk_futures)
    ]
    mask = engine.submit(sifting, params, mask_future)
    matrix = engine.submit(
        merge, params, *[pending(f) for f in chunk_futures], out=matrix_future
    )
    pops = range(params.populations)
    inputs = (pending(matrix_future), pending(mask_future))
    return {
        'individuals': chunks,
        'sifting': [mask],
        'merge': [matrix],
        'mutation_overlap': [
            engine.submit(mutation_overlap, params, *inputs, p) for p in pops
        ],
        'frequency': [engine.submit(frequency, params, *inputs, p) for p in pops],
    }


UPSTREAM = {
    'individuals': (),
    'sifting': (),
    'merge': ('individuals',),
    'mutation_overlap': ('merge', 'sifting'),
    'frequency': ('merge', 'sifting'),
}


def run(engine: Engine, params: Params) -> dict[str, Any]:
    """Run the pipeline; check each population's results.

    Raises:
        AppCheckError: If a population's result differs from the driver's.
        InvalidParameterError: If, by proxy, the store cannot hold futures.
    """
    submit = _submit_by_proxy if engine.proxying else _submit_by_value
    stages = submit(engine, params)
    reports = {
        name: [dict(r) for r in engine.wait(futures, timeout=params.timeout * 5)]
        for name, futures in stages.items()
    }
    matrix = numpy.concatenate(
        [_genotypes(params, c) for c in range(params.chunks)], axis=1
    )
    mask = _deleterious(params)
    for p in range(params.populations):
        members = _population(params, p)
        if reports['mutation_overlap'][p]['data'] != _overlap(matrix, mask, members):
            raise AppCheckError(f'mutation overlap of population {p} is wrong')
        if reports['frequency'][p]['data'] != _frequency(matrix, mask, members):
            raise AppCheckError(f'allele frequencies of population {p} are wrong')
    # A task started early if it started before an upstream stage ended.
    ends = {name: max(r['end'] for r in items) for name, items in reports.items()}
    early = sum(
        1
        for name, items in reports.items()
        for r in items
        if any(r['start'] < ends[up] for up in UPSTREAM[name])
    )
    waited = [r['ready'] - r['start'] for items in reports.values() for r in items]
    return {
        'tasks': sum(len(items) for items in reports.values()),
        'deleterious_variants': int(mask.sum()),
        'tasks_started_early': early,
        'mean_start_to_inputs_s': sum(waited) / len(waited),
        'mean_carried_pop0': reports['mutation_overlap'][0]['data']['mean_carried'],
    }
