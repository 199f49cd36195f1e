"""Rank 1 puts an object, then leaves early; rank 0 reads it afterwards."""

import time

from mpi4py import MPI

from proxystore.connectors.mpi import MPIConnector
from proxystore.connectors.mpi import MPIRankGoneError
from proxystore.connectors.mpi import close_service

comm = MPI.COMM_WORLD
connector = MPIConnector(timeout=30)
key = comm.bcast(
    connector.put(b'short-lived') if comm.Get_rank() == 1 else None, root=1
)
assert bytes(connector.get(key)) == b'short-lived'
comm.Barrier()
if comm.Get_rank() == 1:
    close_service()  # and the script ends for this rank
else:
    time.sleep(0.5)
    start = time.monotonic()
    try:
        connector.get(key)
    except MPIRankGoneError as e:
        print(f'rank 0: {type(e).__name__}: {e} ({time.monotonic() - start:.2f} s)')
    else:
        raise AssertionError('the object of a departed rank was read')
