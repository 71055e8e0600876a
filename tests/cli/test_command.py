"""A command's help comes from its handler's docstring (eacontrol.cli.command)."""

from __future__ import annotations

import argparse

import pytest

from eacontrol.cli.app import build_parser
from eacontrol.cli.command import add_command


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_one_line_help_is_the_docstring_summary_as_a_phrase() -> None:
    def _greet(args: argparse.Namespace) -> int:
        """Greet the operator.

        Print a greeting, then
        exit.
        """
        return 0

    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    greet = add_command(commands, "greet", _greet)
    assert greet.description == "Print a greeting, then exit."
    assert greet.get_default("handler") is _greet
    (choice,) = commands._choices_actions
    assert choice.help == "greet the operator"


def test_a_handler_without_a_docstring_is_refused() -> None:
    commands = argparse.ArgumentParser().add_subparsers()
    with pytest.raises(TypeError, match="no docstring"):
        add_command(commands, "bare", lambda args: 0)


def test_every_command_has_a_help_phrase_and_a_description() -> None:
    parser = build_parser()
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in action._choices_actions}
    for name, sub in _subcommands(parser).items():
        assert helps[name] and helps[name][0].islower() and not helps[name].endswith("."), name
        assert sub.description, name
