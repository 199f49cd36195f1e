"""MPI initialized without MPI_THREAD_MULTIPLE: the connector refuses clearly."""

import mpi4py

mpi4py.rc.thread_level = 'single'

from mpi4py import MPI  # noqa: E402

from proxystore.connectors.mpi import MPIConnector  # noqa: E402
from proxystore.connectors.mpi import MPIConnectorError  # noqa: E402

try:
    MPIConnector()
except MPIConnectorError as e:
    print(f'rank {MPI.COMM_WORLD.Get_rank()}: {type(e).__name__}: {e}')
else:
    raise AssertionError('a connector without MPI_THREAD_MULTIPLE')
