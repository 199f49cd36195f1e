"""``proxystore-ucx-server``: start, stop and look at a node's UCX data server."""

from __future__ import annotations

import logging
import os
import pathlib
import sys
from typing import Annotated

import typer

from proxystore.connectors.ucx import _launch
from proxystore.connectors.ucx._auth import MAX_TOKEN
from proxystore.connectors.ucx._auth import as_token
from proxystore.connectors.ucx._auth import environment_token
from proxystore.connectors.ucx._client import ping
from proxystore.connectors.ucx.exceptions import UCXConnectorError
from proxystore.connectors.ucx.server import DataServer
from proxystore.connectors.ucx.server import serve

app = typer.Typer(
    help="Run this node's UCX data server for ProxyStore's UCXConnector.",
    no_args_is_help=True,
    add_completion=False,
)

DEFAULT_PORT = 13740

Address = Annotated[
    str,
    typer.Option(help='Address to bind the control socket to (and reach it at).'),
]
Port = Annotated[int, typer.Option(min=1, max=65535, help='Control socket port.')]
Transports = Annotated[
    str | None,
    typer.Option(help="UCX transports (UCX_TLS), e.g. 'tcp,sm,self'; default: UCX's."),
]
Devices = Annotated[
    str | None,
    typer.Option(help="Network devices UCX may use (UCX_NET_DEVICES), e.g. 'lo'."),
]


@app.callback()
def main() -> None:
    """Run this node's UCX data server for ProxyStore's UCXConnector."""


@app.command()
def start(
    address: Address = '127.0.0.1',
    port: Port = DEFAULT_PORT,
    transports: Transports = None,
    devices: Devices = None,
    detach: Annotated[
        bool, typer.Option(help='Run in the background and return once it answers.')
    ] = False,
    log: Annotated[
        pathlib.Path | None,
        typer.Option(dir_okay=False, help='Log file of a detached server.'),
    ] = None,
    log_level: Annotated[str, typer.Option(help='Logging level.')] = 'INFO',
    token_stdin: Annotated[
        bool,
        typer.Option(
            help='Read the token from standard input (raw bytes, up to 4096) '
            'instead of PROXYSTORE_UCX_TOKEN.'
        ),
    ] = False,
    capacity: Annotated[
        int | None,
        typer.Option(
            min=1,
            help='Most bytes of objects the server holds in memory; puts over '
            'it spill to --spill-directory, or are refused (UCXStoreFullError). '
            'Default: as many as fit in memory.',
        ),
    ] = None,
    spill_directory: Annotated[
        pathlib.Path | None,
        typer.Option(
            file_okay=False,
            help='Folder on disk for the least recently used objects when a put '
            'would cross --capacity; they are read back on get.',
        ),
    ] = None,
) -> None:
    """Start a data server (in the foreground unless --detach).

    With PROXYSTORE_UCX_TOKEN set, the server serves only clients that prove
    they know that token; without it, any client that connects.
    """
    if spill_directory is not None and capacity is None:
        typer.echo('error: --spill-directory needs a --capacity', err=True)
        raise typer.Exit(1)
    try:
        if token_stdin:
            token = as_token(sys.stdin.buffer.read(MAX_TOKEN + 1), 'the token')
        else:
            token = environment_token()
    except ValueError as error:
        typer.echo(f'error: {error}', err=True)
        raise typer.Exit(1) from None
    if detach:
        try:
            process = _launch.start_process(
                address,
                port,
                transports,
                devices,
                timeout=30.0,
                log=log,
                token=token,
                capacity=capacity,
                spill_directory=None
                if spill_directory is None
                else str(spill_directory),
            )
        except UCXConnectorError as error:
            typer.echo(f'error: {error}', err=True)
            raise typer.Exit(1) from None
        if process is None:
            typer.echo(f'a UCX data server already answers at {address}:{port}')
        else:
            typer.echo(
                f'UCX data server started at {address}:{port} (pid {process.pid})'
            )
        return
    logging.basicConfig(
        level=log_level.upper(),
        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
    )
    logging.captureWarnings(True)  # the warning of a server without a token
    state: list[pathlib.Path] = []

    def ready(server: DataServer) -> None:
        state.append(_launch.write_state(server.address, server.port))

    try:
        serve(
            address,
            port,
            transports,
            devices,
            ready=ready,
            token=token,
            capacity=capacity,
            spill_directory=None if spill_directory is None else str(spill_directory),
        )
    except OSError as error:
        typer.echo(f'error: cannot serve on {address}:{port}: {error}', err=True)
        raise typer.Exit(1) from None
    finally:
        for path in state:
            current = _launch.read_state(port)
            if current is not None and current.get('pid') == os.getpid():
                path.unlink(missing_ok=True)


@app.command()
def stop(port: Port = DEFAULT_PORT) -> None:
    """Stop the data server on PORT that was started on this node."""
    pid = _launch.stop_process(port)
    if pid is None:
        typer.echo(f'no UCX data server of this user runs on port {port} here')
        raise typer.Exit(1)
    typer.echo(f'stopped the UCX data server on port {port} (pid {pid})')


@app.command()
def status(address: Address = '127.0.0.1', port: Port = DEFAULT_PORT) -> None:
    """Whether a data server answers at ADDRESS:PORT, and what it holds."""
    try:
        pid, objects, size = ping(address, port, timeout=5.0)
    except UCXConnectorError as error:
        typer.echo(f'not running: {error}')
        raise typer.Exit(1) from None
    typer.echo(
        f'running at {address}:{port} (pid {pid}): {objects} objects, {size} bytes'
    )


if __name__ == '__main__':
    app()
