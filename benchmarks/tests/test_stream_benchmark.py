"""The stream throughput benchmark runs end to end on real processes and Redis."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from proxystore_bench.cli import app
from proxystore_bench.suites.stream import MIN_ITEMS
from proxystore_bench.suites.stream import StreamRecord
from proxystore_bench.suites.stream import StreamSettings

runner = CliRunner()
SMALL = [
    '--sizes', '10000,1000000', '--count', '8', '--seconds', '0.05',
    '--stores', 'redis,shm', '--repeat', '1',
]  # fmt: skip


def test_stream_benchmark_writes_results(tmp_path: pathlib.Path) -> None:
    result = runner.invoke(app, ['stream', *SMALL, '--out', str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ('stream.csv', 'stream.json', 'stream.md', 'stream.png'):
        assert (tmp_path / name).stat().st_size > 0
    records = json.loads((tmp_path / 'stream.json').read_text())
    cases = {(r['method'], r['store'], r['size']) for r in records}
    for size in (10_000, 1_000_000):
        assert {c for c in cases if c[2] == size} == {
            ('raw-store', 'redis', size),
            ('pubsub-data', '-', size),
            ('proxy-resolve', 'redis', size),
            ('proxy-dispatch', 'redis', size),
            ('raw-store', 'shm', size),
            ('proxy-resolve', 'shm', size),
            ('proxy-dispatch', 'shm', size),
        }
    for record in records:
        # Streams count the items after the first; the raw store every item.
        assert MIN_ITEMS - 1 <= record['items'] <= 8
        assert record['seconds'] > 0
        assert record['mb_per_s'] == pytest.approx(
            record['items_per_s'] * record['size'] / 1e6
        )
        proxy = record['method'].startswith('proxy-')
        assert (record['vs_raw'] is not None) == proxy
        assert (record['vs_pubsub'] is not None) == proxy
        targeted = record['method'] == 'proxy-resolve' and record['size'] >= 1e6
        assert (record['target'] is not None) == targeted
        assert (record['meets_target'] is not None) == targeted
    markdown = (tmp_path / 'stream.md').read_text()
    assert markdown.count('\n') == 2 + len(records)


def _record(size: int, vs_raw: float, vs_pubsub: float) -> StreamRecord:
    return StreamRecord('proxy-resolve', 'redis', size, 10, 1.0, 10.0, 10.0,
                        vs_raw, vs_pubsub)  # fmt: skip


@pytest.mark.parametrize(
    ('record', 'raw', 'pubsub', 'meets'),
    [
        (_record(1_000_000, 0.8, 3.0), True, True, True),
        (_record(1_000_000, 0.79, 3.5), False, True, False),
        (_record(100_000_000, 1.2, 2.9), True, False, False),
        (_record(100_000, 0.1, 0.1), None, None, None),
    ],
)
def test_targets(
    record: StreamRecord, raw: bool | None, pubsub: bool | None, meets: bool | None
) -> None:
    assert record.meets_raw_target is raw
    assert record.meets_pubsub_target is pubsub
    assert record.meets_target is meets


def test_items_bounded_by_count_and_bytes() -> None:
    settings = StreamSettings(count=1000, max_bytes=50_000_000)
    assert settings.limit(10_000) == 1000
    assert settings.limit(1_000_000) == 50
    assert settings.limit(100_000_000) == MIN_ITEMS


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        (['--stores', 'ucx'], "Unknown stores ['ucx']"),
        (['--count', '2'], 'count must be at least 3'),
        (['--seconds', '0'], 'must be positive'),
        (['--repeat', '0'], 'repeat must be at least 1'),
        (['--sizes', '1e6'], 'comma-separated integers'),
    ],
)
def test_stream_rejects_bad_options(options: list[str], message: str) -> None:
    result = runner.invoke(app, ['stream', *options])
    assert result.exit_code == 2
    assert message in result.output
