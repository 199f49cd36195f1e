"""The heavy engines, Parsl and Ray: run by the ``engines`` nox session."""

from __future__ import annotations

import pathlib
from collections.abc import Generator
from concurrent.futures import Executor

import pytest

from proxystore_apps.config import ExecutorConfig
from proxystore_apps.executors import open_executor
from proxystore_apps.runner import run_app

from .conftest import SMALL
from .test_apps import check_output
from .test_apps import proxies_made

pytestmark = pytest.mark.engines


@pytest.fixture(scope='module', params=['parsl', 'ray'])
def heavy(request: pytest.FixtureRequest) -> Generator[tuple[str, Executor]]:
    kind = request.param
    with open_executor(ExecutorConfig(kind=kind, workers=2)) as executor:
        yield kind, executor


@pytest.mark.parametrize('mode', ['value', 'proxy'])
@pytest.mark.parametrize('app', sorted(SMALL))
def test_app_on_heavy_engine(
    app: str, mode: str, heavy: tuple[str, Executor], tmp_path: pathlib.Path
) -> None:
    from .conftest import small_config

    kind, executor = heavy
    result = run_app(small_config(app, kind, mode, tmp_path), executor=executor)
    assert result.ok, result.error
    check_output(app, result)
    if mode == 'proxy' and app not in ('stream-inference', 'pipeline'):
        assert proxies_made(result) > 0
    if mode == 'value':
        assert proxies_made(result) == 0
