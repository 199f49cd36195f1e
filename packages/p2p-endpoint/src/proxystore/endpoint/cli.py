"""``proxystore-endpoint``: configure, start, stop, list, remove and test endpoints."""

from __future__ import annotations

import typer

from proxystore.endpoint.config import log_path
from proxystore.endpoint.config import read_config
from proxystore.endpoint.errors import EndpointConfigError
from proxystore.endpoint.serve import serve

app = typer.Typer(
    help='Manage the ProxyStore endpoints of this host.',
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Manage the ProxyStore endpoints of this host."""


@app.command()
def start(name: str, detach: bool = False, log_level: str = 'INFO') -> None:
    """Start the endpoint NAME in the foreground."""
    try:
        config = read_config(name)
    except EndpointConfigError as error:
        typer.echo(f'error: {error}', err=True)
        raise typer.Exit(1) from None
    try:
        serve(config, log_level=log_level, log_file=log_path(name))
    except OSError as error:
        typer.echo(f'error: cannot serve on {config.address}: {error}', err=True)
        raise typer.Exit(1) from None


if __name__ == '__main__':
    app()
