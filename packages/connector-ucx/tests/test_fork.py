"""Locks held by another thread when the process forks do not deadlock the child.

A thread of the parent holds one of the UCX connector's process-wide locks
(the clients lock, a server's connect lock, the lock of servers being
started), the main thread forks, and the child must connect to a real data
server and move an object: a child still blocked after the bound is killed and
fails the test (`ChildHungError`).

Each case runs in a fresh interpreter that never used UCX before it forks: UCX
itself does not promise to work in a child forked after it was initialised
(the test process has, by the other tests of the package), and that is not
what these tests are about.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from proxystore.testing.ucx import TEST_DEVICES
from proxystore.testing.ucx import UCXServer

pytestmark = pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')

TIMEOUT = 30  # the child starts UCX and connects: more than a lock's worth

# Holds the lock named by argv[3] in a thread, forks, and has the child put,
# get and evict an object on the server at 127.0.0.1:argv[1] (devices argv[2]).
SCRIPT = """
import sys, threading, warnings
warnings.simplefilter('ignore', DeprecationWarning)  # forking with threads: the point
from proxystore.connectors.ucx import UCXConnector, _client, _protocol
from proxystore.connectors.ucx import connector as ucx_connector
from proxystore.testing.fork import ChildHungError, run_in_fork

port, devices, which = int(sys.argv[1]), sys.argv[2], sys.argv[3]
timeout = float(sys.argv[4])

def connector():
    return UCXConnector(port, '127.0.0.1', devices=devices, spawn_server=False)

def child():
    c = connector()
    key = c.put(b'from the child')
    assert c.get(key) == b'from the child'
    c.evict(key)
    assert not c.exists(key)
    if which == 'spawn':
        c.close(kill_server=True)  # takes the lock; this process started no server

if which == 'clients':
    lock = _client._clients_lock
elif which == 'connect':
    # As a thread of this process connecting to this very server would hold it.
    c = connector()
    address = ('127.0.0.1', port, c.transports, devices, c.error_handling, None)
    lock = _client._connecting.setdefault(address, threading.Lock())
else:
    lock = ucx_connector._spawn_lock

held, release = threading.Event(), threading.Event()

def hold():
    with lock:
        held.set()
        release.wait(timeout=120)

holder = threading.Thread(target=hold, daemon=True)
holder.start()
assert held.wait(timeout=10)
try:
    run_in_fork(child, timeout)
except ChildHungError as error:
    print('HUNG', error, flush=True)
    sys.exit(3)
finally:
    release.set()
    holder.join(timeout=10)
print('OK', flush=True)
"""


@pytest.mark.parametrize('which', ['clients', 'connect', 'spawn'])
def test_lock_held_at_fork(server: UCXServer, which: str) -> None:
    environment = server.environment()  # no token: the server has none
    arguments = [str(server.port), TEST_DEVICES, which, str(TIMEOUT)]
    result = subprocess.run(
        [sys.executable, '-c', SCRIPT, *arguments],
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 60,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith('OK')
