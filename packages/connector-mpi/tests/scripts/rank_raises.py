"""Rank 1 raises while rank 0 waits for its answer: the job ends, none is left."""

import time

from mpi4py import MPI

from proxystore.connectors.mpi import MPIConnector

comm = MPI.COMM_WORLD
connector = MPIConnector(timeout=600)
if comm.Get_rank() == 1:
    time.sleep(0.5)
    raise RuntimeError('rank 1 fails mid-job')
print('rank 0 waiting', flush=True)
while True:  # ended by the abort of the job, not by this loop
    connector.exists(connector.new_key())
    time.sleep(0.01)
