"""Where the session database lives: a parameter, else ``$EACONTROL_DB``, else the XDG data dir.

The XDG Base Directory specification puts user data in ``$XDG_DATA_HOME`` (default
``~/.local/share``); an empty or relative ``$XDG_DATA_HOME`` is invalid there and is ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DB_ENV_VAR", "DB_FILE_NAME", "default_db_path", "resolve_db_path"]

DB_ENV_VAR = "EACONTROL_DB"
"""Environment variable that overrides the database path."""

DB_FILE_NAME = "sessions.sqlite3"
"""File name of the default database inside ``$XDG_DATA_HOME/eacontrol``."""


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """The database path to use when none is given.

    Args:
        environ: the environment to read (``os.environ`` when None).

    Returns:
        ``$EACONTROL_DB`` when set and not empty, else
        ``$XDG_DATA_HOME/eacontrol/sessions.sqlite3``, else
        ``~/.local/share/eacontrol/sessions.sqlite3``.
    """
    env = os.environ if environ is None else environ
    override = env.get(DB_ENV_VAR, "")
    if override:
        return Path(override).expanduser()
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "eacontrol" / DB_FILE_NAME


def resolve_db_path(path: Path | str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The database path: ``path`` when given, else :func:`default_db_path`.

    Args:
        path: an explicit path (a parameter or a command-line option), or None.
        environ: the environment to read (``os.environ`` when None).

    Returns:
        The path, with ``~`` expanded.
    """
    if path is None or str(path) == "":
        return default_db_path(environ)
    return Path(path).expanduser()
