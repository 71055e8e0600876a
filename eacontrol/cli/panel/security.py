"""The panel's own safety: who may load the page and talk to its WebSocket.

Three checks, on every HTTP request and every WebSocket handshake (:class:`Guard`, an ASGI
middleware in front of the whole app):

- **Host** must be one of the names the panel listens on (``127.0.0.1:8765``, ``localhost:8765``,
  ``[::1]:8765`` on loopback). A page on an attacker's site whose name was re-pointed at
  127.0.0.1 (DNS rebinding) sends its own name as Host and is refused.
- **Origin**, when the browser sends one (always on a WebSocket handshake and on cross-site
  requests), must be this panel's own (``http://`` + an allowed Host). A WebSocket without an
  Origin is refused too: browsers always send one, so its absence is not a browser.
- **Token**: the page and the WebSocket need the per-run random token the panel printed
  (``?token=…``), compared in constant time. The static files (CSS, JS, no secret in them) are
  served on the Host and Origin checks alone.

Refusals are HTTP 403 (a short text naming the check) or, on a WebSocket, a close with code
1008 (policy violation) before the handshake is accepted.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["Guard", "allowed_hosts", "is_loopback", "new_token", "query_token", "token_ok"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    """A fresh per-run token: 128 random bits, URL-safe (``secrets.token_urlsafe(16)``)."""
    return secrets.token_urlsafe(16)


def token_ok(given: str | None, token: str) -> bool:
    """Whether ``given`` is the token (constant-time comparison)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this computer only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values the panel answers: the listening address, and on loopback every
    loopback name, each with the port."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    names = {shown, *_LOOPBACK_NAMES} if is_loopback(host) else {shown}
    return frozenset(f"{name}:{port}" for name in names)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


class Guard:
    """ASGI middleware: refuse a wrong Host or Origin before the app sees the request."""

    def __init__(self, app: App, hosts: frozenset[str]) -> None:
        """Wrap ``app``; ``hosts``: the allowed Host values (:func:`allowed_hosts`)."""
        self._app = app
        self.allow(hosts)

    def allow(self, hosts: frozenset[str]) -> None:
        """Answer the Host values ``hosts`` (and their ``http://`` Origins) from now on."""
        self._hosts = hosts
        self._origins = frozenset(f"http://{h}" for h in hosts)

    def refusal(self, scope: Scope) -> str | None:
        """Why this request is refused, or None."""
        headers = _headers(scope)
        host = headers.get("host")
        if host not in self._hosts:
            return f"wrong Host {host!r}: open the address the panel printed"
        origin = headers.get("origin")
        if origin is None:
            if scope["type"] == "websocket":
                return "a WebSocket without an Origin"
            return None
        if origin not in self._origins:
            return f"wrong Origin {origin!r}: this panel answers only its own page"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or pass on one request."""
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        why = self.refusal(scope)
        if why is None:
            await self._app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # the connect message
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
        else:
            body = f"refused: {why}\n".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": body})


def query_token(query_string: bytes) -> str | None:
    """The ``token`` parameter of a query string, or None."""
    values = urllib.parse.parse_qs(query_string.decode("latin-1")).get("token")
    return values[0] if values else None
