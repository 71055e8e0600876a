"""``eactl panel`` as an operator runs it: the installed command, uvicorn, a real WebSocket."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from panel_process import Panel
from websockets.sync.client import ClientConnection, connect

from eacontrol.records import Outcome

pytestmark = pytest.mark.tcp


def _until(ws: ClientConnection, key: str, value: Any) -> dict[str, Any]:
    while True:  # the socket's own timeout bounds each wait
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message.get(key) == value:
            return message


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 0)])
def test_a_signal_stops_the_running_session_confirmed_before_the_panel_exits(
    tmp_path: Path, signum: int, code: int
) -> None:
    panel = Panel(tmp_path / "records.db")
    address = panel.url.replace("http://", "ws://").replace("/?", "/ws?")
    with connect(address, origin=panel.base) as ws:  # type: ignore[arg-type]
        assert json.loads(ws.recv(timeout=10))["role"] == "controller"
        ws.send(json.dumps({"type": "start", "profile": "lbp_2_100hz_han", "placement": [1, 2]}))
        _until(ws, "state", "running")
        err = panel.close(signum)
    assert panel.process.returncode == code, err
    assert panel.outcomes() == [Outcome.EMERGENCY_STOP]


def test_a_foreign_origin_cannot_open_the_websocket(tmp_path: Path) -> None:
    from websockets.exceptions import InvalidStatus

    panel = Panel(tmp_path / "records.db")
    address = panel.url.replace("http://", "ws://").replace("/?", "/ws?")
    try:
        with pytest.raises(InvalidStatus) as refused:
            connect(address, origin="http://evil.example")  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
    finally:
        panel.close()


@pytest.mark.parametrize("listen", ["0.0.0.0:8765", "clinic-pc:8765", "127.0.0.1"])
def test_a_listen_address_the_host_check_cannot_name_is_a_usage_error(listen: str) -> None:
    script = Path(sys.executable).parent / "eactl"
    done = subprocess.run(
        [str(script), "panel", "--listen", listen], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "--listen" in done.stderr
