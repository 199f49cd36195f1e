"""Test helpers of ProxyStore, shipped as their own distribution.

``pip install proxystore-testing`` gives connector authors the contract suite
(`proxystore.testing.connector_contract`); its extras add the real servers that
the tests of each package start (``redis``, ``ucx``, ``endpoint``), the task
functions of the patterns (``futures``, ``ownership``, ``stream``) and the Dask
cluster of `proxystore.testing.engines` (``engines``). Each helper imports its
optional libraries in its own module only, so `connector_contract`, `ports`,
`processes` and `tasks` need nothing beyond ``proxystore-store``.

No production wheel ships this package.
"""
