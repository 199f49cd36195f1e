"""Bad configs get typed errors that name the fix."""

from __future__ import annotations

import pathlib

import pytest

from proxystore.store.config import connector_kinds
from proxystore_apps._require import require
from proxystore_apps.config import RunConfig
from proxystore_apps.config import load_config
from proxystore_apps.errors import ConfigError
from proxystore_apps.errors import InvalidParameterError
from proxystore_apps.errors import MissingPackageError
from proxystore_apps.errors import UnknownAppError
from proxystore_apps.errors import UnknownConnectorError
from proxystore_apps.errors import UnknownExecutorError
from proxystore_apps.runner import check_connector
from proxystore_apps.runner import resolve
from proxystore_apps.runner import run_app


def config(**fields: object) -> RunConfig:
    return load_config(None, {'app': 'synthetic', **fields})


def test_defaults() -> None:
    c = config()
    assert c.executor.kind == 'process' and c.executor.workers == 2
    assert c.data.mode == 'value' and c.data.connector == 'shm'
    assert c.data.filter.kind == 'size' and c.data.filter.min_bytes == 10_000
    resolve(c)


def test_unknown_app() -> None:
    with pytest.raises(UnknownAppError, match="Unknown app 'nope': choose one of"):
        resolve(config(app='nope'))


def test_unknown_executor() -> None:
    with pytest.raises(
        UnknownExecutorError, match=r"Unknown executor 'slurm': choose one of thread"
    ):
        resolve(config(executor={'kind': 'slurm'}))


def test_unknown_connector() -> None:
    with pytest.raises(UnknownConnectorError, match="Unknown connector 'tape'") as e:
        resolve(config(data={'mode': 'proxy', 'connector': 'tape'}))
    assert 'shm' in str(e.value)  # the installed ones are listed


def test_missing_connector_package() -> None:
    missing = [k for k in ('ucx', 'endpoint') if k not in connector_kinds()]
    if not missing:
        pytest.skip('every ProxyStore connector is installed here')
    kind = missing[0]
    with pytest.raises(
        MissingPackageError, match=rf"pip install 'proxystore\[{kind}\]'"
    ):
        resolve(config(data={'mode': 'proxy', 'connector': kind}))


def test_connector_not_checked_by_value() -> None:
    resolve(config(data={'mode': 'value', 'connector': 'tape'}))


def test_connector_import_path_is_accepted() -> None:
    from proxystore_apps.config import DataConfig

    check_connector(DataConfig(connector='proxystore.connectors.local.LocalConnector'))


def test_missing_package_names_the_extra() -> None:
    with pytest.raises(
        MissingPackageError,
        match=r"The x executor needs the package 'no_such_engine'.*"
        r"pip install 'proxystore-apps\[x\]'",
    ):
        require('no_such_engine.sub', extra='x', what='The x executor')


@pytest.mark.parametrize(
    ('params', 'message'),
    [
        ({'task_count': 0}, 'task_count: Input should be greater than or equal to 1'),
        ({'structure': 'star'}, "structure: Input should be 'bag'"),
        ({'sise': 3}, 'sise: unknown field'),
    ],
)
def test_invalid_app_parameters(params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message) as e:
        resolve(config(params=params))
    assert "parameters of app 'synthetic'" in str(e.value)
    assert 'Its parameters: structure, task_count, data_bytes, sleep.' in str(e.value)


def test_cholesky_block_must_divide_the_matrix() -> None:
    with pytest.raises(InvalidParameterError, match=r'block_size \(300\) must divide'):
        resolve(config(app='cholesky', params={'matrix_size': 1000, 'block_size': 300}))


@pytest.mark.parametrize(
    ('fields', 'message'),
    [
        ({'executor': {'workers': 0}}, 'executor.workers: Input should be greater'),
        ({'data': {'mode': 'reference'}}, "data.mode: Input should be 'value' or"),
        ({'data': {'filter': {'min_bytes': -1}}}, 'data.filter.min_bytes'),
        ({'data': {'filter': {'kind': 'type'}}}, 'the type filter needs at least one'),
        ({'task_timeout': 0}, 'task_timeout: Input should be greater than 0'),
        ({'executors': {}}, 'executors: unknown field'),
    ],
)
def test_invalid_config(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        config(**fields)


def test_address_is_for_dask_only() -> None:
    with pytest.raises(InvalidParameterError, match='--address is for the dask'):
        resolve(config(executor={'kind': 'thread', 'address': 'tcp://127.0.0.1:1'}))


def test_stream_inference_needs_two_workers() -> None:
    with pytest.raises(InvalidParameterError, match='two workers or more'):
        resolve(config(app='stream-inference', executor={'workers': 1}))


def test_failures_checks_the_wrapped_app() -> None:
    with pytest.raises(UnknownAppError, match="Unknown app 'nope'"):
        resolve(config(app='failures', params={'app': 'nope'}))
    with pytest.raises(InvalidParameterError, match='cannot wrap itself'):
        resolve(config(app='failures', params={'app': 'failures'}))
    with pytest.raises(InvalidParameterError, match="parameters of app 'cholesky'"):
        resolve(
            config(app='failures', params={'app': 'cholesky', 'app_params': {'n': 1}})
        )


def test_toml_file_and_overrides(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'run.toml'
    path.write_text(
        'app = "cholesky"\n'
        '[params]\nmatrix_size = 100\nblock_size = 50\n'
        '[executor]\nkind = "thread"\nworkers = 3\n'
        '[data]\nmode = "proxy"\nconnector = "file"\n'
        '[data.filter]\nkind = "type"\ntypes = ["ndarray"]\n',
    )
    c = load_config(path, {'executor': {'workers': 2}, 'params': {'seed': 4}})
    assert c.app == 'cholesky'
    assert c.params == {'matrix_size': 100, 'block_size': 50, 'seed': 4}
    assert c.executor.kind == 'thread' and c.executor.workers == 2
    assert c.data.filter.types == ['ndarray']


def test_missing_and_malformed_toml(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match='does not exist: give the path'):
        load_config(tmp_path / 'none.toml')
    bad = tmp_path / 'bad.toml'
    bad.write_text('app = \n')
    with pytest.raises(ConfigError, match='is not valid TOML'):
        load_config(bad)
    wrong = tmp_path / 'wrong.toml'
    wrong.write_text('app = "synthetic"\n[executor]\nworkers = "many"\n')
    with pytest.raises(InvalidParameterError, match=r'config \(.*wrong.toml\)'):
        load_config(wrong)


def test_connector_rejecting_its_options(tmp_path: pathlib.Path) -> None:
    bad = config(
        data={'mode': 'proxy', 'connector': 'shm', 'options': {'name': 'a/b'}},
        run_dir=str(tmp_path),
    )
    with pytest.raises(ConfigError, match='The shm connector rejected its options'):
        run_app(bad)


def test_nothing_runs_on_a_bad_config(tmp_path: pathlib.Path) -> None:
    with pytest.raises(UnknownExecutorError):
        run_app(config(executor={'kind': 'nope'}, run_dir=str(tmp_path)))
    assert not list(tmp_path.iterdir())  # no run directory


def test_check_installed_does_not_import() -> None:
    import sys

    from proxystore_apps._require import check_installed

    check_installed('json', extra='x', what='y')
    with pytest.raises(
        MissingPackageError, match=r"needs the package 'no_such_engine'"
    ):
        check_installed('no_such_engine', extra='x', what='The x executor')
    assert 'no_such_engine' not in sys.modules
