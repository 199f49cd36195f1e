"""The one result-record type: every suite's records subclass `Record`."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Mapping
from typing import Any
from typing import Self
from typing import TypeVar

__all__ = ['Record', 'load_records']

R = TypeVar('R', bound='Record')


@dataclasses.dataclass(frozen=True)
class Record:
    """One measurement of a suite: a frozen dataclass with a target.

    A suite's record adds its fields (the columns of its CSV) and, where the
    project sets a target, overrides `target` and `meets_target`.
    """

    @property
    def target(self) -> float | str | None:
        """This project's target for the measurement (``None``: none is set)."""
        return None

    @property
    def meets_target(self) -> bool | None:
        """Whether the target is met (``None``: no target, or not measurable)."""
        return None

    def as_dict(self) -> dict[str, Any]:
        """The record's fields, then its target and whether it is met."""
        row = dataclasses.asdict(self)
        row['target'] = self.target
        row['meets_target'] = self.meets_target
        return row

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Self:
        """The record of a row written by `as_dict` (derived columns are dropped)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


def load_records(record: type[R], path: pathlib.Path) -> list[R]:
    """Read the records of a ``<suite>.json`` written by the report."""
    rows = json.loads(path.read_text())
    return [record.from_dict(row) for row in rows]
