"""Futures of proxied objects: results that do not exist yet.

A `Future` names a place in a store before its object exists. Producers set the
result (or an exception) from any process; consumers wait for it with
`Future.result`, or pass `Future.proxy` to tasks that block only when they first
touch it, so tasks can be submitted before the data they depend on exists.

```python
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store

with Store('example', LocalConnector()) as store:
    future = store.future()
    proxy = future.proxy()
    future.set_result([1, 2, 3])
    assert sum(proxy) == 6
```

Compatible with ProxyStore 1.x's ``proxystore.store.future`` (which re-exports
this module).
"""

from __future__ import annotations

from proxystore.futures._errors import FutureTimeoutError
from proxystore.futures._errors import ProducerError
from proxystore.futures._factory import FutureFactory
from proxystore.futures._future import Future

__all__ = ['Future', 'FutureFactory', 'FutureTimeoutError', 'ProducerError']

# Shown (and pickled) by their public path.
for _public in (Future, FutureFactory, FutureTimeoutError, ProducerError):
    _public.__module__ = __name__
del _public
