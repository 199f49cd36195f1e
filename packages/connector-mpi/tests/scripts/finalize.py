"""Every rank finalizes MPI cleanly, whatever the connector sent it.

Rank 0 asks rank 1, which never made a connector, for an object (the request
stays unmatched there), reads its own objects and is read by rank 2; rank 3
never imports ProxyStore. Then every rank calls ``MPI.Finalize()`` itself,
which fails on a communicator with unmatched messages: the connector must
have said goodbye only to rank 2, and rank 1 must have dropped the request.
"""

import uuid

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()


def put_and_get() -> None:
    from proxystore.connectors.mpi import MPIConnector
    from proxystore.connectors.mpi import MPIKey
    from proxystore.connectors.mpi import MPITimeoutError
    from proxystore.connectors.mpi import close_service

    key = None
    if rank == 0:
        connector = MPIConnector(timeout=0.5)
        try:
            connector.get(MPIKey(1, uuid.uuid4().hex))
        except MPITimeoutError:
            print('rank 0: rank 1 did not answer', flush=True)
        key = connector.put(b'of rank 0')
        assert bytes(connector.get(key)) == b'of rank 0'
    key = comm.bcast(key, root=0)
    if rank == 2:
        assert bytes(MPIConnector(timeout=30).get(key)) == b'of rank 0'
    comm.Barrier()  # rank 2 has read before rank 0 leaves
    close_service()


if rank == 3:
    comm.bcast(None, root=0)
    comm.Barrier()
else:
    put_and_get()
comm.Barrier()  # every goodbye has been sent
MPI.Finalize()
print(f'rank {rank}: finalized', flush=True)
