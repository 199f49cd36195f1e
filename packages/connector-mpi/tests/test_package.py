"""The package's shape: public names and paths as before the split, pickles.

Checked in a child process: MPI is not started in the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys

_CHECK = r"""
import json, pickle
import proxystore.connectors.mpi as package
from proxystore.connectors.mpi import MPIKey
from proxystore.connectors.mpi._protocol import REQUEST, Tags, Op, Status
from proxystore.store.config import ConnectorConfig

key = MPIKey(1, 'ab' * 16, 5)
print(json.dumps({
    'all': sorted(package.__all__),
    'modules': {n: getattr(package, n).__module__ for n in package.__all__},
    'default_timeout': package.DEFAULT_TIMEOUT,
    'pickle_path': b'proxystore.connectors.mpi\x94\x8c\x06MPIKey' in pickle.dumps(key),
    'round_trip': pickle.loads(pickle.dumps(key)) == key,
    'by_path': pickle.loads(
        b'\x80\x02cproxystore.connectors.mpi\nMPIKey\nK\x01X\x02\x00\x00\x00abK\x05'
        b'\x87\x81.'
    ) == MPIKey(1, 'ab', 5),
    'kind': ConnectorConfig(kind='mpi').get_connector_type() is package.MPIConnector,
    'request_size': REQUEST.size,
}))
"""


def test_public_names_paths_and_pickles() -> None:
    result = subprocess.run(
        [sys.executable, '-c', _CHECK],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.splitlines()[-1])
    assert found['all'] == [
        'MPIConnector',
        'MPIConnectorError',
        'MPIKey',
        'MPIProtocolError',
        'MPIRankGoneError',
        'MPIStoreFullError',
        'MPITimeoutError',
        'close_service',
    ]
    assert set(found['modules'].values()) == {'proxystore.connectors.mpi'}
    assert found['default_timeout'] == 60.0
    assert found['pickle_path']
    assert found['round_trip']
    assert found['by_path']
    assert found['kind']
    assert found['request_size'] == 32
