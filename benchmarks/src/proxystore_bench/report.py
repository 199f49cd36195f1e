"""Write benchmark records as CSV and JSON.

Records are dataclasses with ``target`` and ``meets_target`` properties.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pathlib
from collections.abc import Sequence
from typing import Any

__all__ = ['as_dict', 'write_csv', 'write_json']


def as_dict(record: Any) -> dict[str, Any]:
    """A record's fields, plus its target and whether it is met."""
    row = dataclasses.asdict(record)
    row['target'] = record.target
    row['meets_target'] = record.meets_target
    return row


def write_csv(records: Sequence[Any], path: pathlib.Path) -> None:
    """One row per record."""
    if not records:
        path.write_text('')
        return
    rows = [as_dict(r) for r in records]
    with path.open('w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_json(records: Sequence[Any], path: pathlib.Path) -> None:
    """A list of records."""
    path.write_text(json.dumps([as_dict(r) for r in records], indent=2) + '\n')
