"""A proxy that ends up wrapping itself raises RecursionError, never crashes.

Each case runs in a fresh interpreter, so that a regression to a C stack
overflow fails one test instead of killing the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from proxystore.proxy import IMPLEMENTATION

SETUP = """
import sys
from proxystore.proxy import Proxy
sys.setrecursionlimit(500)

class Loop(Proxy):
    __slots__ = ()
    @property
    def __proxy_wrapped__(self):
        return self

def cycle():
    a = Proxy(lambda: 1)
    b = Proxy(lambda: a)
    a.__proxy_wrapped__ = b
    return a

def self_target():
    p = Proxy(lambda: 1)
    p.__proxy_wrapped__ = p
    return p

maker = {maker}
p = maker()
try:
    {operation}
except RecursionError:
    print('RecursionError')
"""

MAKERS = ['lambda: Loop(int)', 'cycle', 'self_target']
OPERATIONS = [
    'p + 1',
    '1 + p',
    '-p',
    'len(p)',
    'bool(p)',
    'p[0]',
    'iter(p)',
    'hash(p)',
    'p.real',
    'int(p)',
    'str(p)',
    'p()',
    'p == 1',
    '1 in p',
    'pow(p, 2, 3)',
    'p += 1',
]
if IMPLEMENTATION == 'c':
    OPERATIONS.append('memoryview(p)')


@pytest.mark.parametrize('maker', MAKERS)
def test_self_wrapping_proxy_raises_recursion_error(maker: str) -> None:
    for operation in OPERATIONS:
        code = SETUP.format(maker=maker, operation=operation)
        done = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=dict(os.environ),
        )
        assert done.returncode == 0, (operation, done.returncode, done.stderr[-500:])
        assert done.stdout.strip() == 'RecursionError', (operation, done.stderr[-500:])
