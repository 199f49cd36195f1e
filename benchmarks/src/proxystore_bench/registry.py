"""The registry of suites: the one list the ``proxystore-bench`` CLI is made from.

To add a benchmark, write ``suites/<name>.py`` (its settings, records and
``command``) and ``suites/<name>_report.py`` (its ``REPORT``), and list it here.
"""

from __future__ import annotations

from proxystore_bench.harness.suite import Suite
from proxystore_bench.suites import budget
from proxystore_bench.suites import budget_report
from proxystore_bench.suites import endpoint
from proxystore_bench.suites import endpoint_report
from proxystore_bench.suites import memory
from proxystore_bench.suites import memory_report
from proxystore_bench.suites import mpi
from proxystore_bench.suites import mpi_report
from proxystore_bench.suites import pipelining
from proxystore_bench.suites import pipelining_report
from proxystore_bench.suites import proxy
from proxystore_bench.suites import proxy_report
from proxystore_bench.suites import store
from proxystore_bench.suites import store_report
from proxystore_bench.suites import stream
from proxystore_bench.suites import stream_report
from proxystore_bench.suites import ucx
from proxystore_bench.suites import ucx_report
from proxystore_bench.suites import workflow

__all__ = ['SUITES', 'suite']

SUITES: tuple[Suite, ...] = (
    Suite('workflow', workflow.command),
    Suite('store', store.command, store_report.REPORT),
    Suite('memory', memory.command, memory_report.REPORT),
    Suite('budget', budget.command, budget_report.REPORT),
    Suite('pipelining', pipelining.command, pipelining_report.REPORT),
    Suite('mpi', mpi.command, mpi_report.REPORT),
    Suite('ucx', ucx.command, ucx_report.REPORT),
    Suite('endpoint', endpoint.command, endpoint_report.REPORT),
    Suite('stream', stream.command, stream_report.REPORT),
    Suite('proxy', proxy.command, proxy_report.REPORT),
)
"""Every suite, in the order of ``proxystore-bench --help``."""


def suite(name: str) -> Suite:
    """The suite called ``name``.

    Raises:
        KeyError: If no suite has that name.
    """
    for candidate in SUITES:
        if candidate.name == name:
            return candidate
    raise KeyError(f'no suite {name!r}; the suites: {[s.name for s in SUITES]}')
