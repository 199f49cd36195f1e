"""The UCX benchmark's second process: first a raw ucxx peer, then a data server.

Run by ``proxystore-bench ucx`` as ``python -m proxystore_bench.workers.ucx_peer``.
It accepts the measuring process on ``--raw-port``, answers raw gets and puts
until told to stop, then serves as the node's `DataServer` on
``--server-port`` until SIGTERM: both baselines and the connector move bytes
between the same two processes.
"""

from __future__ import annotations

import argparse
import socket

from proxystore.connectors.ucx.server import serve
from proxystore_bench.workers.ucx_raw import serve_raw


def main(argv: list[str] | None = None) -> int:
    """Serve raw transfers, then the data server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--raw-port', type=int, required=True)
    parser.add_argument('--server-port', type=int, required=True)
    parser.add_argument('--transports', default=None)
    parser.add_argument('--devices', default=None)
    args = parser.parse_args(argv)
    with socket.create_server(('127.0.0.1', args.raw_port)) as listener:
        listener.settimeout(120)
        sock, _ = listener.accept()
    with sock:
        serve_raw(sock, args.transports, args.devices)
    serve('127.0.0.1', args.server_port, args.transports, args.devices)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
