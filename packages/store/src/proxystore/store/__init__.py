"""The Store: put objects into a mediated channel and get proxies of them.

```python
from proxystore.connectors.file import FileConnector
from proxystore.store import Store

with Store('demo', FileConnector('/tmp/proxystore-demo')) as store:
    proxy = store.proxy([1, 2, 3])
    assert sum(proxy) == 6
```

The registry functions find a store by name in this process (`is_registered`
asks whether one is); a proxy resolved in another process re-creates its store
there from the config it carries.
"""

from __future__ import annotations

from proxystore.store._locate import get_or_create_store
from proxystore.store._locate import get_store
from proxystore.store._registry import is_registered
from proxystore.store._registry import register_store
from proxystore.store._registry import store_registration
from proxystore.store._registry import unregister_store
from proxystore.store.base import Store
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import ProxyStoreFactoryError  # noqa: F401 - 1.x path
from proxystore.store.exceptions import StoreExistsError  # noqa: F401 - 1.x path
from proxystore.store.factory import PollingStoreFactory
from proxystore.store.factory import StoreFactory
from proxystore.store.factory import _rebuild  # noqa: F401 - unpickling names it here
from proxystore.store.timer import Timer

__all__ = [
    'ConnectorConfig',
    'PollingStoreFactory',
    'Store',
    'StoreConfig',
    'StoreFactory',
    'Timer',
    'get_or_create_store',
    'get_store',
    'is_registered',
    'register_store',
    'store_registration',
    'unregister_store',
]
