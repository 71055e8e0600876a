"""A loopback-only Lab Streaming Layer configuration for the tests (issue 17).

liblsl reads its configuration once per process, from the file ``LSLAPICFG`` names, when it is
first used; this one keeps discovery on 127.0.0.1 (machine scope, 127.0.0.1 the only query
address and known peer, no IPv6) and gives the run a session id of its own, so that no other
LSL stream on the computer (another test run, a lab's streams) is seen or sees ours. liblsl
still binds its data ports on every interface; nothing is sent to another address.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LOOPBACK_CFG", "loopback_config"]

LOOPBACK_CFG = """\
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
MachineAddresses = {{127.0.0.1}}
ListenAddress = 127.0.0.1
[lab]
KnownPeers = {{127.0.0.1}}
SessionID = {session}
[log]
level = -2
"""
"""The configuration file (``{session}``: the run's own LSL session id)."""


@contextlib.contextmanager
def loopback_config(folder: Path) -> Iterator[Path]:
    """Write the configuration into ``folder`` and name it in ``LSLAPICFG`` (restored after;
    liblsl keeps what it read first for the rest of the process)."""
    path = folder / "lsl_api.cfg"
    path.write_text(LOOPBACK_CFG.format(session=f"eacontrol-test-{uuid.uuid4().hex}"))
    before = os.environ.get("LSLAPICFG")
    os.environ["LSLAPICFG"] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop("LSLAPICFG", None)
        else:
            os.environ["LSLAPICFG"] = before
