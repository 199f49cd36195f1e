"""ProxyStore 1.1.0 endpoints measured in their own venv (run by `endpoint_bench`).

Run as a script by the Python of a venv with ``proxystore[endpoints]==1.1.0``;
it imports nothing of this project. It starts a 1.x relay and two 1.x
endpoints, each in a process of its own on 127.0.0.1, and prints one JSON
document: the best time of each operation through the 1.x HTTP client
(``proxystore.endpoint.client``), on the local endpoint and on the peer's keys.

Like ours in the benchmark, the 1.x endpoints offer only 127.0.0.1 as an ICE
host candidate and use no STUN server (1.x's start-up NAT check, which asks
public STUN servers, is turned off): nothing leaves this host.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any


def _v1(name: str) -> Any:
    """A module of ProxyStore 1.x (imported by name: it is not this project's)."""
    return importlib.import_module(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def _loopback_only() -> None:
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ['127.0.0.1']


def serve_relay(port: int) -> None:
    """A 1.x relay server (no authentication) until terminated."""
    from websockets.asyncio.server import serve

    authenticate = _v1('proxystore.p2p.relay.authenticate')
    server = _v1('proxystore.p2p.relay.server')

    async def main() -> None:
        relay = server.RelayServer(authenticate.NullAuthenticator())
        async with serve(relay.handler, '127.0.0.1', port):
            await asyncio.Event().wait()

    asyncio.run(main())


def serve_endpoint(spec: dict[str, Any]) -> None:
    """A 1.x endpoint (its own ``serve``) until terminated."""
    _loopback_only()
    serve_module = _v1('proxystore.endpoint.serve')
    config_module = _v1('proxystore.endpoint.config')

    async def no_nat_check() -> None:
        return None

    serve_module.check_nat_and_log = no_nat_check
    config = config_module.EndpointConfig(
        name=spec['name'],
        uuid=spec['uuid'],
        host='127.0.0.1',
        port=spec['port'],
        relay=config_module.EndpointRelayConfig(
            address=spec['relay'],
            peer_channels=spec['channels'],
            ice_servers=[],
        ),
    )
    serve_module.serve(config, log_level='WARNING')


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_http(address: str, process: subprocess.Popen[bytes]) -> None:
    requests = _v1('requests')

    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(address, timeout=2, proxies={'http': ''}).ok:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f'the 1.x endpoint at {address} did not start')
        time.sleep(0.1)


def _best(
    operation: Callable[[], float], count: int, seconds: float, repeat: int
) -> tuple[int, float]:
    # proxystore_bench.timing.best_run, repeated: this script runs in the 1.x
    # venv, where proxystore_bench is not installed.
    best: tuple[int, float] | None = None
    for _ in range(repeat):
        operation()  # warm-up
        done, spent, start = 0, 0.0, time.perf_counter()
        while done < count:
            spent += operation()
            done += 1
            if done >= 3 and time.perf_counter() - start >= seconds:
                break
        if best is None or spent / done < best[1] / best[0]:
            best = (done, spent)
    assert best is not None
    return best


def measure(options: argparse.Namespace) -> dict[str, Any]:
    """Start the relay and endpoints, time every operation, stop them."""
    requests = _v1('requests')

    client = _v1('proxystore.endpoint.client')

    relay_port = _free_port()
    processes = [_start(['--serve-relay', str(relay_port)])]
    specs = [
        {
            'name': name,
            'uuid': str(uuid.uuid4()),
            'port': _free_port(),
            'relay': f'ws://127.0.0.1:{relay_port}',
            'channels': options.channels,
        }
        for name in ('v1-local', 'v1-remote')
    ]
    results: list[dict[str, Any]] = []
    try:
        time.sleep(1.0)
        addresses = []
        for spec in specs:
            processes.append(_start(['--serve-endpoint', json.dumps(spec)]))
            addresses.append(f'http://127.0.0.1:{spec["port"]}')
        for address, process in zip(addresses, processes[1:], strict=True):
            _wait_http(address, process)
        local = addresses[0]
        remote_uuid = specs[1]['uuid']
        session = requests.Session()
        session.trust_env = False
        for size in options.sizes:
            data = bytes(size)
            for method, endpoint in (('local', None), ('peer', remote_uuid)):
                key = str(uuid.uuid4())
                client.put(local, key, data, endpoint=endpoint, session=session)

                def get(
                    key: str = key, endpoint: str | None = endpoint, size: int = size
                ) -> float:
                    start = time.perf_counter()
                    found = client.get(local, key, endpoint=endpoint, session=session)
                    elapsed = time.perf_counter() - start
                    assert found is not None
                    assert len(found) == size
                    return elapsed

                def put(endpoint: str | None = endpoint, data: bytes = data) -> float:
                    written = str(uuid.uuid4())
                    start = time.perf_counter()
                    client.put(local, written, data, endpoint=endpoint, session=session)
                    elapsed = time.perf_counter() - start
                    client.evict(local, written, endpoint=endpoint, session=session)
                    return elapsed

                for op, case in (('get', get), ('put', put)):
                    done, spent = _best(
                        case, options.count, options.seconds, options.repeat
                    )
                    results.append(
                        {
                            'op': op,
                            'method': method,
                            'size': size,
                            'operations': done,
                            'seconds': spent,
                        }
                    )
                client.evict(local, key, endpoint=endpoint, session=session)
        session.close()
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {'version': importlib.metadata.version('proxystore'), 'results': results}


def main() -> None:
    """Parse the arguments; serve a relay or an endpoint, or measure."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--serve-relay', type=int)
    parser.add_argument('--serve-endpoint')
    parser.add_argument('--sizes', default='1024')
    parser.add_argument('--count', type=int, default=300)
    parser.add_argument('--seconds', type=float, default=0.5)
    parser.add_argument('--repeat', type=int, default=1)
    parser.add_argument('--channels', type=int, default=1)
    options = parser.parse_args()
    if options.serve_relay is not None:
        serve_relay(options.serve_relay)
    elif options.serve_endpoint is not None:
        serve_endpoint(json.loads(options.serve_endpoint))
    else:
        options.sizes = [int(s) for s in options.sizes.split(',')]
        print(json.dumps(measure(options)))


if __name__ == '__main__':
    main()
