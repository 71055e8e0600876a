"""Helpers for the panel's server tests: a panel on the built-in simulator, and a page."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as Socket

from eacontrol.cli.layers import Layers
from eacontrol.cli.panel.catalog import catalog
from eacontrol.cli.panel.security import allowed_hosts
from eacontrol.cli.panel.server import PanelServer
from eacontrol.cli.panel_cmd import make_factory
from eacontrol.cli.target import Target
from eacontrol.link import RealClock
from eacontrol.records import RecordStore

TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:8765"
WS = "ws://127.0.0.1:8765"
ORIGIN = {"origin": BASE}
PROFILE = "lbp_2_100hz_han"  # titrated: every channel starts at 0 mA and is raised by hand


def make_server(db: Path, url: str = "sim://?seed=1", layers: Layers | None = None) -> PanelServer:
    """A panel on the built-in simulator, paced to real time, recording into ``db`` (with the
    site and patient ``layers``, as ``eactl panel --site/--patient-flags/...`` gives them)."""
    layers = layers or Layers(None, None)
    return PanelServer(
        make_factory(Target(url, True, None), str(db), layers=layers),
        token=TOKEN,
        hosts=allowed_hosts("127.0.0.1", 8765),
        wall=RealClock(),
        pace=True,
        profiles=catalog(site=layers.site, patient=layers.patient),
        port_text=url,
        db=db,
    )


def client(server: PanelServer) -> TestClient:
    return TestClient(server.app, base_url=BASE)


def notes_of(db: Path, session_id: int) -> list[str]:
    """The notes of session ``session_id`` in ``db``, in order."""
    with RecordStore.open(db) as store:
        return [a.note for a in store.annotations(session_id)]


def _connect(http: TestClient) -> Socket:
    """A page's WebSocket to the panel, with the token and the right Origin."""
    return http.websocket_connect(f"{WS}/ws?token={TOKEN}", headers=ORIGIN)


@contextlib.contextmanager
def page_on(
    db: Path, url: str = "sim://?seed=1", *, start: bool = False, layers: Layers | None = None
) -> Iterator[Page]:
    """A panel recording into ``db`` on ``url`` (with ``layers``) and one page connected to it
    with the token and the right Origin (its profile started when ``start``)."""
    with client(make_server(db, url, layers)) as http, _connect(http) as ws:
        page = Page(ws)
        if start:
            page.start()
        yield page


@contextlib.contextmanager
def pages_on(db: Path, url: str = "sim://?seed=1") -> Iterator[tuple[Page, Page]]:
    """A panel recording into ``db`` on ``url`` and two pages connected to it, both before
    either reads its hello: the first controls, the second views."""
    with client(make_server(db, url)) as http, _connect(http) as first, _connect(http) as second:
        yield Page(first), Page(second)


class Page:
    """One browser page's WebSocket: it beats like the page does (every 0.25 s) while it reads,
    unless told to fall silent."""

    def __init__(self, ws: Socket) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = ws.receive_json()
        assert self.hello["type"] == "hello"
        self.view: dict[str, Any] = {}
        self.replies: list[dict[str, Any]] = []
        self.beating = True
        self._beat_at = 0.0

    @property
    def role(self) -> str:
        return str(self.hello["role"])

    def send(self, **message: Any) -> None:
        self.ws.send_json(message)

    def _read(self) -> dict[str, Any]:
        message: dict[str, Any] = self.ws.receive_json()
        if message["type"] == "view":
            self.view = message
        elif message["type"] == "reply":
            self.replies.append(message)
        now = time.monotonic()
        if self.beating and now - self._beat_at >= 0.25:
            self.send(type="heartbeat")
            self._beat_at = now
        return message

    def until(self, done: Callable[[dict[str, Any]], bool], timeout_s: float = 10.0) -> Any:
        """Read messages until ``done(message)`` (a view or a reply); fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = self._read()
            if done(message):
                return message
        raise AssertionError(f"not seen within {timeout_s} s; last view {self.view}")

    def reply(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """The answer to this page's last command."""
        before = len(self.replies)
        self.until(lambda m: len(self.replies) > before, timeout_s)
        return self.replies[-1]

    def running(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """The first view of a stimulating session."""
        return self.until(  # type: ignore[no-any-return]
            lambda m: m["type"] == "view" and m.get("state") == "running", timeout_s
        )

    def start(self, profile: str = PROFILE, **ids: str) -> dict[str, Any]:
        channels = next(p for p in self.hello["profiles"] if p["name"] == profile)["channels"]
        placement = [c["channel"] for c in channels]
        self.send(type="start", profile=profile, placement=placement, **ids)
        reply = self.reply()
        assert reply["ok"], reply
        return self.running()
