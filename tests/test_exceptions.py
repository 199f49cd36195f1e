"""The rules of the errors, over the public modules of every installed package.

- every error of a connector is a `proxystore.connectors.protocols.ConnectorError`;
- every ``*TimeoutError`` is a builtin `TimeoutError` (so ``except TimeoutError``
  catches it, whatever raised it);
- every connector subpackage has an ``exceptions`` module holding the errors its
  facade exports (and every other subpackage that exports errors, too).

The modules are found by walking the ``proxystore`` namespace (the namespace
levels have no ``__init__``, which `pkgutil` would skip), leaving out private
``_`` modules and ``proxystore.testing``. They are imported in a child process:
importing every module starts MPI, loads UCX and more, none of which should
happen in the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

_WALK = r"""
import importlib, json, pathlib
import proxystore
from proxystore.connectors.protocols import ConnectorError

modules, failed = {}, {}

def walk(package):
    children = {}
    for entry in package.__path__:
        for child in sorted(pathlib.Path(entry).iterdir()):
            stem = child.name.split('.')[0]
            if (
                stem.isidentifier()
                and not stem.startswith('_')
                and (child.is_dir() or child.suffix in ('.py', '.so'))
            ):
                children.setdefault(stem, None)
    for stem in sorted(children):
        name = f'{package.__name__}.{stem}'
        if name == 'proxystore.testing':
            continue
        try:
            module = importlib.import_module(name)
        except Exception as e:
            failed[name] = f'{type(e).__name__}: {e}'
            continue
        modules[name] = module
        if hasattr(module, '__path__'):
            walk(module)

walk(proxystore)
errors = []
packages = {}
for name, module in sorted(modules.items()):
    if hasattr(module, '__path__') and getattr(module, '__file__', None):
        packages[name] = {'exceptions': f'{name}.exceptions' in modules}
    for attr, obj in vars(module).items():
        if attr.startswith('_') or not (
            isinstance(obj, type) and issubclass(obj, BaseException)
        ):
            continue
        if not obj.__module__.startswith('proxystore'):
            continue
        if issubclass(obj, Warning):
            continue  # a warning class is no error: the rules are for errors
        row = {
            'module': name,
            'attr': attr,
            'defined': f'{obj.__module__}.{obj.__qualname__}',
            'connector_error': issubclass(obj, ConnectorError),
            'timeout_error': issubclass(obj, TimeoutError),
        }
        errors.append(row)
print(json.dumps({
    'failed': failed, 'modules': sorted(modules), 'errors': errors,
    'packages': packages,
}))
"""


@pytest.fixture(scope='module')
def walked() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, '-c', _WALK],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return found


def test_every_public_module_imports(walked: dict[str, Any]) -> None:
    assert walked['failed'] == {}
    # The walk reached every connector, across the packages that hold them.
    for name in (
        'proxystore.connectors.file',
        'proxystore.connectors.redis',
        'proxystore.connectors.mpi',
        'proxystore.connectors.ucx',
        'proxystore.connectors.endpoint',
        'proxystore.store',
    ):
        assert name in walked['modules'], name
    assert not any('._' in name for name in walked['modules'])
    assert not any(name.startswith('proxystore.testing') for name in walked['modules'])


def test_connector_errors_are_connector_errors(walked: dict[str, Any]) -> None:
    offenders = sorted(
        {
            f'{row["defined"]} (as {row["module"]}.{row["attr"]})'
            for row in walked['errors']
            if (
                row['module'].startswith('proxystore.connectors.')
                or row['defined'].startswith('proxystore.connectors.')
            )
            and not row['connector_error']
        }
    )
    assert not offenders, f'connector errors that are not ConnectorError: {offenders}'


def test_timeout_errors_are_timeout_errors(walked: dict[str, Any]) -> None:
    timeouts = [r for r in walked['errors'] if r['attr'].endswith('TimeoutError')]
    assert timeouts  # the rule is checked on something
    offenders = sorted(
        {
            f'{row["defined"]} (as {row["module"]}.{row["attr"]})'
            for row in timeouts
            if not row['timeout_error']
        }
    )
    assert not offenders, f'*TimeoutError that are not TimeoutError: {offenders}'


def _owner(defined: str, packages: dict[str, Any]) -> str | None:
    """The subpackage an error belongs to: the nearest public one around it."""
    parts = defined.split('.')[:-1]  # the module, without the class
    parts = parts[: next((i for i, p in enumerate(parts) if p.startswith('_')), None)]
    while parts:
        name = '.'.join(parts)
        if name in packages:
            return name
        parts.pop()
    return None  # a module right in a namespace level (connectors.multi)


def _without_exceptions(walked: dict[str, Any]) -> dict[str, list[str]]:
    """Subpackages with errors that their ``exceptions`` module does not hold.

    An error belongs to the subpackage around the module that defines it; it
    must be importable from that subpackage's ``exceptions`` (a re-export is
    fine). A connector subpackage must have an ``exceptions`` module at all.
    """
    packages = walked['packages']
    held = {(row['module'], row['defined']) for row in walked['errors']}
    found: dict[str, set[str]] = {
        name: set()
        for name, package in packages.items()
        if name.startswith('proxystore.connectors.') and not package['exceptions']
    }
    for row in walked['errors']:
        owner = _owner(row['defined'], packages)
        if owner is not None and (f'{owner}.exceptions', row['defined']) not in held:
            found.setdefault(owner, set()).add(row['defined'].rsplit('.', 1)[1])
    return {name: sorted(errors) for name, errors in found.items()}


def test_connector_subpackages_have_exceptions(walked: dict[str, Any]) -> None:
    connectors = [
        name for name in walked['packages'] if name.startswith('proxystore.connectors.')
    ]
    assert {
        'proxystore.connectors.redis',
        'proxystore.connectors.mpi',
        'proxystore.connectors.ucx',
    } <= set(connectors)
    offenders = {
        name: missing
        for name, missing in _without_exceptions(walked).items()
        if name in connectors
    }
    assert not offenders, (
        'connector subpackages without an exceptions module holding the errors '
        f'they export (name: errors not there): {offenders}'
    )


def test_subpackages_exporting_errors_have_exceptions(walked: dict[str, Any]) -> None:
    offenders = {
        name: missing
        for name, missing in _without_exceptions(walked).items()
        if not name.startswith('proxystore.connectors.')
    }
    assert not offenders, (
        'subpackages whose exported errors are not in their exceptions module '
        f'(name: errors not there): {offenders}'
    )
