"""The workspace keeps the layout rules of its design."""

from __future__ import annotations

import pathlib
import tomllib

import pytest

ROOT = pathlib.Path(__file__).parents[1]
PACKAGES = sorted(p for p in (ROOT / 'packages').iterdir() if p.is_dir())


def test_there_are_packages() -> None:
    assert {'proxy-core', 'store'} <= {p.name for p in PACKAGES}


@pytest.mark.parametrize('package', PACKAGES, ids=lambda p: p.name)
def test_package_anatomy(package: pathlib.Path) -> None:
    for part in ('pyproject.toml', 'README.md', 'src/proxystore', 'tests'):
        assert (package / part).exists(), f'{package.name} lacks {part}'
    name = tomllib.loads((package / 'pyproject.toml').read_text())['project']['name']
    assert name == f'proxystore-{package.name}'


@pytest.mark.parametrize('package', PACKAGES, ids=lambda p: p.name)
def test_namespace_levels_have_no_init(package: pathlib.Path) -> None:
    src = package / 'src' / 'proxystore'
    for namespace in ('', 'connectors', 'testing'):
        assert not (src / namespace / '__init__.py').exists(), namespace


def test_every_package_is_a_workspace_member_and_in_the_metapackage() -> None:
    root = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    assert 'packages/*' in root['tool']['uv']['workspace']['members']
    sources = root['tool']['uv']['sources']
    required = set(root['project']['dependencies'])
    extras = {
        d for deps in root['project']['optional-dependencies'].values() for d in deps
    }
    for package in PACKAGES:
        name = f'proxystore-{package.name}'
        assert sources.get(name) == {'workspace': True}, name
        assert any(d.startswith(name) for d in required | extras), name


def test_proxy_core_depends_on_nothing_of_ours() -> None:
    core = tomllib.loads((ROOT / 'packages/proxy-core/pyproject.toml').read_text())
    assert not [
        d for d in core['project']['dependencies'] if d.startswith('proxystore')
    ]
    sources = (ROOT / 'packages/proxy-core/src').rglob('*.py')
    for source in sources:
        text = source.read_text()
        for line in text.splitlines():
            if line.startswith(('import proxystore', 'from proxystore')):
                assert line.split()[1].startswith(
                    ('proxystore.proxy', 'proxystore.factory')
                ), f'{source}: {line}'
