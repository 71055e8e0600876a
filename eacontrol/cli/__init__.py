"""eactl, the command line of eacontrol."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run eactl with ``argv`` (default: the process arguments) and return its exit code."""
    # Imported here so that `import eacontrol.cli` stays cheap for the console-script wrapper.
    from eacontrol.cli.app import run

    return run(sys.argv[1:] if argv is None else list(argv))
