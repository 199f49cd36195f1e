r"""MPI connector get bandwidth and latency against raw mpi4py, two ranks.

Run by ``proxystore-bench mpi``, which launches this module with
``mpiexec -n 2``. Rank 0 holds the data; rank 1 reads it. At each size:

- ``raw``: a ping-pong, rank 0 ``Send``\\ s the buffer and rank 1 ``Recv``\\ s it
  into a buffer it allocated once, then answers with one byte (mpi4py's buffer
  API, the fastest a program that knows the size ahead can do);
- ``raw-new-buffer``: the same, but rank 1 receives into a new buffer each time
  (what any reader of a new object must do);
- ``connector``: rank 1 calls `MPIConnector.get` on a key held by rank 0 (the
  request and the bytes), while rank 0 waits in a sleeping loop (entering MPI
  every millisecond) as a rank busy with other work would;
- ``rma``: the alternative the connector did not take, one-sided
  ``MPI_Get`` under a shared passive-target lock from a dynamic window where
  rank 0 attached the data, while rank 0 waits the same way (up to 1 MiB:
  MPICH moves such gets only when the target enters MPI).

Each case runs as many round trips as fit in ``seconds`` (at least 3, at most
``count``); the best of ``repeat`` runs is kept. Rank 1 prints one JSON record
per case on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from mpi4py import MPI

from proxystore.connectors.mpi import MPIConnector
from proxystore.connectors.mpi import MPIKey
from proxystore.serialize.buffers import allocate

__all__ = ['METHODS', 'main']

METHODS = ('raw', 'raw-new-buffer', 'connector', 'rma')
RMA_MAX_SIZE = 1024 * 1024  # larger one-sided gets take seconds each
_DATA_TAG = 11
_ACK_TAG = 12


def _sleeping_barrier(comm: MPI.Intracomm, timeout: float = 600.0) -> None:
    # A rank that waits here leaves the CPU to the other rank's service.
    request = comm.Ibarrier()
    deadline = time.monotonic() + timeout
    while not request.Test():
        if time.monotonic() > deadline:
            raise TimeoutError('the other rank did not arrive')
        time.sleep(0.001)


def _timed(
    run_once: Callable[[], None], count: int, seconds: float
) -> tuple[int, float]:
    run_once()  # warm-up
    done = 0
    start = time.perf_counter()
    while done < count:
        run_once()
        done += 1
        if done >= 3 and time.perf_counter() - start >= seconds:
            break
    return done, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Measure every method at every size; rank 1 prints the records."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--sizes', required=True)
    parser.add_argument('--count', type=int, default=1000)
    parser.add_argument('--seconds', type=float, default=1.0)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(',') if s]
    comm = MPI.COMM_WORLD
    if comm.Get_size() != 2:
        print('run with mpiexec -n 2', file=sys.stderr)
        return 2
    rank = comm.Get_rank()
    connector = MPIConnector(timeout=600)
    for size in sizes:
        data = bytes(size) if size else b''
        key = comm.bcast(connector.put(data) if rank == 0 else None)
        best: dict[str, tuple[int, float]] = {}
        for _ in range(args.repeat):
            for method in METHODS:
                comm.Barrier()
                if method == 'connector':
                    if rank == 1:

                        def get(key: MPIKey = key) -> None:
                            connector.get(key)

                        result = _timed(get, args.count, args.seconds)
                    _sleeping_barrier(comm)
                elif method == 'rma':
                    if size > RMA_MAX_SIZE:
                        continue
                    result = _rma(comm, data, args.count, args.seconds)
                else:
                    result = _ping_pong(
                        comm, data, args.count, args.seconds, fresh=method != 'raw'
                    )
                if rank == 1:
                    done, elapsed = result
                    kept = best.get(method)
                    if kept is None or elapsed / done < kept[1] / kept[0]:
                        best[method] = result
        if rank == 1:
            for method, (done, elapsed) in best.items():
                record = {
                    'method': method,
                    'size': size,
                    'round_trips': done,
                    'seconds': elapsed,
                }
                print(json.dumps(record), flush=True)
        connector.evict(key)
        comm.Barrier()
    return 0


def _rma(
    comm: MPI.Intracomm, data: bytes, count: int, seconds: float
) -> tuple[int, float]:
    """Rank 1 gets ``data`` from rank 0's dynamic window; rank 0 waits."""
    window = MPI.Win.Create_dynamic(comm=comm)
    exposed = bytearray(data)
    result = (0, 0.0)
    try:
        if comm.Get_rank() == 0:
            window.Attach(exposed)
        where = comm.bcast(MPI.Get_address(exposed) if comm.Get_rank() == 0 else None)
        comm.Barrier()
        if comm.Get_rank() == 1:
            buffer = bytearray(len(data))

            def get() -> None:
                window.Lock(0, MPI.LOCK_SHARED)
                window.Get([buffer, MPI.BYTE], 0, (where, len(data), MPI.BYTE))
                window.Unlock(0)

            result = _timed(get, count, seconds)
        _sleeping_barrier(comm)
        if comm.Get_rank() == 0:
            window.Detach(exposed)
    finally:
        window.Free()
    return result


def _ping_pong(
    comm: MPI.Intracomm, data: bytes, count: int, seconds: float, *, fresh: bool
) -> tuple[int, float]:
    """Round trips of ``data``: rank 1 asks with a byte of 0, rank 0 sends.

    Rank 1 decides how many, and ends with a byte of 1.
    """
    size = len(data)
    ask = bytearray(1)
    kept = bytearray(size)
    if comm.Get_rank() == 1:
        go = bytearray(b'\x00')

        def once() -> None:
            buffer = allocate(size) if fresh else kept
            comm.Send([go, MPI.BYTE], 0, _ACK_TAG)
            comm.Recv([buffer, MPI.BYTE], 0, _DATA_TAG)

        result = _timed(once, count, seconds)
        comm.Send([b'\x01', MPI.BYTE], 0, _ACK_TAG)
        return result
    while True:
        comm.Recv([ask, MPI.BYTE], 1, _ACK_TAG)
        if ask[0] == 1:
            return 0, 0.0
        comm.Send([data, MPI.BYTE], 1, _DATA_TAG)


if __name__ == '__main__':
    raise SystemExit(main())
