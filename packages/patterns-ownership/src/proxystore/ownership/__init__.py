"""Ownership of proxied objects: owned and borrowed proxies (work in progress)."""

from __future__ import annotations
