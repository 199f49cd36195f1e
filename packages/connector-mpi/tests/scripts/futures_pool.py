"""Proxies through mpi4py.futures (run with ``python -m mpi4py.futures``).

The main rank sends proxies of its arrays to tasks on the worker ranks; each
task resolves its input from the main rank and returns a proxy of its result,
held by the worker, which the main rank resolves.
"""

import numpy
from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor

from proxystore.connectors.mpi import MPIConnector
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store.utils import get_factory_of_store_proxy


def task(data: numpy.ndarray) -> tuple[int, Proxy[numpy.ndarray]]:
    assert isinstance(data, Proxy), type(data)
    assert not is_resolved(data), 'resolved before use'
    rank = MPI.COMM_WORLD.Get_rank()
    # The proxy's store, re-created in this worker from its config.
    store = get_factory_of_store_proxy(data).get_store()
    return rank, store.proxy(data * 2)


if __name__ == '__main__':
    with Store('pool', MPIConnector(), register=True) as store:
        inputs = [store.proxy(numpy.arange(100_000) + i) for i in range(6)]
        with MPIPoolExecutor() as pool:
            results = list(pool.map(task, inputs))
        workers = set()
        for i, (rank, result) in enumerate(results):
            assert rank != 0
            workers.add(rank)
            assert not is_resolved(result)
            numpy.testing.assert_array_equal(result, (numpy.arange(100_000) + i) * 2)
        print(f'main: {len(results)} results from worker ranks {sorted(workers)}')
