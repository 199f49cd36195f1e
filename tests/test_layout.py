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
    for namespace in ('', 'connectors'):
        assert not (src / namespace / '__init__.py').exists(), namespace


@pytest.mark.parametrize('package', PACKAGES, ids=lambda p: p.name)
def test_test_helpers_live_in_the_testing_package_only(package: pathlib.Path) -> None:
    helpers = package / 'src' / 'proxystore' / 'testing'
    if package.name == 'testing':
        # A regular package owned by one distribution, typed.
        assert (helpers / '__init__.py').is_file()
        assert (helpers / 'py.typed').is_file()
    else:
        assert not helpers.exists(), f'{package.name} ships proxystore.testing'


def test_no_production_package_depends_on_testing() -> None:
    for package in PACKAGES:
        if package.name == 'testing':
            continue
        project = tomllib.loads((package / 'pyproject.toml').read_text())['project']
        runtime = list(project.get('dependencies', []))
        for extra in project.get('optional-dependencies', {}).values():
            runtime += extra
        assert not [d for d in runtime if d.startswith('proxystore-testing')], (
            package.name
        )
        assert 'testing' not in project.get('optional-dependencies', {}), package.name


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
        if package.name == 'testing':
            # Test helpers are no extra of the metapackage: `pip install
            # proxystore-testing`; the test group of the workspace has them.
            assert any(d.startswith(name) for d in root['dependency-groups']['test'])
            continue
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


def _package_names() -> set[str]:
    return {p.name for p in PACKAGES}


def test_workspace_members_are_the_packages() -> None:
    root = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    members = set(root['tool']['uv']['workspace']['members'])
    found: set[str] = set()
    for member in members:
        found |= {p.name for p in ROOT.glob(member) if p.parent.name == 'packages'}
    assert found == _package_names()


def test_uv_sources_list_exactly_the_workspace() -> None:
    root = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    sources = set(root['tool']['uv']['sources'])
    packages = {f'proxystore-{name}' for name in _package_names()}
    others = {'proxystore-bench', 'proxystore-apps'}  # benchmarks/, apps/
    assert sources == packages | others


def test_mypy_path_lists_exactly_the_packages() -> None:
    root = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    entries = root['tool']['mypy']['mypy_path'].split(':')
    listed = {
        entry.split('/packages/')[1].removesuffix('/src')
        for entry in entries
        if '/packages/' in entry
    }
    assert listed == _package_names()
    assert len(entries) == len(set(entries)), 'an entry is listed twice'


def test_docs_source_paths_list_exactly_the_packages() -> None:
    text = (ROOT / 'mkdocs.yml').read_text()
    line = next(line for line in text.splitlines() if line.strip().startswith('paths:'))
    paths = [p.strip() for p in line.split('[', 1)[1].rstrip(']').split(',')]
    listed = {p.split('/')[1] for p in paths if p.startswith('packages/')}
    assert listed == _package_names()
    assert len(paths) == len(set(paths)), 'a path is listed twice'
