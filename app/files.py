"""Files under ``instance/``: readable and writable by the service's own user only.

The instance folder holds the SQLite database and its journals, the job queue, the outbox, report
caches and keys: everything an attacker copying the server would want. Each process (web, worker,
CLI) sets a umask of 077 when its application is built, so whatever it creates there (SQLite
gives ``-wal``/``-shm`` the database file's mode) is 0600 and every folder 0700, and tightens what
an older version left more open.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700

log = logging.getLogger(__name__)


def restrict_instance(instance_path: Path) -> None:
    """Set the process umask to 077, create ``instance_path`` 0700 and tighten what it holds."""
    os.umask(0o077)
    instance_path.mkdir(parents=True, exist_ok=True)
    _tighten(instance_path, FOLDER_MODE)
    for folder, folders, files in os.walk(instance_path):
        for name in folders:
            _tighten(Path(folder) / name, FOLDER_MODE)
        for name in files:
            _tighten(Path(folder) / name, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) & ~mode == 0:
            return
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
    except FileNotFoundError:
        return  # removed meanwhile (a temporary file of another process)
    except PermissionError:
        log.warning("cannot restrict %s to mode %o: it belongs to another user", path, mode)
