"""How a command module adds its parser: a command's help is its handler's docstring.

Each ``*_cmd`` module has a ``register(commands)`` that calls ``add_command`` with the
command's name and handler, then adds its own arguments. The handler's docstring says what the
command does, once: its first line is the one-line help in ``eactl --help`` (argparse's
convention: a lower-case phrase without a full stop), the paragraphs after it the description
of ``eactl COMMAND --help`` (argparse re-wraps them).
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any, TypeAlias

__all__ = ["Commands", "Handler", "add_command", "add_profile_argument"]

# A string: argparse._SubParsersAction is not subscriptable at run time.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[argparse.Namespace], int]


def add_command(
    commands: Commands, name: str, handler: Handler, **options: Any
) -> argparse.ArgumentParser:
    """Add the command ``name``, run by ``handler`` and described by its docstring.

    Args:
        commands: the parser's subparsers.
        name: the command's name.
        handler: what runs it; must have a docstring.
        options: more ``add_parser`` options (``prefix_chars``, ``add_help``).
    """
    doc = inspect.getdoc(handler)
    if not doc:
        raise TypeError(f"the handler of {name!r} has no docstring to describe it")
    summary, _, details = (" ".join(part.split()) for part in doc.partition("\n\n"))
    help_text = summary[:1].lower() + summary[1:].rstrip(".")
    parser = commands.add_parser(name, help=help_text, description=details or summary, **options)
    parser.set_defaults(handler=handler)
    return parser


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """The positional PROFILE of the commands that read one."""
    parser.add_argument("profile", metavar="PROFILE", help="a profile file or stored name")
