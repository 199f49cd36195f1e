"""A simulation streams frames to an inference task (DeepDriveMD-style).

Two tasks run at once: ``simulate`` makes frames (contact-map-like square
arrays) and sends them on a `proxystore.stream` topic, with ZeroMQ as the
broker; ``infer`` consumes them in batches, runs a small fixed model on each
batch, and measures each batch's latency: from the moment its last frame was
sent to the end of its inference.

By value, each frame travels inside the stream's events, through the broker.
By proxy, the frames go to the run's store and the events carry only keys;
the consumer resolves each frame from the store (and evicts it).

The consumer's checksum of the model's outputs is compared with one computed
on the driver from the same frames.
"""

from __future__ import annotations

import socket
import statistics
import time
from typing import Any

import numpy
from numpy.typing import NDArray
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from proxystore.store import StoreConfig
from proxystore.store import get_or_create_store
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.shims.zmq import ZeroMQPublisher
from proxystore.stream.shims.zmq import ZeroMQSubscriber
from proxystore_apps.config import RunConfig
from proxystore_apps.engine import Engine
from proxystore_apps.errors import AppCheckError
from proxystore_apps.errors import InvalidParameterError

__all__ = [
    'SUMMARY',
    'Params',
    'check',
    'infer',
    'make_frame',
    'model_scores',
    'run',
    'simulate',
]

SUMMARY = 'a simulation streams frames to an inference task (proxystore.stream)'
TOPIC = 'frames'
FEATURES = 16
Array = NDArray[numpy.float32]


class Params(BaseModel):
    """Parameters of the streaming-inference app.

    Attributes:
        frames: Frames the simulation makes.
        frame_size: Side of a square frame (float32).
        batch_size: Frames per inference batch.
        interval: Seconds of simulation per frame.
        timeout: Longest wait, in seconds, for the other task (to connect or
            to send the next frame).
        seed: Seed of the frames and of the model.
    """

    model_config = ConfigDict(extra='forbid')

    frames: int = Field(default=32, ge=1, le=1_000_000)
    frame_size: int = Field(default=256, ge=1, le=16_384)
    batch_size: int = Field(default=4, ge=1)
    interval: float = Field(default=0.005, ge=0, le=60)
    timeout: float = Field(default=60.0, gt=0)
    seed: int = 0


def check(config: RunConfig, params: BaseModel) -> None:
    """The two tasks must run at the same time: two workers at least.

    Raises:
        InvalidParameterError: If the executor has fewer than two workers.
    """
    if config.executor.kind != 'mpi' and config.executor.workers < 2:
        raise InvalidParameterError(
            'stream-inference runs a simulation and an inference task at the '
            'same time: give the executor two workers or more (--workers 2).',
        )


def make_frame(seed: int, index: int, size: int) -> Array:
    """Frame ``index`` of the simulation: a symmetric map of contacts."""
    rng = numpy.random.default_rng((seed, index))
    positions = numpy.cumsum(rng.normal(size=(size, 3)), axis=0)
    distances = numpy.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=2)
    frame: Array = (distances < 4.0).astype(numpy.float32)
    return frame


def _weights(seed: int, size: int) -> Array:
    rng = numpy.random.default_rng((seed, 2**31))
    weights: Array = rng.normal(size=(size * size, FEATURES)).astype(numpy.float32)
    return weights / numpy.float32(size)


def model_scores(frames: Array, weights: Array) -> NDArray[numpy.float64]:
    """The model: a fixed projection and a tanh, one score per frame."""
    flat = frames.reshape(len(frames), -1)
    scores: NDArray[numpy.float64] = numpy.tanh(flat @ weights).astype(numpy.float64)
    totals: NDArray[numpy.float64] = scores.sum(axis=1)
    return totals


def simulate(
    port: int,
    *,
    frames: int,
    frame_size: int,
    interval: float,
    timeout: float,
    seed: int,
    store_config: StoreConfig | None,
) -> dict[str, Any]:
    """The simulation task: make frames and stream them.

    Raises:
        TimeoutError: If the consumer does not connect within ``timeout``.
    """
    publisher = ZeroMQPublisher('127.0.0.1', port, fans_out=False)  # one reader
    store = None if store_config is None else get_or_create_store(store_config)
    producer: StreamProducer[Any] = StreamProducer(publisher, stores={TOPIC: store})
    try:
        publisher.wait_for_subscribers(1, timeout=timeout)
        start = time.perf_counter()
        for index in range(frames):
            frame = make_frame(seed, index, frame_size)
            if interval:
                time.sleep(interval)
            metadata = {'index': index, 'sent': time.time()}
            producer.send(TOPIC, frame if store else frame.tobytes(), metadata=metadata)
        producer.close_topics(TOPIC)
    finally:
        producer.close()
    return {'frames': frames, 'seconds': time.perf_counter() - start}


def infer(
    port: int,
    *,
    frame_size: int,
    batch_size: int,
    timeout: float,
    seed: int,
    store_config: StoreConfig | None,
) -> dict[str, Any]:
    """The inference task: consume frames in batches; time each batch.

    Raises:
        TimeoutError: If no frame comes for ``timeout`` seconds.
    """
    subscriber = ZeroMQSubscriber(
        '127.0.0.1', port, topic=TOPIC, timeout=timeout, fans_out=False
    )
    stores = [] if store_config is None else [get_or_create_store(store_config)]
    frame_bytes = frame_size * frame_size * 4
    consumer: StreamConsumer[Any] = StreamConsumer(
        subscriber, stores=stores, max_message_bytes=2 * frame_bytes + 2**20
    )
    weights = _weights(seed, frame_size)
    latencies: list[float] = []
    checksum = 0.0
    count = 0
    batch: list[Array] = []
    last_sent = 0.0

    def flush() -> None:
        nonlocal checksum
        checksum += float(model_scores(numpy.stack(batch), weights).sum())
        latencies.append(time.time() - last_sent)
        batch.clear()

    with consumer:
        for metadata, item in consumer.iter_with_metadata():
            if isinstance(item, bytes | bytearray):
                frame = numpy.frombuffer(item, dtype=numpy.float32)
            else:
                frame = numpy.asarray(item)
            batch.append(frame.reshape(frame_size, frame_size))
            last_sent = float(metadata['sent'])
            count += 1
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
    return {'frames': count, 'latencies': latencies, 'checksum': checksum}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port: int = probe.getsockname()[1]
        return port


def run(engine: Engine, params: Params) -> dict[str, Any]:
    """Run the simulation and the inference task; check the inference.

    Raises:
        AppCheckError: If frames were lost or the model's outputs differ from
            the driver's.
    """
    port = _free_port()
    store_config = engine.store().config() if engine.proxying else None
    consumer = engine.submit(
        infer,
        port,
        frame_size=params.frame_size,
        batch_size=params.batch_size,
        timeout=params.timeout,
        seed=params.seed,
        store_config=store_config,
    )
    producer = engine.submit(
        simulate,
        port,
        frames=params.frames,
        frame_size=params.frame_size,
        interval=params.interval,
        timeout=params.timeout,
        seed=params.seed,
        store_config=store_config,
    )
    sent, received = engine.wait([producer, consumer])
    sent, received = dict(sent), dict(received)
    if received['frames'] != params.frames:
        raise AppCheckError(
            f'the inference task got {received["frames"]} of {params.frames} frames'
        )
    weights = _weights(params.seed, params.frame_size)
    expected = sum(
        float(
            model_scores(make_frame(params.seed, i, params.frame_size)[None], weights)[
                0
            ]
        )
        for i in range(params.frames)
    )
    if not numpy.isclose(received['checksum'], expected, rtol=1e-4, atol=1e-3):
        raise AppCheckError(
            f'inference checksum {received["checksum"]:.6g} differs from the '
            f"driver's {expected:.6g}",
        )
    latencies = sorted(received['latencies'])
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return {
        'frames': params.frames,
        'frame_bytes': params.frame_size**2 * 4,
        'batches': len(latencies),
        'mean_batch_latency_ms': statistics.mean(latencies) * 1000,
        'p95_batch_latency_ms': p95 * 1000,
        'simulation_s': sent['seconds'],
    }
