"""The documented list of environment variables matches what the code reads."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).parents[1]
PAGE = ROOT / 'docs' / 'environment.md'
NAME = re.compile(r'\bPROXYSTORE_[A-Z0-9_]+\b')


def _used() -> dict[str, list[str]]:
    folders = [*ROOT.glob('packages/*/src'), ROOT / 'apps/src', ROOT / 'benchmarks']
    used: dict[str, list[str]] = {}
    for folder in folders:
        for source in folder.rglob('*.py'):
            for name in NAME.findall(source.read_text()):
                used.setdefault(name, []).append(str(source.relative_to(ROOT)))
    return used


def _documented() -> set[str]:
    rows = [line for line in PAGE.read_text().splitlines() if line.startswith('| `')]
    return {NAME.search(row).group() for row in rows if NAME.search(row)}  # type: ignore[union-attr]


def test_every_variable_the_code_reads_is_documented() -> None:
    missing = {
        name: sorted(set(where))
        for name, where in _used().items()
        if name not in _documented()
    }
    assert not missing, f'add these to docs/environment.md: {missing}'


def test_every_documented_variable_is_used() -> None:
    stale = _documented() - set(_used())
    assert not stale, f'docs/environment.md lists variables nothing reads: {stale}'


def test_the_page_is_in_the_site_navigation() -> None:
    assert 'environment.md' in (ROOT / 'mkdocs.yml').read_text()
