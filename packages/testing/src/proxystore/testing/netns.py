"""A small network of Linux network namespaces with two NATs, for peering tests.

::

    hostA (10.201.1.2) -- routerA [NAT] (198.18.1.2) --+
                                                        pub: relay + STUN
    hostB (10.201.2.2) -- routerB [NAT] (198.18.2.2) --+  (198.18.1.1, 198.18.2.1)

Each router masquerades its host behind its public address (nftables), and
nothing routes to the hosts' private addresses: two endpoints on the hosts can
reach each other only through the holes their NATs open, found with STUN.
Every address lives in namespaces this module makes and removes; nothing
reaches the machine's own network. It needs root, ``ip`` and ``nft``;
`unavailable_reason` says why it cannot run where it cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

__all__ = ['NatLab', 'unavailable_reason']

PUBLIC = {'a': '198.18.1.1', 'b': '198.18.2.1'}
"""Addresses of the public namespace, as each side's router sees it."""
ROUTER = {'a': '198.18.1.2', 'b': '198.18.2.2'}
HOST = {'a': '10.201.1.2', 'b': '10.201.2.2'}
GATEWAY = {'a': '10.201.1.1', 'b': '10.201.2.1'}


# Where ip and nft live, also when the caller's PATH has no sbin folder.
_SBIN = ('/usr/local/sbin', '/usr/sbin', '/sbin')


def _find(tool: str) -> str | None:
    path = os.pathsep.join([os.environ.get('PATH', ''), *_SBIN])
    return shutil.which(tool, path=path)


def _resolve(command: Sequence[str]) -> list[str]:
    """``command`` with ip, nft or sysctl as its program given by absolute path."""
    if command and command[0] in ('ip', 'nft', 'sysctl'):
        return [_find(command[0]) or command[0], *command[1:]]
    return list(command)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _resolve(command), capture_output=True, text=True, timeout=30, check=False
    )


def unavailable_reason() -> str | None:
    """Why namespaces with NAT cannot be made here (``None``: they can)."""
    if os.geteuid() != 0:
        return 'network namespaces need root'
    for tool in ('ip', 'nft'):
        if _find(tool) is None:
            return f'{tool!r} is not installed (nftables and iproute2 are needed)'
    name = f'ps-probe-{os.getpid()}'
    made = _run('ip', 'netns', 'add', name)
    if made.returncode != 0:
        return f'cannot make a network namespace: {made.stderr.strip()}'
    try:
        table = _run(
            'ip', 'netns', 'exec', name, _find('nft') or 'nft', 'add', 'table', 'ip',
            'probe',
        )  # fmt: skip
        if table.returncode != 0:
            return f'nftables does not work in a namespace: {table.stderr.strip()}'
    finally:
        _run('ip', 'netns', 'del', name)
    return None


class NatLab:
    """The namespaces above; ``with NatLab() as lab:`` makes and removes them."""

    def __init__(self) -> None:
        tag = f'{os.getpid() % 100000}'
        self.names = {
            role: f'ps{tag}-{role}'
            for role in ('pub', 'router-a', 'router-b', 'host-a', 'host-b')
        }
        self._tag = tag
        self._made: list[str] = []

    def __enter__(self) -> NatLab:
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.teardown()

    def ns(self, role: str) -> str:
        """The namespace name of a role (``pub``, ``router-a``, ``host-b``...)."""
        return self.names[role]

    def command(self, role: str, command: Sequence[str]) -> list[str]:
        """``command`` run inside the namespace of ``role``."""
        return _resolve(['ip', 'netns', 'exec', self.names[role], *_resolve(command)])

    def _do(self, *command: str, role: str | None = None) -> None:
        full = list(command) if role is None else self.command(role, command)
        done = _run(*full)
        if done.returncode != 0:
            raise RuntimeError(f'{" ".join(full)} failed: {done.stderr.strip()}')

    def _link(self, left: str, left_name: str, right: str, right_name: str) -> None:
        a, b = f'v{self._tag}{len(self._made)}x', f'v{self._tag}{len(self._made)}y'
        self._made.append(a)
        self._do('ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b)
        for end, role, name in ((a, left, left_name), (b, right, right_name)):
            self._do('ip', 'link', 'set', end, 'netns', self.names[role])
            self._do('ip', 'link', 'set', end, 'name', name, role=role)
            self._do('ip', 'link', 'set', name, 'up', role=role)

    def setup(self) -> None:
        """Make the namespaces, links, routes and NAT rules."""
        for name in self.names.values():
            self._do('ip', 'netns', 'add', name)
        for role in self.names:
            self._do('ip', 'link', 'set', 'lo', 'up', role=role)
        for side in ('a', 'b'):
            router, host = f'router-{side}', f'host-{side}'
            self._link('pub', f'to-{side}', router, 'wan')
            self._link(router, 'lan', host, 'eth0')
            self._do(
                'ip',
                'addr',
                'add',
                f'{PUBLIC[side]}/24',
                'dev',
                f'to-{side}',
                role='pub',
            )
            self._do(
                'ip', 'addr', 'add', f'{ROUTER[side]}/24', 'dev', 'wan', role=router
            )
            self._do(
                'ip', 'addr', 'add', f'{GATEWAY[side]}/24', 'dev', 'lan', role=router
            )
            self._do('ip', 'addr', 'add', f'{HOST[side]}/24', 'dev', 'eth0', role=host)
            self._do('ip', 'route', 'add', 'default', 'via', PUBLIC[side], role=router)
            self._do('ip', 'route', 'add', 'default', 'via', GATEWAY[side], role=host)
            self._do('sysctl', '-qw', 'net.ipv4.ip_forward=1', role=router)
            # Masquerade outgoing traffic; drop unsolicited incoming traffic, as
            # a home router does, so that it never claims a mapping's ports.
            rules = (
                'table ip nat {\n'
                '  chain postrouting {\n'
                '    type nat hook postrouting priority 100;\n'
                '    oifname "wan" masquerade\n'
                '  }\n'
                '}\n'
                'table ip filter {\n'
                '  chain input {\n'
                '    type filter hook input priority 0;\n'
                '    iifname "wan" ct state new drop\n'
                '  }\n'
                '}\n'
            )
            done = subprocess.run(
                self.command(router, ['nft', '-f', '-']),
                input=rules,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f'nft failed in {router}: {done.stderr.strip()}')
        self._do('sysctl', '-qw', 'net.ipv4.ip_forward=1', role='pub')

    def teardown(self) -> None:
        """Remove the namespaces (and with them their links)."""
        for name in self.names.values():
            _run('ip', 'netns', 'del', name)
