"""eactl panel's own safety, as functions: the listen address, the Host names, the token."""

from __future__ import annotations

import pytest

from eacontrol.cli.exitcodes import UsageError
from eacontrol.cli.panel.attendance import Attendance, Controller, HEARTBEAT_TIMEOUT_s
from eacontrol.cli.panel.security import (
    allowed_hosts,
    is_loopback,
    new_token,
    query_token,
    token_ok,
)
from eacontrol.cli.panel_cmd import DEFAULT_LISTEN, parse_listen


def test_the_default_listens_on_loopback_only() -> None:
    host, port = parse_listen(DEFAULT_LISTEN)
    assert (host, port) == ("127.0.0.1", 8765)
    assert is_loopback(host)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:80", ("localhost", 80)),
        ("[::1]:8765", ("::1", 8765)),
        ("10.0.0.5:0", ("10.0.0.5", 0)),
    ],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "8765",
        "127.0.0.1",
        "127.0.0.1:http",
        "127.0.0.1:70000",
        "clinic-pc:8765",
        "0.0.0.0:8765",
        "[::]:1",
    ],
)
def test_listen_refusals(text: str) -> None:
    with pytest.raises(UsageError):
        parse_listen(text)


def test_loopback_answers_its_names_and_a_network_address_only_itself() -> None:
    assert allowed_hosts("127.0.0.1", 8765) == {
        "127.0.0.1:8765",
        "localhost:8765",
        "[::1]:8765",
    }
    assert allowed_hosts("::1", 9) == {"127.0.0.1:9", "localhost:9", "[::1]:9"}
    assert allowed_hosts("192.168.1.20", 8765) == {"192.168.1.20:8765"}
    assert not is_loopback("192.168.1.20")
    assert not is_loopback("example.org")


def test_tokens_are_random_and_compared_exactly() -> None:
    first, second = new_token(), new_token()
    assert first != second
    assert len(first) >= 22  # 128 bits
    assert token_ok(first, first)
    assert not token_ok(second, first)
    assert not token_ok(None, first)
    assert not token_ok(first[:-1], first)
    assert query_token(f"a=1&token={first}".encode()) == first
    assert query_token(b"") is None


class _Wall:
    def __init__(self) -> None:
        self.t = 100.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_one_controller_and_its_heartbeat() -> None:
    wall = _Wall()
    seats = Attendance(wall)
    first, second = Controller("1-a", "127.0.0.1"), Controller("2-b", "127.0.0.1")
    assert seats.unattended() == "no controlling browser is connected"
    assert seats.seat(first)
    assert not seats.seat(second)
    assert seats.unattended() is None
    wall.sleep(HEARTBEAT_TIMEOUT_s - 0.01)
    assert seats.unattended() is None
    seats.beat("2-b")  # a viewer's beat keeps nobody attended
    wall.sleep(0.01)
    assert "sent no heartbeat for 2.0 s" in (seats.unattended() or "")
    seats.beat("1-a")
    assert seats.unattended() is None
    assert not seats.leave("2-b")
    assert seats.leave("1-a")
    assert seats.controller is None
    assert seats.seat(second)
