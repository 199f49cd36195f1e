"""The budget benchmark runs end to end: real shared memory, spill folders, pools."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites.budget import RAY_MINIMUM
from proxystore_bench.suites.budget import BudgetSettings
from proxystore_bench.suites.budget import run_budget_benchmark

runner = CliRunner()
MIB = 1 << 20
SHM_MODES = 'shm-spill,shm-unbounded,shm-nospill'


def test_budget_benchmark_at_3x_the_budget(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(
        app,
        [
            'budget',
            '--budget', str(8 * MIB),
            '--object-bytes', str(MIB),
            '--modes', SHM_MODES,
            '--out', str(tmp_path),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ('budget.csv', 'budget.json', 'budget-samples.csv', 'budget.md'):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / 'budget.png').read_bytes()[:4] == b'\x89PNG'
    records = {r['mode']: r for r in json.loads((tmp_path / 'budget.json').read_text())}
    assert set(records) == {'shm-spill', 'shm-unbounded', 'shm-nospill'}

    spill = records['shm-spill']
    assert spill['objects'] == 24  # 3 x 8 MiB of 1 MiB objects
    assert spill['shape'] == 'custom'
    assert spill['completed'] is True
    assert spill['stored'] == spill['verified'] == 24
    assert spill['lost'] == 0
    assert spill['spills'] > 0
    assert spill['restores'] > 0
    # The folder keeps its budget, give or take what puts in flight in the
    # other worker hold: the budget's recount after "full" sees only whole
    # objects, so a reservation of a put being written is forgotten and the
    # folder can end a few headers (at most an object per worker) over it.
    assert 0 < spill['peak_store_bytes'] <= 8 * MIB + 2 * MIB
    assert spill['peak_spilled_bytes'] > 8 * MIB
    assert spill['makespan_s'] > 0
    assert spill['meets_target'] is None  # no Ray run to compare with

    unbounded = records['shm-unbounded']
    assert unbounded['completed'] is True
    assert unbounded['lost'] == 0
    assert unbounded['spills'] == 0
    assert unbounded['peak_store_bytes'] > 8 * MIB

    full = records['shm-nospill']
    assert full['completed'] is False
    assert full['makespan_s'] is None
    assert full['error'].startswith('StoreFullError: Cannot store an object of')
    assert 'capacity' in full['error']
    assert 0 < full['stored'] < 24
    assert full['verified'] == full['stored']
    assert full['lost'] == 0
    assert full['meets_target'] is True
    assert full['peak_store_bytes'] <= 8 * MIB + 2 * MIB  # as above
    # The folder named by the error is gone (others on the node make and
    # remove folders of their own in /dev/shm meanwhile: no global check).
    folder = re.search(r'in (\S+): its budget', full['error'])
    assert folder is not None
    assert not os.path.exists(folder.group(1))


@pytest.mark.parametrize(
    ('settings', 'message'),
    [
        (BudgetSettings(modes=('leaky',)), "Unknown modes \\['leaky'\\]"),
        (BudgetSettings(modes=()), 'at least one mode'),
        (BudgetSettings(workers=0), 'at least 1'),
        (BudgetSettings(budget=MIB, object_bytes=2 * MIB), 'at most the budget'),
        (BudgetSettings(full_timeout=0), 'must be positive'),
        (
            BudgetSettings(budget=64 * MIB, object_bytes=MIB),
            'Ray needs object_store_memory >= 78643200 bytes',
        ),
    ],
)
def test_invalid_settings(settings: BudgetSettings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_budget_benchmark(settings)


def test_invalid_mode_on_the_cli() -> None:
    result = runner.invoke(app, ['budget', '--modes', 'shm-spill,leaky'])
    assert result.exit_code == 2
    assert 'Unknown modes' in result.output


def test_quick_shape_is_3x_the_budget() -> None:
    quick = BudgetSettings.quick()
    assert quick.live_bytes == 3 * quick.budget
    assert quick.budget >= RAY_MINIMUM
    assert quick.shape == 'quick'
    assert dataclasses.replace(quick, modes=('ray',)).shape == 'quick'
    full = BudgetSettings.full()
    assert full.shape == 'full'
    assert full.live_bytes == 3 * full.budget == 3 * 512 * MIB


@pytest.mark.engines
def test_budget_benchmark_on_ray() -> None:
    pytest.importorskip('ray')
    settings = BudgetSettings(
        budget=RAY_MINIMUM, object_bytes=5 * MIB, modes=('shm-spill', 'ray')
    )
    result = run_budget_benchmark(settings)
    records = {r.mode: r for r in result.records}
    ray = records['ray']
    assert ray.completed, ray.error
    assert ray.lost == 0
    assert ray.verified == settings.objects == 45
    assert ray.makespan_s is not None
    assert ray.peak_spilled_bytes > 0  # Ray spilled to its folder
    assert records['shm-spill'].vs_ray is not None
    assert records['shm-spill'].meets_target is not None
