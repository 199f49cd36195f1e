"""Import optional packages, naming the extra that installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from proxystore_apps.errors import MissingPackageError

__all__ = ['require']


def require(module: str, *, extra: str, what: str) -> ModuleType:
    """Import ``module`` or raise an error naming the extra to install.

    Args:
        module: Module to import.
        extra: Extra of ``proxystore-apps`` that installs it.
        what: What needs it, for the message (``'the dask executor'``).

    Raises:
        MissingPackageError: If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingPackageError(
            f'{what} needs the package {module.split(".")[0]!r}, which is not '
            f"installed: pip install 'proxystore-apps[{extra}]' (or uv sync "
            f'--extra {extra}). ({e})',
        ) from e
