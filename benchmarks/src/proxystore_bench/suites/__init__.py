"""The benchmark suites, one module each (``<name>_report`` shows its records).

Every suite is listed once, in `proxystore_bench.registry.SUITES`.
"""
