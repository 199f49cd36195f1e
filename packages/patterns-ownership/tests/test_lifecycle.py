"""Finalizers never raise; exits, forks and lifetimes bound owned objects."""

from __future__ import annotations

import gc
import pathlib
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.connectors.redis import RedisConnector
from proxystore.ownership import ReferenceInvalidError
from proxystore.ownership import borrow
from proxystore.ownership import mark_refs_out_of_scope
from proxystore.store import Store
from proxystore.store.lifetimes import ContextLifetime
from proxystore.store.lifetimes import LeaseLifetime
from proxystore.store.utils import get_key
from proxystore.testing.redis import RedisServer


def _run(code: str, tmp_path: pathlib.Path) -> None:
    done = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'Traceback' not in done.stderr, done.stderr[-2000:]


def _objects(folder: pathlib.Path) -> list[pathlib.Path]:
    return list(folder.glob('*')) if folder.exists() else []


def test_an_owner_collected_after_its_store_closed_does_not_raise() -> None:
    # pytest turns an exception in a finalizer into a failure of this test.
    store = Store('closed-early', LocalConnector())
    owned = store.owned_proxy([1])
    ref = borrow(owned)
    store.close()
    mark_refs_out_of_scope(ref)
    del owned, ref
    gc.collect()


def test_owners_alive_at_exit_evict_their_objects(tmp_path: pathlib.Path) -> None:
    _run(
        """
        import sys
        from proxystore.connectors.file import FileConnector
        from proxystore.store import Store
        store = Store('exit', FileConnector(sys.argv[1] + '/objects', clear=False))
        kept = [store.owned_proxy(list(range(i))) for i in range(1, 4)]
        """,
        tmp_path,
    )
    assert _objects(tmp_path / 'objects') == []


def test_a_forked_child_does_not_evict_its_parents_objects(
    tmp_path: pathlib.Path,
) -> None:
    _run(
        """
        import os, sys
        from proxystore.connectors.file import FileConnector
        from proxystore.store import Store
        store = Store('fork', FileConnector(sys.argv[1] + '/objects', clear=False))
        from proxystore.ownership import borrow
        owned = store.owned_proxy([1, 2, 3])
        lent = borrow(owned)
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # a normal exit: atexit hooks and finalizers run
        os.waitpid(pid, 0)
        assert store.exists(owned.__proxy_factory__.key), 'the child evicted it'
        assert owned.__proxy_ref_count__ == 1, 'the child released a borrow'
        print(len(owned), len(lent))
        """,
        tmp_path,
    )


def test_a_context_lifetime_bounds_an_owner(store: Store[Any]) -> None:
    with ContextLifetime(store) as lifetime:
        owned = store.owned_proxy([1, 2], lifetime=lifetime)
        key = get_key(owned)
        assert owned == [1, 2]
    assert not store.exists(key)
    with pytest.raises(ReferenceInvalidError, match='lifetime of its object ended'):
        len(owned)
    with pytest.raises(ReferenceInvalidError, match='lifetime'):
        borrow(owned)
    assert 'lifetime ended' in repr(owned)
    del owned  # evicting again is harmless
    gc.collect()


def test_an_owner_can_end_before_its_lifetime(store: Store[Any]) -> None:
    with ContextLifetime(store) as lifetime:
        owned = store.owned_proxy([1], lifetime=lifetime)
        key = get_key(owned)
        del owned
        gc.collect()
        assert not store.exists(key)  # whichever ends first evicts


def test_a_lease_lifetime_expires_an_owner(store: Store[Any]) -> None:
    lifetime = LeaseLifetime(store, expiry=0.2)
    owned = store.owned_proxy([1], lifetime=lifetime)
    key = get_key(owned)
    deadline = time.monotonic() + 10
    while store.exists(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not store.exists(key)
    with pytest.raises(ReferenceInvalidError, match='lifetime'):
        owned[0]
    lifetime.close()


def test_a_static_lifetime_evicts_an_owner_at_exit(tmp_path: pathlib.Path) -> None:
    _run(
        """
        import sys
        from proxystore.connectors.file import FileConnector
        from proxystore.ownership import into_owned
        from proxystore.store import Store
        from proxystore.store.lifetimes import StaticLifetime
        store = Store('static', FileConnector(sys.argv[1] + '/objects', clear=False),
                      register=True)
        owned = store.owned_proxy([1], lifetime=StaticLifetime())
        owned.__proxy_finalizer__.detach()  # only the lifetime may evict it
        assert store.exists(owned.__proxy_factory__.key)
        """,
        tmp_path,
    )
    assert _objects(tmp_path / 'objects') == []


def test_eviction_failure_in_a_finalizer_is_logged_not_raised(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisServer(tmp_path / 'dies') as server:
        store = Store('fails', RedisConnector('127.0.0.1', server.port, retries=0))
        owned = store.owned_proxy([1])
        server.kill()  # evicting now fails: the server is gone
        del owned
        gc.collect()
        assert 'Evicting key' in caplog.text
        assert 'RedisUnavailableError' in caplog.text
        store.close()
