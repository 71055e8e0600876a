"""Issue 13, item 04: ``eactl pair PORT``, ``eactl pair --forget PORT``, and ``eactl run --port``
on a device this host is not paired with.

In-process against the scripted fake device (``Transport.open`` patched to reach it, virtual
time), with ``$XDG_CONFIG_HOME`` in a temporary directory; the last two tests run the real
simulator on a pty and over TCP with ``--pairing-window`` (markers pty, tcp).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import firmware_protocol as fp
from eacontrol.cli.app import run
from eacontrol.errors import PortNotFound
from eacontrol.link import Transport
from tests.support.pty_simulator import simulator_on_a_pty, simulator_printing

from .conftest import Scripted

PORT = "/dev/ttyFAKE0"


@pytest.fixture
def keys_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """``$XDG_CONFIG_HOME`` in a temporary directory; returns the key directory."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "eacontrol" / "keys"


@pytest.fixture
def on_port(scripted: Scripted, monkeypatch: pytest.MonkeyPatch) -> Scripted:
    """Every ``Transport.open`` reaches the scripted device (as if it were on ``PORT``)."""

    def fake_open(url: str, **_: object) -> Transport:
        scripted.port.closed = False
        return Transport(scripted.port, url)

    monkeypatch.setattr(Transport, "open", staticmethod(fake_open))
    return scripted


def _pair_in_an_open_window(on_port: Scripted) -> int:
    """``eactl pair PORT`` on the unpaired device with its pairing window open; its exit status."""
    on_port.device.paired = False
    on_port.device.pairing_window = True
    return run(["pair", PORT])


def test_i13_04_pair_writes_an_owner_only_key_and_prints_serial_and_key_id(
    on_port: Scripted, keys_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _pair_in_an_open_window(on_port) == 0
    out = capsys.readouterr().out
    key_file = keys_home / "FAKE-0001.json"
    assert f"paired with FAKE-2 serial FAKE-0001 on {PORT}: key id 7, stored in {key_file}" in out
    assert on_port.device.peer.pairing_key.hex() not in out  # never the key
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys_home).st_mode) == 0o700
    # The key works: a connect on that port now opens an authenticated session.
    assert run(["clear-fault", "--port", PORT]) == 0
    assert on_port.port.sent(fp.MsgType.HELLO)


def test_i13_04_pair_again_is_refused_and_names_forget(
    on_port: Scripted, keys_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _pair_in_an_open_window(on_port) == 0
    on_port.device.pairing_window = True
    assert run(["pair", PORT]) == 5
    err = capsys.readouterr().err
    assert "already paired with this host" in err and f"eactl pair --forget {PORT}" in err
    assert len(on_port.port.sent(fp.MsgType.PAIR)) == 1  # the window was not used up


def test_i13_04_closed_window_is_refused_naming_how_to_open_it(
    on_port: Scripted, keys_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    on_port.device.paired = False
    assert run(["pair", PORT]) == 5
    err = capsys.readouterr().err
    assert "pairing window is closed" in err and "--pairing-window SECONDS" in err
    assert not keys_home.exists() or not any(keys_home.iterdir())


def test_i13_04_forget_erases_on_the_device_then_deletes_the_file(
    on_port: Scripted, keys_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _pair_in_an_open_window(on_port) == 0
    capsys.readouterr()
    assert run(["pair", "--forget", PORT]) == 0
    out = capsys.readouterr().out
    (forget,) = on_port.port.sent(fp.MsgType.FORGET)
    assert forget.header.key == fp.KeyKind.SESSION  # in the session the key authenticates
    assert forget.message == fp.Forget(key_id=7)
    assert not on_port.device.paired
    assert "the device serial FAKE-0001 erased key id 7" in out
    assert f"deleted this host's key file {keys_home / 'FAKE-0001.json'}" in out
    assert not (keys_home / "FAKE-0001.json").exists()
    assert run(["pair", "--forget", PORT]) == 5  # nothing left to forget


def test_i13_04_forget_an_unreachable_device_deletes_the_file_and_says_so(
    on_port: Scripted,
    keys_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _pair_in_an_open_window(on_port) == 0
    capsys.readouterr()

    def gone(url: str, **_: object) -> Transport:
        raise PortNotFound(f"{url}: no such port")

    monkeypatch.setattr(Transport, "open", staticmethod(gone))
    assert run(["pair", "--forget", PORT]) == 0
    out = capsys.readouterr().out
    assert "did NOT erase key id 7: the device could not be reached" in out
    assert not (keys_home / "FAKE-0001.json").exists()


def test_i13_04_run_on_an_unpaired_device_names_the_pair_command(
    on_port: Scripted, keys_home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = run(["run", "lbp_2hz", "--port", PORT, "--yes", "--db", str(tmp_path / "s.sqlite3")])
    assert code == 5
    err = capsys.readouterr().err
    assert f"then run: eactl pair {PORT}" in err
    assert on_port.port.sent(fp.MsgType.HELLO) == []


def test_i13_04_sim_url_needs_no_pairing_and_pair_refuses_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["pair", "sim://"]) == 1
    assert "pairs itself in memory" in capsys.readouterr().err


def test_i13_04_an_unsafe_key_directory_is_refused_before_pairing(
    on_port: Scripted, keys_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys_home.mkdir(parents=True)
    os.chmod(keys_home, 0o777)
    assert _pair_in_an_open_window(on_port) == 5
    assert f"chmod 700 {keys_home}" in capsys.readouterr().err
    assert on_port.port.sent(fp.MsgType.PAIR) == []  # the window is still open


# --- the real simulator, in real time ------------------------------------------------------------


@pytest.fixture
def tcp_simulator() -> Iterator[str]:
    with simulator_printing(
        "--tcp", "127.0.0.1:0", "--pairing-window", "60", first="socket://", what="a socket:// URL"
    ) as url:
        yield url


def _pair_and_forget(port: str, keys_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["pair", port]) == 0
    out = capsys.readouterr().out
    assert "paired with" in out and "key id" in out
    (key_file,) = keys_home.iterdir()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert run(["pair", port]) == 5  # one key per device serial
    capsys.readouterr()
    assert run(["pair", "--forget", port]) == 0
    assert "erased key id" in capsys.readouterr().out
    assert not any(keys_home.iterdir())


@pytest.mark.tcp
def test_i13_04_pair_and_forget_over_tcp(
    tcp_simulator: str, keys_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _pair_and_forget(tcp_simulator, keys_home, capsys)


@pytest.mark.pty
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pty")
def test_i13_04_pair_and_forget_over_a_pty(
    keys_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with simulator_on_a_pty("--pairing-window", "60") as path:
        _pair_and_forget(path, keys_home, capsys)
