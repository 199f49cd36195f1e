"""The request and reply headers: checked before anything is allocated for them.

Checked in a child process: MPI is not started in the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys

_CHECK = r"""
import json
from proxystore.connectors.mpi import MPIConnectorError, MPIProtocolError
from proxystore.connectors.mpi._protocol import (
    REPLY, REQUEST, Op, Status, decode_reply, decode_request,
)

ID = bytes(range(16))

def error(function, *args):
    try:
        function(*args)
    except MPIProtocolError as e:
        return [isinstance(e, MPIConnectorError), str(e)]
    return None

print(json.dumps({
    'set': list(decode_request(REQUEST.pack(Op.SET, 7, 3, ID), 10))[:3],
    'get': list(decode_request(REQUEST.pack(Op.GET, 7, -1, ID), 10))[:3],
    'huge_set': error(decode_request, REQUEST.pack(Op.SET, 7, 2**62, ID), 2**40),
    'negative_set': error(decode_request, REQUEST.pack(Op.SET, 7, -5, ID), 10),
    'bad_get': error(decode_request, REQUEST.pack(Op.GET, 7, -2, ID), 10),
    'unknown_op': error(decode_request, REQUEST.pack(9, 7, 0, ID), 10),
    'short': error(decode_request, REQUEST.pack(Op.GET, 7, 0, ID)[:-1], 10),
    'reply': list(decode_reply(REPLY.pack(Status.FOUND, 3), 10)),
    'huge_reply': error(decode_reply, REPLY.pack(Status.FOUND, 2**63), 2**40),
    'unknown_status': error(decode_reply, REPLY.pack(7, 0), 10),
    'long_reply': error(decode_reply, REPLY.pack(Status.DONE, 0) + b'\0', 10),
}))
"""


def test_headers_are_checked_with_typed_errors() -> None:
    # Fuzz finding: a set request announcing 2**62 bytes made the service
    # allocate bytearray(2**62) (MemoryError, logged), and a reply announcing
    # 2**63 bytes raised an untyped error in the requester.
    result = subprocess.run(
        [sys.executable, '-c', _CHECK],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found['set'][1:3] == [7, 3]
    assert found['get'][2] == -1
    assert found['huge_set'] == [
        True,
        f'A set request of {2**62} bytes (this rank takes 0 to {2**40}).',
    ]
    assert (
        found['negative_set'][1]
        == 'A set request of -5 bytes (this rank takes 0 to 10).'
    )
    assert found['bad_get'][1] == 'A get request expecting -2 bytes.'
    assert found['unknown_op'][1] == 'A request of unknown operation 9.'
    assert found['short'][1] == 'A request header has 32 bytes, not 31.'
    assert found['reply'] == [1, 3]
    assert found['huge_reply'][1].startswith(f'A reply announces {2**63} bytes')
    assert found['unknown_status'][1].startswith('A reply of unknown status 7')
    assert found['long_reply'][1] == 'A reply header has 16 bytes, not 17.'
