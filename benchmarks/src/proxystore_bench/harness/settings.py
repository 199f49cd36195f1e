"""The base of every suite's settings: a quick and a full shape, validated."""

from __future__ import annotations

import dataclasses
from typing import Any
from typing import Self

__all__ = ['Settings']


@dataclasses.dataclass(frozen=True)
class Settings:
    """The shape of a suite's run (a frozen dataclass).

    Subclasses give their fields defaults (the full run) or override `full`,
    and override `quick` and `validate` where they differ.
    """

    @classmethod
    def quick(cls) -> Self:
        """A short run: a smoke test of the whole path."""
        return cls.full()

    @classmethod
    def full(cls) -> Self:
        """The full-length run."""
        return cls()

    @classmethod
    def chosen(cls, *, quick: bool, **changes: Any) -> Self:
        """`quick` or `full`, with the ``changes`` that are not ``None``, validated.

        Raises:
            ValueError: If the settings are invalid (from `validate`).
        """
        base = cls.quick() if quick else cls.full()
        given = {name: value for name, value in changes.items() if value is not None}
        settings = dataclasses.replace(base, **given)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise `ValueError` for a run that cannot be made."""
