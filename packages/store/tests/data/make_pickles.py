"""Make the pickles of packages/store/tests/data/ (run once per implementation).

    python make_pickles.py OUT.pickle

Run with ProxyStore 1.1.0 installed for ``pickles-1.1.0.pickle`` and with this
repository's main for ``pickles-main.pickle``. Each file holds a dict of name to
(pickled bytes, expected object, key fields).
"""

import pickle
import sys

import proxystore
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store
from proxystore.store.utils import get_key

OBJECTS = {
    'list': [1, 2, 3],
    'dict': {'a': 1, 'b': [2.5, 'x']},
    'bytes': b'\x00payload\xff' * 10,
}

out = {'version': getattr(proxystore, '__version__', 'main')}
store = Store('compat', LocalConnector(), register=True)
for name, obj in OBJECTS.items():
    proxy = store.proxy(obj)
    key = get_key(proxy)
    out[f'proxy-{name}'] = (pickle.dumps(proxy), obj, tuple(key))
    out[f'key-{name}'] = (pickle.dumps(key), obj, tuple(key))
evicting = store.proxy(OBJECTS['list'], evict=True)
key = get_key(evicting)
out['proxy-evict'] = (pickle.dumps(evicting), OBJECTS['list'], tuple(key))
out['config'] = (pickle.dumps(store.config()), None, ())
with open(sys.argv[1], 'wb') as f:
    pickle.dump(out, f, protocol=4)
print(out['version'], sorted(out))
