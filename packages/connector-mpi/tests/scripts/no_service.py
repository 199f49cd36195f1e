"""Rank 1 never uses the connector: rank 0's requests to it time out clearly."""

import time
import uuid

from mpi4py import MPI

from proxystore.connectors.mpi import MPIConnector
from proxystore.connectors.mpi import MPIKey
from proxystore.connectors.mpi import MPITimeoutError

comm = MPI.COMM_WORLD
if comm.Get_rank() == 0:
    connector = MPIConnector(timeout=0.5)
    start = time.monotonic()
    try:
        connector.get(MPIKey(1, uuid.uuid4().hex))
    except MPITimeoutError as e:
        print(f'rank 0: {type(e).__name__}: {e} ({time.monotonic() - start:.2f} s)')
    else:
        raise AssertionError('a rank without a service answered')
comm.Barrier()
