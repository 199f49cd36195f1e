"""``proxystore-relay``: run a relay server, and manage its users' tokens."""

from __future__ import annotations

import asyncio
import logging
import pathlib
import signal
import ssl
from typing import Annotated

import typer

from proxystore.p2p.relay.auth import Authenticator
from proxystore.p2p.relay.auth import NullAuthenticator
from proxystore.p2p.relay.auth import TokenAuthenticator
from proxystore.p2p.relay.auth import new_token
from proxystore.p2p.relay.config import TOKENS_ENV
from proxystore.p2p.relay.config import RelayConfigError
from proxystore.p2p.relay.config import RelayServerConfig
from proxystore.p2p.relay.config import add_token
from proxystore.p2p.relay.config import environment_tokens
from proxystore.p2p.relay.server import RelayServer
from proxystore.p2p.stun import StunServer

app = typer.Typer(
    help='The relay (signaling) server of ProxyStore endpoints.',
    no_args_is_help=True,
    add_completion=False,
)

ConfigOption = Annotated[
    pathlib.Path | None,
    typer.Option('--config', '-c', dir_okay=False, help='Relay configuration (TOML).'),
]


@app.callback()
def main() -> None:
    """The relay (signaling) server of ProxyStore endpoints."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f'error: {message}', err=True)
    return typer.Exit(1)


async def _serve(config: RelayServerConfig, authenticator: Authenticator) -> None:
    relay = RelayServer(authenticator, max_message_bytes=config.max_message_bytes)
    context = None
    if config.certfile is not None and config.keyfile is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(config.certfile, config.keyfile)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    stun = None
    if config.stun_port is not None:
        stun = StunServer(config.host, config.stun_port)
        await stun.start()
    try:
        async with relay.serve(config.host, config.port, ssl_context=context) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            scheme = 'wss' if context else 'ws'
            typer.echo(f'relay serving on {scheme}://{config.host}:{port}', err=True)
            await stop.wait()
    finally:
        if stun is not None:
            await stun.close()


@app.command()
def serve(
    config_file: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help='Address to bind to.')] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help='Port.')] = None,
    max_message_bytes: Annotated[
        int | None, typer.Option(min=1024, help='Largest message a client may send.')
    ] = None,
    stun_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help='Also answer STUN on this UDP port.'),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option('--no-auth', help='Accept every client as one anonymous user.'),
    ] = False,
    log_level: Annotated[str, typer.Option(help='Logging level.')] = 'INFO',
) -> None:
    """Run a relay server until SIGINT or SIGTERM."""
    try:
        config = (
            RelayServerConfig()
            if config_file is None
            else RelayServerConfig.from_file(config_file)
        )
        users = {name: list(tokens) for name, tokens in config.users.items()}
        for name, tokens in environment_tokens().items():
            users.setdefault(name, []).extend(tokens)
    except RelayConfigError as error:
        raise _fail(str(error)) from None
    config.host = host or config.host
    config.port = config.port if port is None else port
    config.max_message_bytes = max_message_bytes or config.max_message_bytes
    config.stun_port = config.stun_port if stun_port is None else stun_port
    authenticator: Authenticator
    if no_auth:
        authenticator = NullAuthenticator()
    elif users:
        authenticator = TokenAuthenticator(users)
    else:
        raise _fail(
            'no tokens: add one with `proxystore-relay add-token USER --config FILE`, '
            f'set {TOKENS_ENV}=user=token, or pass --no-auth on a trusted network'
        )
    logging.basicConfig(
        level=log_level.upper(),
        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
    )
    logging.getLogger('websockets').setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(config, authenticator))
    except OSError as error:
        raise _fail(f'cannot serve on {config.host}:{config.port}: {error}') from None


@app.command('add-token')
def add_token_command(
    user: Annotated[str, typer.Argument(help='The user the token belongs to.')],
    config_file: ConfigOption = None,
) -> None:
    """Make a new token for USER, record its digest and print the token (once)."""
    if config_file is None:
        raise _fail('--config FILE is required')
    token = new_token()
    try:
        add_token(config_file, user, token)
    except RelayConfigError as error:
        raise _fail(str(error)) from None
    typer.echo(token)
    typer.echo(
        f'added a token for {user} to {config_file}; give it to the endpoints with '
        '`proxystore-endpoint configure NAME --relay-token TOKEN`',
        err=True,
    )


if __name__ == '__main__':
    app()
