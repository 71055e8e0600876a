"""The panel's web server: one page, its static files and one WebSocket (Starlette).

Routes (every one behind :class:`~eacontrol.cli.panel.security.Guard`'s Host and Origin
checks):

========================= ===============================================================
``GET /?token=…``         the page (403 without the run's token)
``GET /static/{file}``    its CSS and JavaScript (shipped in the package: no CDN)
``WS /ws?token=…``        live updates and commands (closed with 1008 without the token)
========================= ===============================================================

Messages, JSON objects with a ``type``. From the server: ``hello`` (``client``, ``role``,
``profiles``, ``port``, ``simulated``, ``layers``: the limit layers of ``eactl panel``'s options in
words), ``view`` (the latest snapshot and this page's ``role``, sent whenever the session
loop publishes one, about 20 times a second on the simulator), ``reply`` (``ok``, ``text``: the
answer to this page's last command), ``handover`` (to the controlling page: ``from`` asks for
control). From a page: ``heartbeat`` (every 0.25 s), ``take_control`` (seated at once when no
page controls, else the controlling page is asked), ``accept_handover`` / ``refuse_handover``
(the controlling page's answer), ``history`` (``patient``: only that patient's sessions,
optional) and ``report`` (``session_id``; answered with ``history``/``report`` messages, to any
page), ``start`` (``profile``, ``patient``, ``operator``,
``placement``: the channels whose electrodes the practitioner confirmed, every one), and the
commands of :data:`~eacontrol.cli.panel.actions.ACTIONS` (``channel`` for those of
``CHANNEL_ACTIONS``; ``text`` for ``note``: printable, at most :data:`NOTE_MAX` characters).

The first page to connect controls; the others view: their commands are refused, except STOP,
which any page may press (a stop is never refused; it is recorded with that page's origin). A
controlling page that disconnects frees the seat, and the session loop pauses a running
session at once; one that stops beating is paused after 2 s (``run.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from eacontrol.cli.output import printable
from eacontrol.cli.panel import history
from eacontrol.cli.panel.actions import ACTIONS, CHANNEL_ACTIONS
from eacontrol.cli.panel.attendance import Attendance, Controller
from eacontrol.cli.panel.run import Command, PanelRun, SessionFactory
from eacontrol.cli.panel.security import Guard, query_token, token_ok
from eacontrol.errors import SessionError
from eacontrol.link import Clock

__all__ = ["NOTE_MAX", "PanelServer"]

_HEADERS = {
    # The page loads only its own files and talks only to its own WebSocket; it may not be
    # framed (a page that frames it could trick a click onto +); the token never leaves in a
    # Referer.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_ID_MAX = 64
NOTE_MAX = 400
"""The longest note a page may write (a design value: the record keeps 500 characters, and the
note is recorded after ``panel: note by browser … at ADDRESS: ``)."""


def _bad_id(value: object) -> bool:
    """Whether ``value`` is not an id: printable text of at most 64 characters."""
    return not isinstance(value, str) or value != printable(value) or len(value) > _ID_MAX


@dataclass
class _Client:
    client_id: str
    peer: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    asks: str | None = None  # a page that asked this controller for control (its client id)
    replies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def controller(self) -> Controller:
        return Controller(self.client_id, self.peer)


class PanelServer:
    """The panel: its Starlette app, its clients and its one session at a time."""

    def __init__(
        self,
        factory: SessionFactory,
        *,
        token: str,
        hosts: frozenset[str],
        wall: Clock,
        pace: bool,
        profiles: list[dict[str, Any]],
        port_text: str,
        simulated: bool = False,
        db: Path | str | None = None,
        layers: str = "",
    ) -> None:
        """Build the app.

        Args:
            factory: makes a session on the device (``panel_cmd.py``).
            token: the per-run token of the printed URL.
            hosts: the Host values to answer (``security.allowed_hosts``).
            wall: the real clock (heartbeats, pacing).
            pace: pace the built-in simulator to real time.
            profiles: the profiles offered (``catalog.catalog()``).
            port_text: the device, as the page names it.
            simulated: the device is the built-in simulator (the page says so before a start).
            db: the session database (the history screen reads it; None: the default one).
            layers: the site and patient limit layers in force, in words ("": none given).
        """
        self._token = token
        self._profiles = profiles
        self._port = port_text
        self._simulated = simulated
        self._db = db
        self._layers = layers
        self.attendance = Attendance(wall)
        self.run = PanelRun(factory, self.attendance, wall, self._notify, pace=pace)
        self._clients: dict[str, _Client] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)
        static = resources.files("eacontrol.cli.panel") / "static"
        self._index = (static / "index.html").read_text(encoding="utf-8")
        app = Starlette(
            routes=[
                Route("/", self._page),
                Route("/favicon.ico", lambda request: Response(status_code=204)),
                Mount("/static", StaticFiles(directory=str(static)), name="static"),
                WebSocketRoute("/ws", self._socket),
            ],
            lifespan=self._lifespan,
        )
        self._guard = Guard(app, hosts)
        self.app = self._guard

    def allow(self, hosts: frozenset[str]) -> None:
        """Answer these Host values from now on (the port is known once listening)."""
        self._guard.allow(hosts)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            # A running session is never left behind: emergency stop, confirmed, then joined.
            await asyncio.to_thread(self.run.close)

    def _notify(self) -> None:
        """A new snapshot (any thread): wake every client's sender."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for client in self._clients.values():
            client.wake.set()

    async def _page(self, request: Request) -> Response:
        if not token_ok(request.query_params.get("token"), self._token):
            return PlainTextResponse("refused: this address needs the panel's token\n", 403)
        return HTMLResponse(self._index, headers=_HEADERS)

    # --- the WebSocket -------------------------------------------------------------------------

    async def _socket(self, ws: WebSocket) -> None:
        if not token_ok(query_token(ws.scope["query_string"]), self._token):
            await ws.close(code=1008, reason="this address needs the panel's token")
            return
        await ws.accept()
        peer = ws.client.host if ws.client else "unknown"
        client = _Client(f"{next(self._ids)}-{secrets.token_hex(2)}", peer)
        self._clients[client.client_id] = client
        self.attendance.seat(client.controller)  # controls if no other page does
        await ws.send_json(
            {
                "type": "hello",
                "client": client.client_id,
                "role": self._role(client),
                "profiles": self._profiles,
                "port": self._port,
                "simulated": self._simulated,
                "layers": self._layers,
            }
        )
        sender = asyncio.create_task(self._send_views(ws, client))
        try:
            while True:
                text = await ws.receive_text()
                await self._on_message(client, text)
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            del self._clients[client.client_id]
            if self.attendance.leave(client.client_id):
                self._wake_all()  # the loop pauses a running session at its next tick

    def _role(self, client: _Client) -> str:
        controller = self.attendance.controller
        return "controller" if controller == client.controller else "viewer"

    async def _send_views(self, ws: WebSocket, client: _Client) -> None:
        client.wake.set()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await client.wake.wait()
                client.wake.clear()
                replies, client.replies = client.replies, []
                for reply in replies:
                    await ws.send_json(reply)
                controller = self.attendance.controller
                view = {
                    "type": "view",
                    **self.run.view,
                    "role": self._role(client),
                    "controlled": controller is not None,
                }
                await ws.send_json(view)

    def _replier(self, client: _Client) -> Any:
        def reply(ok: bool, text: str) -> None:  # from any thread
            message = {"type": "reply", "ok": ok, "text": text}
            loop = self._loop
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._queue_reply, client, message)

        return reply

    def _queue_reply(self, client: _Client, message: dict[str, Any]) -> None:
        client.replies.append(message)
        client.wake.set()

    async def _on_message(self, client: _Client, text: str) -> None:
        reply = self._replier(client)
        try:
            message = json.loads(text)
        except ValueError:
            reply(False, "refused: not JSON")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "heartbeat":
            self.attendance.beat(client.client_id)
            return
        if kind == "take_control":
            await self._take_control(client)
            return
        if kind in ("history", "report"):  # reading the record: any page with the token
            await self._history(client, message)
            return
        if kind in ("accept_handover", "refuse_handover"):
            await self._answer_handover(client, kind == "accept_handover")
            return
        if kind not in ("start", *ACTIONS):
            reply(False, f"refused: unknown message {printable(str(kind))!r}")
            return
        if kind != "stop" and self._role(client) != "controller":
            # STOP is never refused: any page with the token may stop (recorded as its own).
            reply(False, "refused: this page is view only (another browser controls)")
            return
        if kind == "start":
            await self._start(client, message)
            return
        channel = message.get("channel")
        wants_channel = kind in CHANNEL_ACTIONS
        if wants_channel and not (isinstance(channel, int) and channel > 0):
            reply(False, "refused: which channel?")
            return
        channel = channel if wants_channel else None
        text = ""
        if kind == "note":
            note = message.get("text")
            text = note.strip() if isinstance(note, str) else ""
            if not text or text != printable(text) or len(text) > NOTE_MAX:
                reply(False, f"refused: a note is printable text of 1 to {NOTE_MAX} characters")
                return
        self.run.submit(Command(kind, channel, client.controller, reply, text))

    async def _take_control(self, client: _Client) -> None:
        """Seat ``client`` if nobody controls; else ask the controlling page to accept."""
        reply = self._replier(client)
        if self.attendance.seat(client.controller):
            reply(True, "this page now controls the session")
            self.run.record(f"control taken by {client.controller.origin}", client.controller)
            self._wake_all()
            return
        holder = self.attendance.controller
        page = self._clients.get(holder.client_id) if holder is not None else None
        if page is None:
            reply(False, "refused: another browser controls the session")
            return
        page.asks = client.client_id
        await self._send(page, {"type": "handover", "from": client.controller.origin})
        reply(True, "asked the controlling page: control passes once it accepts")

    async def _answer_handover(self, client: _Client, accept: bool) -> None:
        reply = self._replier(client)
        asker = self._clients.get(client.asks or "")
        client.asks = None
        if asker is None:
            reply(False, "nobody is asking for control now")
            return
        if not accept:
            reply(True, "this page keeps control")
            self._replier(asker)(False, "refused: the controlling page keeps control")
            return
        if not self.attendance.hand_over(client.controller, asker.controller):
            reply(False, "refused: this page does not control the session")
            return
        self.run.record(
            f"control handed by {client.controller.origin} to {asker.controller.origin}",
            asker.controller,
        )
        reply(True, f"control handed to {asker.controller.origin}")
        self._replier(asker)(True, "this page now controls the session")
        self._wake_all()

    async def _history(self, client: _Client, message: dict[str, Any]) -> None:
        from eacontrol.errors import RecordError

        if message["type"] == "history":
            patient = message.get("patient") or None
            if patient is not None and _bad_id(patient):
                self._replier(client)(
                    False, f"refused: the patient id must be printable text of at most {_ID_MAX}"
                )
                return
            found = await asyncio.to_thread(history.sessions, self._db, patient)
            await self._send(client, {"type": "history", "sessions": found, "patient": patient})
            return
        session_id = message.get("session_id")
        if not isinstance(session_id, int):
            self._replier(client)(False, "refused: which session?")
            return
        try:
            text = await asyncio.to_thread(history.report_text, self._db, session_id)
        except RecordError as err:
            self._replier(client)(False, f"refused: {err}")
            return
        await self._send(client, {"type": "report", "session_id": session_id, "markdown": text})

    async def _send(self, client: _Client, message: dict[str, Any]) -> None:
        self._queue_reply(client, message)

    async def _start(self, client: _Client, message: dict[str, Any]) -> None:
        reply = self._replier(client)
        offered = {p["name"]: p for p in self._profiles}
        profile = message.get("profile")
        if not isinstance(profile, str) or profile not in offered:
            reply(False, "refused: choose one of the stored profiles")
            return
        # The practitioner confirms each channel's electrodes where the profile puts them.
        channels = {c["channel"]: c["points"] for c in offered[profile]["channels"]}
        placed = message.get("placement")
        confirmed = set(placed) if isinstance(placed, list) else set()
        missing = sorted(set(channels) - confirmed)
        if missing:
            names = ", ".join(f"channel {n} ({channels[n]})" for n in missing)
            reply(False, f"refused: confirm the electrode placement of {names}")
            return
        placement = "electrode placement confirmed: " + "; ".join(
            f"channel {n} {channels[n]}" for n in sorted(channels)
        )
        ids: list[str | None] = []
        for key in ("patient", "operator"):
            value = message.get(key) or None
            if value is not None and _bad_id(value):
                reply(False, f"refused: the {key} id must be printable text of at most {_ID_MAX}")
                return
            ids.append(value)
        try:
            self.run.start(profile, ids[0], ids[1], client.controller, placement)
        except SessionError as err:
            reply(False, f"refused: {err}")
            return
        reply(True, f"starting {profile}")
