"""Files and folders of endpoints, created readable by their user only."""

from __future__ import annotations

import os
import pathlib

__all__ = ['make_private_dir', 'open_private', 'private_file']


def make_private_dir(path: pathlib.Path) -> pathlib.Path:
    """Create the folder ``path`` (and missing parents) readable by the user only.

    Folders created here get mode 0700; a folder that already exists keeps
    its mode (it may be a user's folder shared on purpose).
    """
    path = pathlib.Path(path)
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        # mkdir's mode is filtered by the umask; 0700 is what we want exactly.
        os.chmod(folder, 0o700)
    return path


def open_private(path: pathlib.Path, flags: int) -> int:
    """Open (creating if missing) the file ``path`` with mode 0600; a descriptor.

    A file that already exists and is readable by others is made private.
    """
    descriptor = os.open(path, flags | os.O_CREAT, 0o600)
    try:
        if os.fstat(descriptor).st_mode & 0o077:
            os.fchmod(descriptor, 0o600)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def private_file(path: pathlib.Path) -> pathlib.Path:
    """Create ``path`` empty with mode 0600 if missing (else make it private)."""
    os.close(open_private(path, os.O_WRONLY))
    return path
