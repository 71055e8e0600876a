"""``eactl profiles`` (the stored and local profiles) and ``eactl schema`` (the JSON Schema).

Local profiles are the ``*.toml`` and ``*.json`` files in the folders given with ``--dir``, else
in ``$EACONTROL_PROFILES`` (folders separated by ``os.pathsep``), else in
``$XDG_DATA_HOME/eacontrol/profiles`` (``~/.local/share/eacontrol/profiles``). A local profile is
run by its path, so a file can never shadow a reviewed stored profile of the same name.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eacontrol.cli import show_cmd, validate_cmd
from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import ExitCode
from eacontrol.cli.table import count_text, duration_text, render_table

if TYPE_CHECKING:
    from eacontrol.profiles import Channel, Validation

__all__ = ["PROFILES_ENV_VAR", "ProfileEntry", "local_profile_dirs", "register"]

PROFILES_ENV_VAR = "EACONTROL_PROFILES"
"""Environment variable naming the folders of local profiles."""


@dataclass(frozen=True)
class ProfileEntry:
    """One line of ``eactl profiles``.

    Attributes:
        name: the stored name, or the local file's path (what ``eactl run`` takes).
        origin: ``stored`` or ``local``.
        title: the profile's ``name`` field ("" when it does not load).
        indication: what it is for.
        duration_s: the steps' total, None when it does not load.
        channels: how many output channels it drives (0 when it does not load).
        points: the acupoints its needles are on, in order of first use, sides merged
            (``BL23``, not ``BL23-L`` and ``BL23-R``).
        refusals / advisories: the counts of findings under the standard layer.
    """

    name: str
    origin: str
    title: str
    indication: str
    duration_s: float | None
    channels: int
    points: tuple[str, ...]
    refusals: int
    advisories: int

    @property
    def status(self) -> str:
        """``ok``, ``ok, N advisories`` or ``REFUSED (N)``."""
        if self.refusals:
            return f"REFUSED ({self.refusals})"
        if self.advisories:
            return f"ok, {count_text(self.advisories, 'advisory', 'advisories')}"
        return "ok"


def local_profile_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The default folders of local profiles (``$EACONTROL_PROFILES``, else the XDG folder)."""
    env = os.environ if environ is None else environ
    listed = env.get(PROFILES_ENV_VAR, "")
    if listed:
        return [Path(p).expanduser() for p in listed.split(os.pathsep) if p]
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return [base / "eacontrol" / "profiles"]


def _entry(name: str, origin: str, result: Validation) -> ProfileEntry:
    profile = result.profile
    return ProfileEntry(
        name=name,
        origin=origin,
        title=profile.name if profile else "",
        indication=profile.indication if profile else "",
        duration_s=profile.total_duration_s if profile else None,
        channels=len(profile.channels) if profile else 0,
        points=_points(profile.channels) if profile else (),
        refusals=len(result.refusals) if profile else max(len(result.refusals), 1),
        advisories=len(result.advisories),
    )


def _points(channels: Iterable[Channel]) -> tuple[str, ...]:
    """The channels' acupoints in order of first use, each side suffix (``-L``/``-R``) dropped."""
    return tuple(dict.fromkeys(site.point.code for c in channels for site in c.electrodes))


def _entries(dirs: list[Path]) -> list[ProfileEntry]:
    from eacontrol.profiles import stored_profile_names, validate_file

    found = [_entry(name, "stored", validate_file(name)) for name in stored_profile_names()]
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".toml", ".json") and path.is_file():
                found.append(_entry(str(path), "local", validate_file(path)))
    return found


def _profiles(args: argparse.Namespace) -> int:
    """List the stored and local profiles.

    List the stored (reviewed) profiles and the local profile files, with their indication,
    duration, channel count and acupoints, and whether they load under the standard limits.
    """
    dirs = [Path(d) for d in args.dir] if args.dir else local_profile_dirs()
    entries = _entries(dirs)
    if args.json:
        records: list[dict[str, Any]] = [asdict(e) | {"status": e.status} for e in entries]
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return int(ExitCode.OK)
    rows = [
        (
            e.name,
            e.origin,
            e.indication or e.title or "-",
            duration_text(e.duration_s),
            str(e.channels) if e.channels else "-",
            ", ".join(e.points) or "-",
            e.status,
        )
        for e in entries
    ]
    headers = ("PROFILE", "FROM", "INDICATION", "DURATION", "CH", "POINTS", "STATUS")
    print(render_table(headers, rows, right=(4,)))
    searched = ", ".join(str(d) for d in dirs)
    print(f"\nlocal profiles are read from: {searched}")
    return int(ExitCode.OK)


def _schema(args: argparse.Namespace) -> int:
    """Print the profile JSON Schema.

    Print the profile format as a JSON Schema (draft 2020-12). It covers keys, types and
    structure; limits and placement rules are checked by 'eactl validate'.
    """
    from eacontrol.profiles import profile_json_schema

    print(json.dumps(profile_json_schema(), indent=2, ensure_ascii=False))
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``profiles``, ``validate``, ``show`` and ``schema`` to the command parsers."""
    parser = add_command(commands, "profiles", _profiles)
    parser.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="DIR",
        help=f"a folder of local profiles (repeatable; default ${PROFILES_ENV_VAR}, else "
        "$XDG_DATA_HOME/eacontrol/profiles)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    validate_cmd.register(commands)
    show_cmd.register(commands)
    add_command(commands, "schema", _schema)
