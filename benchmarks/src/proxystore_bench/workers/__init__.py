"""Worker scripts: run by path or with ``-m``, in another process or venv.

A worker imports only the standard library and the code under test (and its
sibling workers), so that it also runs in ProxyStore 1.1.0's venv or as a
peer under ``mpiexec``; ``benchmarks/tests/test_workers.py`` checks it.
"""
