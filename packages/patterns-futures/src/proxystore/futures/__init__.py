"""Futures of proxied objects: results that do not exist yet (work in progress)."""

from __future__ import annotations
