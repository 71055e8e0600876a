"""Where the database lives: parameter, then $EACONTROL_DB, then $XDG_DATA_HOME, then ~/.local."""

from __future__ import annotations

from pathlib import Path

import pytest

from eacontrol.records import DB_ENV_VAR, RecordStore, default_db_path, resolve_db_path


def test_xdg_default_is_home_local_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_db_path({}) == tmp_path / ".local/share/eacontrol/sessions.sqlite3"


def test_xdg_data_home_is_used_when_absolute(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert default_db_path(env) == tmp_path / "data/eacontrol/sessions.sqlite3"


@pytest.mark.parametrize("value", ["", "relative/dir"])
def test_empty_or_relative_xdg_data_home_is_ignored(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The XDG Base Directory spec: relative paths are invalid and must be ignored.
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".local/share/eacontrol/sessions.sqlite3"
    assert default_db_path({"XDG_DATA_HOME": value}) == expected


def test_env_var_beats_xdg(tmp_path: Path) -> None:
    env = {DB_ENV_VAR: str(tmp_path / "mine.db"), "XDG_DATA_HOME": str(tmp_path / "data")}
    assert default_db_path(env) == tmp_path / "mine.db"


def test_empty_env_var_falls_back_to_xdg(tmp_path: Path) -> None:
    env = {DB_ENV_VAR: "", "XDG_DATA_HOME": str(tmp_path)}
    assert default_db_path(env) == tmp_path / "eacontrol/sessions.sqlite3"


def test_parameter_beats_env_var(tmp_path: Path) -> None:
    env = {DB_ENV_VAR: str(tmp_path / "env.db")}
    assert resolve_db_path(tmp_path / "param.db", env) == tmp_path / "param.db"
    assert resolve_db_path(str(tmp_path / "param.db"), env) == tmp_path / "param.db"
    assert resolve_db_path(None, env) == tmp_path / "env.db"


def test_tilde_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_db_path("~/x.db", {}) == tmp_path / "x.db"
    assert default_db_path({DB_ENV_VAR: "~/y.db"}) == tmp_path / "y.db"


def test_open_without_path_uses_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "env" / "s.db"))
    with RecordStore.open() as store:
        assert store.path == tmp_path / "env" / "s.db"
    assert (tmp_path / "env" / "s.db").is_file()


def test_open_without_path_or_env_uses_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with RecordStore.open() as store:
        assert store.path == tmp_path / "xdg" / "eacontrol" / "sessions.sqlite3"
        assert store.path.is_file()
