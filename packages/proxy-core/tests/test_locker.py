from __future__ import annotations

import pickle

import pytest

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyLocker
from proxystore.proxy import is_resolved


def test_locker_hides_the_proxy_until_unlocked() -> None:
    proxy = Proxy(SimpleFactory([1]))
    locker = ProxyLocker(proxy)
    with pytest.raises(
        AttributeError, match='Cannot access proxy attribute of a Locker'
    ):
        locker._proxy  # noqa: B018
    assert 'ProxyLocker' in repr(locker)
    assert locker.unlock() is proxy
    assert not is_resolved(proxy)


def test_locker_pickles_without_resolving() -> None:
    proxy = Proxy(SimpleFactory([1]))
    locker = pickle.loads(pickle.dumps(ProxyLocker(proxy)))
    unlocked = locker.unlock()
    assert isinstance(unlocked, Proxy)
    assert not is_resolved(unlocked)
    assert unlocked == [1]
