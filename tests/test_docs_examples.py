"""Every Python example in the README and the docs runs as written."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parents[1]
PAGES = [ROOT / 'README.md', *sorted((ROOT / 'docs').rglob('*.md'))]
BLOCK = re.compile(r'^```python\n(.*?)^```', re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for i, match in enumerate(BLOCK.finditer(page.read_text())):
            found.append((f'{page.relative_to(ROOT)}#{i}', match.group(1)))
    return found


EXAMPLES = _examples()


def test_examples_were_found() -> None:
    assert len(EXAMPLES) >= 5


# Examples fork process pools; Python 3.12+ warns when the test process has threads.
@pytest.mark.filterwarnings('ignore::DeprecationWarning')
@pytest.mark.parametrize(('where', 'code'), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_runs(
    where: str, code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(code, where, 'exec'), {'__name__': '__docs__'})
