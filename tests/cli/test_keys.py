"""Keys of the live view: decoding, and the terminal's cbreak mode restored afterwards."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eacontrol.cli.keys import Action, Command, KeyDecoder, Terminal

RAISE, LOWER = Command(Action.RAISE), Command(Action.LOWER)
PAUSE, STOP, EMERGENCY = Command(Action.PAUSE), Command(Action.STOP), Command(Action.EMERGENCY)


@pytest.mark.parametrize(
    ("data", "commands"),
    [
        (b"\x1b[A", [RAISE]),
        (b"\x1bOA", [RAISE]),
        (b"+", [RAISE]),
        (b"=", [RAISE]),
        (b"\x1b[B", [LOWER]),
        (b"\x1bOB", [LOWER]),
        (b"-", [LOWER]),
        (b"p", [PAUSE]),
        (b"s", [STOP]),
        (b"q", [STOP]),
        (b"\x1b", [EMERGENCY]),
        (b" ", [EMERGENCY]),
        (b"3", [Command(Action.SELECT, 3)]),
        (b"8", [Command(Action.SELECT, 8)]),
        (b"++\x1b[A1", [RAISE, RAISE, RAISE, Command(Action.SELECT, 1)]),
    ],
)
def test_decoding(data: bytes, commands: list[Command]) -> None:
    assert KeyDecoder().decode(data) == commands


def _unknown(key: str) -> Command:
    return Command(Action.UNKNOWN, key=key)


@pytest.mark.parametrize(
    ("data", "commands"),
    [
        (b"0", [Command(Action.ZERO)]),
        (b"z", [Command(Action.ZERO_ALL)]),
        (b"Z", [Command(Action.ZERO_ALL)]),
        (b"?", [Command(Action.HELP)]),
        # Holding the down arrow: the terminal's auto-repeat sends the sequence again and
        # again, read at once; every repeat is one step down.
        (b"\x1b[B" * 5, [LOWER] * 5),
        (b"-----", [LOWER] * 5),
    ],
)
def test_i16_02_zero_keys_and_held_down_arrow(data: bytes, commands: list[Command]) -> None:
    assert KeyDecoder().decode(data) == commands


@pytest.mark.parametrize(
    ("data", "commands"),
    [
        (b"9x\r\n", [_unknown("9"), _unknown("x"), _unknown("Enter"), _unknown("Enter")]),
        (b"\x1b[C\x1b[D", [_unknown("that key")] * 2),  # right and left arrows
        (b"\x1b[15~", [_unknown("that key")]),  # F5: one key, its digits select nothing
        ("é".encode(), [_unknown("é")]),
        (b"\x01", [_unknown("Ctrl-A")]),
    ],
)
def test_i16_07_an_unknown_key_is_decoded_as_unknown(data: bytes, commands: list[Command]) -> None:
    assert KeyDecoder().decode(data) == commands


@pytest.mark.parametrize("data", [b"\x1b[", b"+\x1b", b"\x1bO", b"\x1bp"])
def test_an_incomplete_or_unknown_escape_is_the_emergency_stop(data: bytes) -> None:
    assert EMERGENCY in KeyDecoder().decode(data)


def test_without_a_tty_no_keys_are_read() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"s")
        with Terminal(read_end) as terminal:
            assert not terminal.interactive
            assert terminal.read(0.01) == []
    finally:
        os.close(read_end)
        os.close(write_end)


@pytest.mark.skipif(os.name != "posix", reason="termios")
@pytest.mark.pty
def test_cbreak_while_open_then_restored() -> None:
    import pty
    import termios

    controller, follower = pty.openpty()
    try:
        before = termios.tcgetattr(follower)
        assert before[3] & termios.ICANON
        with Terminal(follower, interactive=True) as terminal:
            assert not termios.tcgetattr(follower)[3] & termios.ICANON
            assert termios.tcgetattr(follower)[3] & termios.ISIG  # Ctrl-C still interrupts
            os.write(controller, b"\x1b[A")
            assert terminal.read(2.0) == [RAISE]
            assert terminal.read(0.0) == []
        assert termios.tcgetattr(follower) == before
    finally:
        os.close(controller)
        os.close(follower)


@given(st.binary(max_size=40))
def test_every_byte_of_a_read_is_in_exactly_one_key_and_decoding_never_fails(data: bytes) -> None:
    """The decoder's tokenizer splits any read into whole keys (nothing lost or read twice),
    and both modes decode it; a lone ESC is always the emergency stop (in a note's text the
    only one; outside it the space bar is one too)."""
    from eacontrol.cli.keys import _tokens

    tokens = list(_tokens(data))
    assert b"".join(tokens) == data and all(tokens)
    lone = sum(token == b"\x1b" for token in tokens)
    for text_mode in (False, True):
        decoder = KeyDecoder()
        decoder.text_mode = text_mode
        commands = decoder.decode(data)
        assert len(commands) <= len(tokens)
        stops = sum(c.action is Action.EMERGENCY for c in commands)
        assert stops == lone if text_mode else stops >= lone
