"""Test helpers shared by ProxyStore's packages (and by connector authors).

- `proxystore.testing.connector_contract`: `ConnectorContract`, the tests every
  connector must pass; subclass it and provide a ``connector`` fixture.
- `proxystore.testing.tasks`: module-level task functions, importable by worker
  processes (spawn), for cross-process tests.
"""
