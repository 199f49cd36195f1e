"""MPI tests: ``mpi/`` runs under ``mpiexec`` (the mpi nox session); the rest
launches ``mpiexec`` jobs of its own."""

from __future__ import annotations

import os

# Outside mpiexec, the collective tests are not collected (nor is MPI started
# in the test process).
_LAUNCHED = ('PMI_RANK', 'PMIX_RANK', 'OMPI_COMM_WORLD_RANK')
collect_ignore = [] if any(v in os.environ for v in _LAUNCHED) else ['mpi']
