"""Import optional packages, naming the extra that installs them."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from proxystore_apps.errors import MissingPackageError

__all__ = ['check_installed', 'require']


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
        raise _missing(module, extra, what, f' ({e})') from e


def check_installed(module: str, *, extra: str, what: str) -> None:
    """Check that ``module``'s top-level package is installed, without importing it.

    Raises:
        MissingPackageError: If it is not installed.
    """
    if importlib.util.find_spec(module.split('.')[0]) is None:
        raise _missing(module, extra, what, '')


def _missing(module: str, extra: str, what: str, detail: str) -> MissingPackageError:
    return MissingPackageError(
        f'{what} needs the package {module.split(".")[0]!r}, which is not '
        f"installed: pip install 'proxystore-apps[{extra}]' (or uv sync "
        f'--extra {extra}).{detail}',
    )
