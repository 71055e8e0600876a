"""``eactl panel``: the practitioner's panel, a treatment-room web page (issue 19).

Starlette and uvicorn serve one page (plain HTML, CSS and JavaScript in ``static/``: no build
step, no CDN) and one WebSocket. The page holds no control logic: its commands become the same
``Session`` calls ``eactl run``'s keys make, carried out in the session loop's thread
(``run.py``). Modules:

- ``security``: the per-run token and the Host and Origin checks;
- ``attendance``: the controlling browser's seat and heartbeat;
- ``run``: the session's thread, its tick (commands, pause when unattended, pacing);
- ``actions``: each page command as the Session call ``eactl run``'s key makes;
- ``history``: the record's sessions and their reports, read-only;
- ``snapshot``: what the pages draw;
- ``catalog``: the stored profiles offered;
- ``server``: the Starlette app and its WebSocket.

Needs the optional extra ``panel`` (``pip install "eacontrol[panel]"``); ``eactl panel`` says
so when it is missing.
"""

from __future__ import annotations

__all__: list[str] = []
