"""``proxystore store ls | du | evict``: what a channel holds, and removing it.

One command line over any store or connector config. The channel is named by
a store config file (``--config store.toml``, as `StoreConfig.write_toml`
writes it) or by a connector kind and its options (``--connector redis -o
hostname=127.0.0.1 -o port=6379``; values are read as JSON where they parse,
else as text): the options of its config (``from_config``). The connector must
be a `ListableConnector`.

The command opens the channel as a reader: it never becomes the channel's
owner, so closing it clears nothing (``clear=False`` is passed to connectors
that take it). ``evict`` removes only objects that the listing shows, chosen
by key, age or size, and asks before removing unless ``--yes``.
"""

from __future__ import annotations

import collections
import inspect
import json
import pathlib
import time
from collections.abc import Iterator
from typing import Annotated
from typing import Any
from typing import Protocol
from typing import runtime_checkable

import typer
from rich.console import Console
from rich.table import Table

from proxystore.connectors.protocols import ConnectorError
from proxystore.connectors.protocols import ListableConnector
from proxystore.connectors.protocols import StoredObject
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import CommandLineError

__all__ = ['app', 'main', 'open_connector']

app = typer.Typer(
    help='ProxyStore command line.', no_args_is_help=True, add_completion=False
)
store_app = typer.Typer(
    help='What a store holds: list, total and evict its objects.',
    no_args_is_help=True,
)
app.add_typer(store_app, name='store')

_console = Console()
_errors = Console(stderr=True)

ConfigOption = Annotated[
    pathlib.Path | None,
    typer.Option('--config', '-c', help='A store config file (TOML).'),
]
ConnectorOption = Annotated[
    str | None,
    typer.Option(
        '--connector', '-k', help='A connector kind (file, shm, redis, endpoint, ...).'
    ),
]
Options = Annotated[
    list[str] | None,
    typer.Option('--option', '-o', help='A connector option, NAME=VALUE (repeatable).'),
]
JsonOption = Annotated[bool, typer.Option('--json', help='Print JSON.')]


@runtime_checkable
class _Listing(ListableConnector[Any], Protocol):
    """What the commands need of a connector."""

    def evict(self, key: Any) -> None: ...

    def close(self) -> None: ...


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_options(options: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for option in options:
        name, found, value = option.partition('=')
        if not found or not name:
            raise CommandLineError(f'Invalid option {option!r}: write NAME=VALUE.')
        parsed[name] = _value(value)
    return parsed


def _as_reader(kind: type[Any], options: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(kind).parameters
    except (TypeError, ValueError):  # pragma: no cover - no signature
        return options
    if 'clear' in parameters:
        return {**options, 'clear': False}
    return options


def open_connector(
    config: pathlib.Path | None,
    connector: str | None,
    options: list[str] | None = None,
) -> _Listing:
    """The connector a command names, opened as a reader (it clears nothing).

    Raises:
        CommandLineError: If neither or both of ``config`` and ``connector`` are given,
            an option is malformed, or the connector cannot list its objects.
    """
    if (config is None) == (connector is None):
        raise CommandLineError(
            'Name the channel with --config FILE or --connector KIND.'
        )
    if config is not None:
        if options:
            raise CommandLineError('--option goes with --connector, not with --config.')
        try:
            connector_config = StoreConfig.from_toml(config).connector
        except OSError as error:
            raise CommandLineError(
                f'Cannot read the store config {config}: {error}'
            ) from None
    else:
        assert connector is not None
        connector_config = ConnectorConfig(
            kind=connector, options=_parse_options(options or [])
        )
    kind = connector_config.get_connector_type()
    try:
        made = kind.from_config(_as_reader(kind, dict(connector_config.options)))
    except TypeError as error:
        raise CommandLineError(
            f'Invalid options for {kind.__name__}: {error}'
        ) from None
    if not isinstance(made, _Listing):
        made.close()
        raise CommandLineError(
            f'{kind.__name__} cannot list its objects (it is not a '
            'ListableConnector): ls, du and evict need a connector that can.'
        )
    return made


def _close(connector: Any) -> None:
    try:
        connector.close(clear=False)
    except TypeError:
        connector.close()


def _name(obj: StoredObject) -> str:
    """A key as the commands show and take it: its first field.

    A key wrapping another (`MultiKey`: a connector's name and its key) shows
    as ``name/inner``.
    """
    key: Any = obj.key
    parts: list[str] = []
    while len(key) >= 2 and isinstance(key[1], tuple):
        parts.append(str(key[0]))
        key = key[1]
    parts.append(str(key[0]))
    return '/'.join(parts)


def _size(size: int) -> str:
    value = float(size)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if value < 1024 or unit == 'TiB':
            return f'{value:.0f} {unit}' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1024
    raise AssertionError('unreachable')  # pragma: no cover


def _age(age: float | None) -> str:
    if age is None:
        return '-'
    for unit, seconds in (('d', 86400), ('h', 3600), ('m', 60)):
        if age >= seconds:
            return f'{age / seconds:.1f}{unit}'
    return f'{age:.0f}s'


def _record(obj: StoredObject) -> dict[str, Any]:
    return {
        'key': _name(obj),
        'size': obj.size,
        'age': obj.age,
        'owner': obj.owner,
        'spilled': obj.spilled,
    }


def _run(command: Any) -> Any:
    try:
        return command()
    except ValueError as error:  # CommandLineError, pydantic's, unknown kinds
        _errors.print(f'error: {error}', highlight=False)
        raise typer.Exit(2) from None
    except ConnectorError as error:
        _errors.print(f'error: {type(error).__name__}: {error}', highlight=False)
        raise typer.Exit(1) from None


def _listing(
    config: pathlib.Path | None, connector: str | None, options: list[str] | None
) -> Iterator[StoredObject]:
    opened = open_connector(config, connector, options)
    try:
        yield from opened.list_objects()
    finally:
        _close(opened)


@store_app.command('ls')
def ls(
    config: ConfigOption = None,
    connector: ConnectorOption = None,
    option: Options = None,
    sort: Annotated[
        str, typer.Option(help='Sort by key, size or age (largest, oldest first).')
    ] = 'key',
    limit: Annotated[
        int | None, typer.Option(min=1, help='Show at most this many.')
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the objects of a channel: key, size, age, owner, spilled."""

    def command() -> None:
        if sort not in ('key', 'size', 'age'):
            raise CommandLineError(f'--sort must be key, size or age, not {sort!r}.')
        objects = list(_listing(config, connector, option))
        order = {
            'key': lambda o: (_name(o),),
            'size': lambda o: (-o.size, _name(o)),
            'age': lambda o: (-(o.age or 0.0), _name(o)),
        }[sort]
        objects.sort(key=order)
        shown = objects[:limit] if limit is not None else objects
        if as_json:
            typer.echo(json.dumps([_record(o) for o in shown], indent=2))
            return
        table = Table('key', 'size', 'age', 'owner', 'spilled', box=None)
        for obj in shown:
            table.add_row(
                _name(obj),
                _size(obj.size),
                _age(obj.age),
                obj.owner or '-',
                'yes' if obj.spilled else 'no',
            )
        _console.print(table)
        more = len(objects) - len(shown)
        tail = f' ({more} more not shown)' if more else ''
        _console.print(
            f'{len(objects)} objects, {_size(sum(o.size for o in objects))}{tail}',
            highlight=False,
        )

    _run(command)


@store_app.command('du')
def du(
    config: ConfigOption = None,
    connector: ConnectorOption = None,
    option: Options = None,
    as_json: JsonOption = False,
) -> None:
    """Total objects and bytes of a channel, by owner and spilled or not."""

    def command() -> None:
        objects = list(_listing(config, connector, option))
        owners: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
        for obj in objects:
            entry = owners[obj.owner or '-']
            entry[0] += 1
            entry[1] += obj.size
        spilled = [o for o in objects if o.spilled]
        size = sum(o.size for o in objects)
        spilled_size = sum(o.size for o in spilled)
        total = {
            'objects': len(objects),
            'bytes': size,
            'spilled_objects': len(spilled),
            'spilled_bytes': spilled_size,
            'owners': {k: {'objects': v[0], 'bytes': v[1]} for k, v in owners.items()},
        }
        if as_json:
            typer.echo(json.dumps(total, indent=2))
            return
        table = Table('owner', 'objects', 'size', box=None)
        for owner, (count, owned) in sorted(owners.items()):
            table.add_row(owner, str(count), _size(owned))
        _console.print(table)
        _console.print(
            f'total: {len(objects)} objects, {_size(size)} '
            f'({len(spilled)} spilled, {_size(spilled_size)})',
            highlight=False,
        )

    _run(command)


@store_app.command('evict')
def evict(
    keys: Annotated[
        list[str] | None, typer.Argument(help='Keys to evict (as ls shows them).')
    ] = None,
    config: ConfigOption = None,
    connector: ConnectorOption = None,
    option: Options = None,
    all_objects: Annotated[
        bool, typer.Option('--all', help='Every object the listing shows.')
    ] = False,
    older_than: Annotated[
        float | None,
        typer.Option(min=0, help='Objects older than this many seconds.'),
    ] = None,
    larger_than: Annotated[
        int | None, typer.Option(min=0, help='Objects larger than this many bytes.')
    ] = None,
    yes: Annotated[bool, typer.Option('--yes', '-y', help='Do not ask.')] = False,
) -> None:
    """Evict objects of a channel, chosen by key, age or size."""

    def command() -> None:
        wanted = set(keys or [])
        if not (wanted or all_objects or older_than is not None or larger_than):
            raise CommandLineError(
                'Choose what to evict: keys, --all, --older-than or --larger-than.'
            )
        if wanted and all_objects:
            raise CommandLineError('Give keys or --all, not both.')
        opened = open_connector(config, connector, option)
        try:
            chosen = [
                obj
                for obj in opened.list_objects()
                if (all_objects or not wanted or _name(obj) in wanted)
                and (
                    older_than is None or (obj.age is not None and obj.age > older_than)
                )
                and (larger_than is None or obj.size > larger_than)
            ]
            missing = wanted - {_name(o) for o in chosen}
            if missing and not (older_than is not None or larger_than is not None):
                raise CommandLineError(
                    f'No object under {", ".join(sorted(missing))} in the channel '
                    '(ls shows its keys).'
                )
            size = sum(o.size for o in chosen)
            if not chosen:
                _console.print('nothing to evict', highlight=False)
                return
            if not yes and not typer.confirm(
                f'Evict {len(chosen)} objects ({_size(size)})?'
            ):
                raise typer.Exit(1)
            started = time.monotonic()
            for obj in chosen:
                opened.evict(obj.key)
            _console.print(
                f'evicted {len(chosen)} objects ({_size(size)}) in '
                f'{time.monotonic() - started:.2f} s',
                highlight=False,
            )
        finally:
            _close(opened)

    _run(command)


def main() -> None:
    """Run the ``proxystore`` command line."""
    app()


if __name__ == '__main__':
    main()
