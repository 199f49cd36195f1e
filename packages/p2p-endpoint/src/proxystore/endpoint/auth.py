"""The endpoint REST API's guards: its token, its identity proof, its Host check.

No aiohttp here: the connector imports this module to check proofs.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import urllib.parse
from collections.abc import Callable

__all__ = ['PROOF_LABEL', 'TOKEN_HEADER', 'host_checker', 'identity_proof']

TOKEN_HEADER = 'Authorization'
PROOF_LABEL = b'proxystore-endpoint-identity-v1'


def identity_proof(token: str, uuid: str, challenge: str) -> str:
    """The endpoint's answer to ``challenge``: it proves it knows ``token``.

    ``HMAC-SHA256(token, label | uuid | challenge)`` in hex: only a server
    holding the configuration's token can compute it, and it binds the UUID
    the server claims.
    """
    message = b'\0'.join((PROOF_LABEL, uuid.encode(), challenge.encode()))
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def _hostname(host: str) -> str | None:
    try:
        name = urllib.parse.urlsplit(f'//{host}').hostname
    except ValueError:
        return None
    return None if name is None else name.rstrip('.')


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip('[]'))
    except ValueError:
        return None


def host_checker(bind_host: str) -> Callable[[str | None], bool]:
    """Which ``Host`` headers an endpoint bound to ``bind_host`` answers.

    Loopback names and addresses, and ``bind_host`` itself; when bound to
    every address (``0.0.0.0``, ``::``, empty), any IP address too. A DNS
    name other than ``localhost`` and ``bind_host`` is refused: that is what
    a DNS-rebinding web page sends.
    """
    wildcard = bind_host in ('', '0.0.0.0', '::')
    bound_address = _address(bind_host)
    bound_name = bind_host.lower().rstrip('.') if bound_address is None else None

    def allowed(header: str | None) -> bool:
        if not header:
            return False
        name = _hostname(header)
        if name is None:
            return False
        if name == 'localhost' or (bound_name is not None and name == bound_name):
            return True
        address = _address(name)
        if address is None:
            return False
        return wildcard or address.is_loopback or address == bound_address

    return allowed
