"""Fuzz targets of the decoders of outside bytes (DESIGN §7), marked ``fuzz``.

The harness is `_harness.py`; the fixture ``fuzz`` hands it to the targets.
Without hypothesis (the test group of the default sessions) nothing here is
collected.
"""

from __future__ import annotations

import importlib.util
import pathlib
import types
from typing import Any

import pytest

if importlib.util.find_spec('hypothesis') is None:  # pragma: no cover
    collect_ignore_glob = ['test_*.py']
    harness: Any = None
else:
    _spec = importlib.util.spec_from_file_location(
        'proxystore_fuzz_harness', pathlib.Path(__file__).parent / '_harness.py'
    )
    assert _spec is not None and _spec.loader is not None
    harness = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(harness)


@pytest.fixture
def fuzz() -> types.ModuleType:
    """The harness: ``run``, ``inputs``, ``corpus``, ``mutated``."""
    return harness


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the inputs each target tried and its findings."""
    if harness is None or not harness.REPORT:
        return
    terminalreporter.section('fuzz targets')
    for name, (inputs, seconds, rounds, findings) in sorted(harness.REPORT.items()):
        terminalreporter.write_line(
            f'{name:<28} {inputs:>9} inputs  {seconds:6.1f} s  '
            f'{rounds:>3} runs  findings: {findings}'
        )
