"""eacontrol's benchmarks (issue 8): ``python -m benchmarks`` from the repository root.

Not part of the installed distribution: the benchmarks import the installed ``eacontrol``,
``firmware_protocol`` and ``simulator`` like any user program, and are the only place the real
clock is read to measure speed (tests never assert on wall time). One module per benchmark:

- ``session_speed``: a 30-minute 6-channel session, whole stack, virtual time;
- ``stop_latency``: ``stop(immediate=True)`` to the device's outputs off, with the wire model;
- ``roundtrip_pty``: GET_INFO over a pty to ``python -m simulator`` against a bare echo;
- ``host_cpu``: host CPU of a real-time session over a pty;
- ``cli_start``: ``eactl --help`` against ``python -c pass``;
- ``codec``: frames encoded + decoded per second;
- ``codec_status``: one full 8-channel STATUS through the codec;
- ``tag_cost``: what the HMAC tag costs per round trip and per session;
- ``sweep``: a 200-session sweep through a process pool against one process.

Every run also measures the machine's references (``references``: a bare pty echo and ``python
-c pass``); ``--layers`` adds a cProfile breakdown of ``session_speed`` per layer (``layers``).

Each reports a :class:`~benchmarks.figure.Figure` (median of repeats, a limit measured in the
same run, the ratio and the goal); ``BENCHMARKS.md`` explains every limit and records a run.
"""

from __future__ import annotations

import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def _is_checkout(entry: str) -> bool:
    try:
        return Path(entry or ".").resolve() == _CHECKOUT
    except OSError:
        return False


def _installed_packages_first() -> None:
    """Move the checkout behind the installed packages on ``sys.path``.

    ``python -m benchmarks`` puts the current folder (the checkout) first on ``sys.path``, where
    the source folders ``eacontrol``, ``simulator`` and ``firmware_protocol`` would shadow the
    installed distribution — and ``eacontrol.stored_profiles`` exists only installed (it is the
    checkout's ``profiles/`` folder). With the checkout last, the installed packages are
    benchmarked, and a checkout without an installed copy still works.
    """
    here = [entry for entry in sys.path if _is_checkout(entry)]
    if here:
        sys.path[:] = [entry for entry in sys.path if not _is_checkout(entry)] + here


_installed_packages_first()
