"""The run's configuration: pydantic models, read from TOML and/or flags.

A TOML file holds the same fields as `RunConfig`:

```toml
app = "cholesky"

[params]
matrix_size = 1000
block_size = 250

[executor]
kind = "process"
workers = 2

[data]
mode = "proxy"
connector = "shm"

[data.filter]
kind = "size"
min_bytes = 10000
```

Flags override the file field by field (`load_config`). Names of apps,
executors and connectors are checked against what is installed by
`proxystore_apps.runner.resolve`.
"""

from __future__ import annotations

import pathlib
import tomllib
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import model_validator

from proxystore_apps.errors import ConfigError
from proxystore_apps.errors import InvalidParameterError

__all__ = [
    'DataConfig',
    'ExecutorConfig',
    'FilterConfig',
    'RunConfig',
    'deep_merge',
    'describe_validation_error',
    'load_config',
]


class _Model(BaseModel):
    model_config = ConfigDict(extra='forbid', validate_assignment=True)


class FilterConfig(_Model):
    """Which objects go by proxy when the data mode is ``proxy``.

    Attributes:
        kind: ``all`` (every object that can be proxied), ``size`` (objects of
            at least `min_bytes`) or ``type`` (objects whose class name, or
            qualified name, is in `types`).
        min_bytes: Smallest object proxied by the ``size`` filter.
        types: Class names proxied by the ``type`` filter (``ndarray`` or
            ``numpy.ndarray``).
    """

    kind: Literal['all', 'size', 'type'] = 'size'
    min_bytes: int = Field(default=10_000, ge=0)
    types: list[str] = Field(default_factory=list)

    @model_validator(mode='after')
    def _types_for_type_filter(self) -> FilterConfig:
        if self.kind == 'type' and not self.types:
            raise ValueError(
                'the type filter needs at least one type name (e.g. types = '
                '["ndarray"], or --filter-type ndarray)',
            )
        return self


class DataConfig(_Model):
    """How data moves between tasks.

    Attributes:
        mode: ``value`` (through the engine) or ``proxy`` (through a store).
        connector: Kind of the store's connector: an installed connector's
            entry-point name (``shm``, ``file``, ``redis``, ``mpi``, ...).
        options: Keyword options of the connector (``store_dir`` for
            ``file``; ``hostname`` and ``port`` for ``redis``).
        filter: Which objects go by proxy.
    """

    mode: Literal['value', 'proxy'] = 'value'
    connector: str = Field(default='shm', min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)
    filter: FilterConfig = Field(default_factory=FilterConfig)


class ExecutorConfig(_Model):
    """Which task engine runs the tasks.

    Attributes:
        kind: ``thread``, ``process``, ``dask``, ``parsl``, ``ray`` or ``mpi``.
        workers: Workers of a pool or local cluster.
        address: Address of an existing Dask scheduler (``tcp://host:port``);
            a local cluster is started when it is not given.
        start_method: Start method of the process pool's workers.
    """

    kind: str = Field(default='process', min_length=1)
    workers: int = Field(default=2, ge=1, le=1024)
    address: str | None = None
    start_method: Literal['spawn', 'forkserver', 'fork'] = 'spawn'


class RunConfig(_Model):
    """One run of one app.

    Attributes:
        app: Name of the app (``proxystore-apps list`` shows them).
        params: The app's parameters (checked by the app's own model).
        executor: The task engine.
        data: How data moves between tasks.
        run_dir: Folder under which each run makes its own directory.
        task_timeout: Longest wait, in seconds, for any one task's result.
    """

    app: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    run_dir: pathlib.Path = pathlib.Path('runs')
    task_timeout: float = Field(default=600.0, gt=0)


def describe_validation_error(error: ValidationError, where: str) -> str:
    """A readable one-line-per-problem message of a pydantic error."""
    lines = []
    for problem in error.errors():
        location = '.'.join(str(part) for part in problem['loc']) or '(top level)'
        message = problem['msg']
        if problem['type'] == 'extra_forbidden':
            message = 'unknown field (check its spelling)'
        lines.append(f'  {location}: {message}')
    return f'Invalid {where}:\n' + '\n'.join(lines)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in, tables merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    path: pathlib.Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunConfig:
    """Read a config from a TOML file (if given) with ``overrides`` on top.

    Raises:
        ConfigError: If the file is missing or is not valid TOML.
        InvalidParameterError: If the result is not a valid `RunConfig`.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(pathlib.Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(
                f'Config file {path} does not exist: give the path of a TOML file.',
            ) from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f'Config file {path} is not valid TOML: {e}') from e
    data = deep_merge(data, overrides or {})
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        where = f'config ({path})' if path is not None else 'config'
        raise InvalidParameterError(describe_validation_error(e, where)) from None
