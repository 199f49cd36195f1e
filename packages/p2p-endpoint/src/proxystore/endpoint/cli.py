"""``proxystore-endpoint``: configure, start, stop, list, remove and test endpoints.

Configurations live under ``$PROXYSTORE_HOME`` (default: the user's data
directory, ``~/.local/share/proxystore`` on Linux), one folder per endpoint.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sys
import urllib.parse
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import RelayConfig
from proxystore.endpoint.config import StorageConfig
from proxystore.endpoint.config import config_path
from proxystore.endpoint.config import endpoint_dir
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.config import home_dir
from proxystore.endpoint.config import log_path
from proxystore.endpoint.config import new_token
from proxystore.endpoint.config import pid_path
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.endpoint.exceptions import EndpointConfigError
from proxystore.endpoint.exceptions import EndpointError
from proxystore.endpoint.process import EndpointStatus
from proxystore.endpoint.process import answers
from proxystore.endpoint.process import endpoint_status
from proxystore.endpoint.process import read_pid
from proxystore.endpoint.process import start_detached
from proxystore.endpoint.process import stop_process
from proxystore.endpoint.process import write_pid
from proxystore.endpoint.storage import DEFAULT_MAX_OBJECT_SIZE

app = typer.Typer(
    help='Manage the ProxyStore endpoints of this host.',
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

Name = Annotated[str, typer.Argument(help='The endpoint name.')]


@app.callback()
def main() -> None:
    """Manage the ProxyStore endpoints of this host."""


def _fail(message: str) -> typer.Exit:
    errors.print(Text.assemble(('error: ', 'red'), message), soft_wrap=True)
    return typer.Exit(1)


def _config(name: str) -> EndpointConfig:
    try:
        return read_config(name)
    except EndpointConfigError as error:
        raise _fail(str(error)) from None


@app.command()
def configure(
    name: Name,
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help='HTTP port (default: random in 10240-20480).'
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help='Address the HTTP server binds to.')
    ] = '127.0.0.1',
    relay_address: Annotated[
        str | None,
        typer.Option(help='Relay server, ws:// or wss:// (default: no peering).'),
    ] = None,
    relay_token: Annotated[
        str | None, typer.Option(help='Token of your user on the relay.')
    ] = None,
    peer_channels: Annotated[
        int, typer.Option(min=1, max=64, help='Data channels per peer connection.')
    ] = 4,
    stun: Annotated[
        list[str] | None,
        typer.Option(
            help='STUN server for NAT traversal, stun:HOST:PORT (repeatable).'
        ),
    ] = None,
    host_address: Annotated[
        list[str] | None,
        typer.Option(
            help='Only offer this address as an ICE host candidate (repeatable).'
        ),
    ] = None,
    max_object_size: Annotated[
        int, typer.Option(min=1, help='Largest object in bytes.')
    ] = DEFAULT_MAX_OBJECT_SIZE,
    persist: Annotated[
        bool, typer.Option(help='Keep objects in a SQLite file across restarts.')
    ] = False,
    peer_packet_bytes: Annotated[
        int | None,
        typer.Option(
            help='Data bytes per SCTP packet to peers (default: large on '
            'loopback, 1172 elsewhere; raise it on LANs with jumbo frames).'
        ),
    ] = None,
) -> None:
    """Create the configuration of endpoint NAME."""
    try:
        path = config_path(name)
    except EndpointConfigError as error:
        raise _fail(str(error)) from None
    if path.exists():
        raise _fail(
            f'endpoint {name!r} is already configured ({path}); remove it first'
        )
    try:
        config = EndpointConfig(
            name=name,
            uuid=uuid.uuid4(),
            port=port if port is not None else random.randint(10240, 20480),
            host=host,
            token=new_token(),
            relay=RelayConfig(
                address=relay_address,
                token=relay_token,
                peer_channels=peer_channels,
                ice_servers=list(stun or []),
                host_addresses=list(host_address or []),
                peer_packet_bytes=peer_packet_bytes,
            ),
            storage=StorageConfig(
                database_path=str(endpoint_dir(name) / 'blobs.db') if persist else None,
                max_object_size=max_object_size,
            ),
        )
    except EndpointConfigError as error:
        raise _fail(str(error)) from None
    write_config(config)
    console.print(f'configured endpoint [bold]{name}[/bold] ({config.uuid}) in {path}')
    console.print(f'start it with: proxystore-endpoint start {name}')


@app.command()
def start(
    name: Name,
    detach: Annotated[
        bool, typer.Option(help='Run in the background (default) or in this terminal.')
    ] = True,
    log_level: Annotated[str, typer.Option(help='Logging level.')] = 'INFO',
) -> None:
    """Start endpoint NAME."""
    config = _config(name)
    if config.token is None:
        # A configuration from before tokens: make one, where the connector
        # finds it.
        config.token = new_token()
        write_config(config)
    pid = read_pid(name)
    if pid is not None or answers(config):
        raise _fail(
            f'endpoint {name!r} is already running'
            + (f' (pid {pid})' if pid else f' at {config.address}')
        )
    if detach:
        with console.status(f'starting endpoint {name} at {config.address}...'):
            try:
                pid = start_detached(config, log_level=log_level)
            except EndpointError as error:
                raise _fail(str(error)) from None
        console.print(
            f'endpoint [bold]{name}[/bold] running at {config.address} (pid {pid}); '
            f'log: {log_path(name)}'
        )
        return
    from proxystore.endpoint.serve import serve

    # Whatever this process creates (database, log, files of libraries) is the
    # user's only.
    os.umask(0o077)
    pid_file = write_pid(name)
    try:
        serve(config, log_level=log_level, log_file=log_path(name))
    except OSError as error:
        raise _fail(f'cannot serve on {config.address}: {error}') from None
    finally:
        if pid_file.exists() and pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink()


@app.command()
def stop(name: Name) -> None:
    """Stop endpoint NAME."""
    _config(name)
    pid = read_pid(name)
    if pid is None:
        raise _fail(f'endpoint {name!r} is not running')
    with console.status(f'stopping endpoint {name} (pid {pid})...'):
        stop_process(pid)
    pid_path(name).unlink(missing_ok=True)
    console.print(f'stopped endpoint [bold]{name}[/bold] (pid {pid})')


@app.command('list')
def list_() -> None:
    """List the configured endpoints and whether they run."""
    configs = get_configs()
    if not configs:
        console.print(f'no endpoints configured in {home_dir()}')
        return
    table = Table(title=f'endpoints in {home_dir()}')
    for column in ('NAME', 'STATUS', 'UUID', 'ADDRESS', 'RELAY'):
        table.add_column(column)
    colours = {
        EndpointStatus.RUNNING: 'green',
        EndpointStatus.STOPPED: 'dim',
        EndpointStatus.HANGING: 'yellow',
    }
    for config in configs:
        status = endpoint_status(config)
        table.add_row(
            config.name,
            f'[{colours[status]}]{status.value}[/]',
            str(config.uuid),
            config.address,
            config.relay.address or '-',
        )
    console.print(table)


@app.command()
def remove(name: Name) -> None:
    """Remove endpoint NAME's configuration, log and stored objects."""
    config = _config(name)
    if endpoint_status(config) is not EndpointStatus.STOPPED:
        raise _fail(f'endpoint {name!r} is running; stop it first')
    shutil.rmtree(endpoint_dir(name))
    console.print(f'removed endpoint [bold]{name}[/bold]')


@app.command('check-nat')
def check_nat(
    stun: Annotated[
        list[str],
        typer.Option(
            help='STUN server, stun:HOST:PORT (give two to detect a symmetric NAT).'
        ),
    ],
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help='Local UDP port to test from (0: any).'),
    ] = 0,
) -> None:
    """Find the kind of NAT this host is behind, with STUN servers."""
    from proxystore.p2p.nat import NatType
    from proxystore.p2p.nat import check_nat as run_check
    from proxystore.p2p.stun import StunError

    with console.status('asking the STUN servers...'):
        try:
            report = asyncio.run(run_check(stun, source_port=port))
        except (StunError, OSError) as error:
            raise _fail(str(error)) from None
    console.print(report.summary(), highlight=False)
    if report.nat_type is NatType.SYMMETRIC:
        console.print(
            '[yellow]peering through a symmetric NAT needs a TURN server[/yellow]'
        )


@app.command('test')
def run_test(
    name: Name,
    op: Annotated[str, typer.Argument(help='get, put, exists or evict.')],
    value: Annotated[
        str, typer.Argument(help='The key (get, exists, evict) or the data (put).')
    ],
    remote: Annotated[
        str | None, typer.Option(help='UUID of the endpoint that owns the key.')
    ] = None,
) -> None:
    """Run one operation against endpoint NAME (or a peer with --remote)."""
    from proxystore.connectors.endpoint import _http
    from proxystore.connectors.endpoint.exceptions import EndpointConnectorError

    config = _config(name)
    parsed = urllib.parse.urlsplit(config.address)
    assert parsed.hostname is not None
    assert parsed.port is not None
    routes = {
        'get': ('GET', '/get'),
        'put': ('POST', '/set'),
        'exists': ('GET', '/exists'),
        'evict': ('POST', '/evict'),
    }
    if op not in routes:
        raise _fail(f'unknown operation {op!r}: use get, put, exists or evict')
    method, route = routes[op]
    key = str(uuid.uuid4()) if op == 'put' else value
    params = {'key': key}
    if remote:
        params['endpoint'] = remote
    frames = [memoryview(value.encode())] if op == 'put' else []
    try:
        response = _http.request(
            parsed.hostname,
            parsed.port,
            method,
            route,
            params,
            frames,
            timeout=60,
            headers={}
            if config.token is None
            else {'Authorization': f'Bearer {config.token}'},
        )
        _http.raise_for_status(response, f'{op} of {key}')
    except EndpointConnectorError as error:
        raise _fail(str(error)) from None
    if op == 'put':
        console.print(f'stored under key {key}', highlight=False)
    elif op == 'get':
        if response.status == 404:
            raise _fail(f'no object under key {key!r}')
        sys.stdout.buffer.write(bytes(response.body) + b'\n')
    elif op == 'exists':
        console.print(str(json.loads(response.body)['exists']).lower())
    else:
        console.print(f'evicted {key}', highlight=False)


if __name__ == '__main__':
    app()
