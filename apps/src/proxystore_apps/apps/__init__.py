"""The applications, one module each.

An app module has:

- ``SUMMARY``: one line for ``proxystore-apps list``;
- ``Params``: a pydantic model of its parameters (small defaults);
- ``run(engine, params) -> dict``: submits its tasks to the
  `proxystore_apps.engine.Engine`, checks its output and returns what it
  reports (raising `proxystore_apps.errors.AppCheckError` if the output is
  wrong);
- optionally ``prepare(params)``: makes the app's input data (and what its
  check compares with) before the makespan is timed; ``run`` then takes it as
  a third argument;
- optionally ``check(config, params)``: rejects a run it cannot do (raising
  `proxystore_apps.errors.InvalidParameterError`).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError

from proxystore_apps.config import describe_validation_error
from proxystore_apps.errors import InvalidParameterError
from proxystore_apps.errors import UnknownAppError

__all__ = ['APPS', 'get_app', 'parse_params', 'prepare_app', 'run_prepared']

APPS: dict[str, str] = {
    'cholesky': 'cholesky',
    'synthetic': 'synthetic',
    'mapreduce': 'mapreduce',
    'fedlearn': 'fedlearn',
    'failures': 'failures',
    'stream-inference': 'stream_inference',
    'pipeline': 'pipeline',
}
"""App names to their modules in this package."""


def get_app(name: str) -> ModuleType:
    """The module of the app ``name``.

    Raises:
        UnknownAppError: If there is no such app.
    """
    module = APPS.get(name)
    if module is None:
        raise UnknownAppError(
            f'Unknown app {name!r}: choose one of {", ".join(APPS)} '
            '(proxystore-apps list shows them).',
        )
    return importlib.import_module(f'{__name__}.{module}')


def parse_params(name: str, params: dict[str, Any]) -> BaseModel:
    """The parameters of app ``name``, validated by its ``Params`` model.

    Raises:
        UnknownAppError: If there is no such app.
        InvalidParameterError: If a parameter is unknown or out of range.
    """
    model: type[BaseModel] = get_app(name).Params
    try:
        return model.model_validate(params)
    except ValidationError as e:
        valid = ', '.join(model.model_fields)
        message = describe_validation_error(e, f'parameters of app {name!r}')
        raise InvalidParameterError(f'{message}\nIts parameters: {valid}.') from None


def prepare_app(app: ModuleType, params: BaseModel) -> Any:
    """The app's prepared data (``None`` if it prepares nothing)."""
    prepare = getattr(app, 'prepare', None)
    return None if prepare is None else prepare(params)


def run_prepared(
    app: ModuleType, engine: Any, params: BaseModel, prepared: Any
) -> dict[str, Any]:
    """Run an app with the data `prepare_app` made for it."""
    if hasattr(app, 'prepare'):
        output: dict[str, Any] = app.run(engine, params, prepared)
    else:
        output = app.run(engine, params)
    return output
