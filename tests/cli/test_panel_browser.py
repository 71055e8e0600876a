"""eactl panel in a real browser (issue 19): Playwright for Python driving Debian's chromium.

Each test starts ``eactl panel`` itself (the installed console script, on the built-in
simulator paced to real time, any free port) and reads the address it prints; Ctrl-C (SIGINT)
ends it, which emergency-stops a running session. The screenshots of docs/panel.md are taken
here, into docs/panel/.

Our own fixtures rather than pytest-playwright; ``chromium`` from apt (``.ci/run`` installs it),
never ``playwright install``. The page's Content-Security-Policy forbids eval, so the waits are
Playwright's ``expect`` on locators, never ``wait_for_function``.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from panel_process import Panel
from playwright.sync_api import Browser, Page, expect, sync_playwright

from eacontrol.records import Outcome

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "panel"
_TMP_SHOTS = Path(tempfile.gettempdir()) / f"eacontrol-panel-shots-{os.getpid()}"
PROFILE = "lbp_2_100hz_han"
DESKTOP = {"width": 1920, "height": 1080}
TABLET = {"width": 768, "height": 1024}
REBOUND = "attacker.example"


@pytest.fixture
def panel(tmp_path: Path) -> Iterator[Callable[..., Panel]]:
    started: list[Panel] = []

    def start(*options: str) -> Panel:
        started.append(Panel(tmp_path / "records.db", *options))
        return started[-1]

    yield start
    for one in started:
        err = one.close()
        assert one.process.returncode == 0, err


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install chromium (.ci/run does)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses root without it
    # DNS rebinding, rehearsed: the attacker's name resolves to this computer.
    args.append(f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=args)
        yield launched
        launched.close()


def _open(browser: Browser, url: str, viewport: dict[str, int], *, touch: bool = False) -> Page:
    context = browser.new_context(viewport=viewport, has_touch=touch)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(url)
    return page


def _shot(page: Page, name: str) -> None:
    """Take the screen's screenshot: into docs/panel/ with ``EA_UPDATE_SCREENSHOTS=1`` (how
    docs/panel.md's pictures are made), else into a temporary folder (a test run leaves the
    tree as it found it; the page clock makes every run's pictures differ)."""
    folder = SHOTS if os.environ.get("EA_UPDATE_SCREENSHOTS") == "1" else _TMP_SHOTS
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))
    assert (folder / f"{name}.png").stat().st_size > 0


def _start(page: Page, patient: str = "P-017", operator: str = "OP-2") -> None:
    page.select_option("#profile", PROFILE)
    page.fill("#patient", patient)
    page.fill("#operator", operator)
    expect(page.locator("#detail")).to_contain_text("BL23-L – BL25-L")
    expect(page.locator("#start")).to_be_disabled()  # until every placement is confirmed
    page.check("#placed-1")
    expect(page.locator("#start")).to_be_disabled()
    page.check("#placed-2")
    page.click("#start")
    expect(page.locator("#state")).to_have_text(re.compile("^STIMULATING"))


def _channel(page: Page, n: int, part: str) -> str:
    return f".channel[data-channel='{n}'] {part}"


def _confirmed(page: Page) -> None:
    result = page.locator("#result")
    expect(result).to_be_visible()
    expect(result).to_have_class(re.compile(r"\bconfirmed\b"))
    expect(result).to_contain_text("STOP CONFIRMED BY THE DEVICE: every output at zero")
    expect(result).to_contain_text("emergency stop")


def test_start_raise_lower_pause_and_stop_by_click(
    browser: Browser, panel: Callable[..., Panel]
) -> None:
    server = panel()
    page = _open(browser, server.url, DESKTOP)
    expect(page.locator("#role")).to_have_text("THIS PAGE CONTROLS")
    page.select_option("#profile", PROFILE)
    expect(page.locator("#detail")).to_contain_text("Duration: 30:00")
    expect(page.locator("#detail")).to_contain_text("1.8 µC")  # the derived phase charge
    expect(page.locator("#detail")).to_contain_text("2 Hz: 900 s, 100 Hz: 900 s")  # eactl show's
    expect(page.locator("#layers")).to_contain_text("the standard layer")
    page.fill("#patient", "P-017")
    page.fill("#operator", "OP-2")
    page.check("#placed-1")
    page.check("#placed-2")
    expect(page.locator("#start")).to_be_enabled()
    _shot(page, "setup-1920x1080")
    _start(page)
    page.click(_channel(page, 1, "button[aria-label^='raise']"))
    expect(page.locator(_channel(page, 1, ".target"))).to_have_text("0.5 mA")
    expect(page.locator(_channel(page, 1, ".set"))).to_have_text("0.50 mA")
    _shot(page, "running-1920x1080")
    page.click(_channel(page, 1, "button[aria-label^='lower']"))
    expect(page.locator(_channel(page, 1, ".target"))).to_have_text("0.0 mA")
    expect(page.locator("#message")).to_have_text("channel 1: target 0 mA")
    page.click("#note")  # typed key by key: Space types a space here, not a STOP
    page.keyboard.type("de qi on channel 1, comfortable")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text(
        re.compile(r"^note recorded at 00:\d\d: de qi on channel 1, comfortable$")
    )
    expect(page.locator("#note")).to_have_value("")
    expect(page.locator("#state")).to_have_text(re.compile("^STIMULATING"))
    page.click("#pause")
    expect(page.locator("#state")).to_have_text(re.compile("^PAUSED"))
    expect(page.locator("#pause")).to_have_text("Resume (from zero)")
    page.fill("#note", "asked for a pause")
    page.click("#add-note")
    expect(page.locator("#message")).to_contain_text(": asked for a pause")
    page.click("#pause")
    expect(page.locator("#state")).to_have_text(re.compile("^STIMULATING"))
    page.click("#stop")
    _confirmed(page)
    expect(page.locator("#noting")).to_be_hidden()  # the session's notes end with it
    expect(page.locator("#after")).to_contain_text("eactl annotate 1 --note TEXT")
    _shot(page, "stopped-1920x1080")
    page.click("#show-history")
    expect(page.locator("#sessions")).to_contain_text("emergency_stop (simulated)")
    page.click("#sessions button")
    expect(page.locator("#report")).to_contain_text("P-017")
    _shot(page, "history-1920x1080")
    page.click("#close-history")
    assert server.outcomes() == [Outcome.EMERGENCY_STOP]
    notes = server.notes()
    for what in ("raise channel 1", "lower channel 1", "pause", "resume", "STOP"):
        assert any(n.startswith(f"panel: {what} by browser ") for n in notes), what
    for note in ("de qi on channel 1, comfortable", "asked for a pause"):
        assert any(
            re.fullmatch(rf"panel: note by browser \S+ at 127\.0\.0\.1: {note}", n) for n in notes
        )


def test_stop_by_space_and_by_escape_on_a_tablet(
    browser: Browser, panel: Callable[..., Panel]
) -> None:
    server = panel()
    page = _open(browser, server.url, TABLET)
    page.select_option("#profile", PROFILE)
    expect(page.locator("#sim")).to_be_visible()  # SIMULATED DEVICE, before any start
    _shot(page, "setup-768x1024")
    _start(page)
    page.click(_channel(page, 2, "button[aria-label^='raise']"))
    expect(page.locator(_channel(page, 2, ".set"))).to_have_text("0.50 mA")
    _shot(page, "running-768x1024")
    page.focus(_channel(page, 2, "button[aria-label^='raise']"))  # Space is STOP, not a click
    page.keyboard.press("Space")
    _confirmed(page)
    _shot(page, "stopped-768x1024")
    page.click("#again")
    _start(page, patient="P-018")
    expect(page.locator("#result")).to_be_hidden()
    page.fill("#note", "patient moved")
    page.focus("#note")
    page.keyboard.press("Escape")  # STOP from the note box too
    _confirmed(page)
    page.click("#show-history")
    expect(page.locator("#sessions tr")).to_have_count(3)  # the header and two sessions
    page.fill("#history-patient", "p-018")  # any case, as the record's query
    page.click("#filter-history")
    expect(page.locator("#history-of")).to_have_text(
        "Sessions of patient p-018 (simulated ones marked)"
    )
    expect(page.locator("#sessions tr")).to_have_count(2)
    expect(page.locator("#sessions")).to_contain_text("P-018")
    expect(page.locator("#sessions")).not_to_contain_text("P-017")
    _shot(page, "history-768x1024")
    page.fill("#history-patient", "P-999")
    page.keyboard.press("Enter")
    expect(page.locator("#sessions")).to_contain_text("no session of patient P-999")
    page.click("#all-history")
    expect(page.locator("#sessions tr")).to_have_count(3)
    assert server.outcomes() == [Outcome.EMERGENCY_STOP, Outcome.EMERGENCY_STOP]
    assert sum(n.startswith("panel: STOP by browser ") for n in server.notes()) == 2


def test_a_closed_browser_pauses_to_zero_within_2_s_and_a_viewer_sees_it(
    browser: Browser, panel: Callable[..., Panel]
) -> None:
    server = panel()
    controller = _open(browser, server.url, DESKTOP)
    expect(controller.locator("#role")).to_have_text("THIS PAGE CONTROLS")
    viewer = _open(browser, server.url, TABLET)
    expect(viewer.locator("#role")).to_have_text("VIEW ONLY")
    _start(controller)
    controller.click(_channel(controller, 1, "button[aria-label^='raise']"))
    expect(viewer.locator(_channel(viewer, 1, ".set"))).to_have_text("0.50 mA")
    expect(viewer.locator(_channel(viewer, 1, "button[aria-label^='raise']"))).to_be_disabled()
    expect(viewer.locator("#pause")).to_be_disabled()
    _shot(viewer, "viewer-768x1024")
    expect(viewer.locator("#take")).to_have_text("Ask for control")
    viewer.click("#take")  # the controller must accept: it refuses
    expect(controller.locator("#handover")).to_be_visible()
    expect(controller.locator("#handover")).to_contain_text("asks for control of the session")
    _shot(controller, "handover-1920x1080")
    controller.click("#refuse")
    expect(viewer.locator("#message")).to_have_text("refused: the controlling page keeps control")
    expect(viewer.locator("#role")).to_have_text("VIEW ONLY")
    controller.context.close()  # the controlling browser is closed mid-session
    alarm = viewer.locator("#alarms")
    expect(alarm).to_contain_text("no controlling browser is connected", timeout=2000)
    expect(viewer.locator("#state")).to_have_text(re.compile("^PAUSED"), timeout=2000)
    # the profile's ramp-down (2 s) to a confirmed zero
    expect(viewer.locator(_channel(viewer, 1, ".set"))).to_have_text("0.00 mA", timeout=3000)
    _shot(viewer, "paused-unattended-768x1024")
    expect(viewer.locator("#take")).to_have_text("Take control")  # the seat is free
    viewer.click("#take")
    expect(viewer.locator("#role")).to_have_text("THIS PAGE CONTROLS")
    viewer.click("#stop")
    _confirmed(viewer)
    assert any("paused unattended: no controlling browser" in n for n in server.notes())


def test_a_device_fault_is_shown_as_an_alarm_and_stop_is_a_tap_on_a_tablet(
    browser: Browser, panel: Callable[..., Panel]
) -> None:
    server = panel("--sim-option", "electrode_off=1@3")
    page = _open(browser, server.url, DESKTOP)
    _start(page)
    page.click(_channel(page, 1, "button[aria-label^='raise']"))
    expect(page.locator("#alarms")).to_contain_text("channel 1", timeout=8000)
    expect(page.locator(_channel(page, 1, ".st"))).to_have_text("HELD")
    expect(page.locator(_channel(page, 1, ".again"))).to_be_visible()  # once re-clipped
    expect(page.locator(_channel(page, 2, ".again"))).to_be_hidden()
    _shot(page, "fault-1920x1080")
    page.click("#stop")
    _confirmed(page)
    page.context.close()
    tablet = _open(browser, server.url, TABLET, touch=True)  # a new page opens on the start screen
    _start(tablet)
    tablet.tap("#stop")
    _confirmed(tablet)
    assert server.outcomes() == [Outcome.EMERGENCY_STOP, Outcome.EMERGENCY_STOP]


def test_a_wrong_token_and_a_foreign_host_are_refused(
    browser: Browser, panel: Callable[..., Panel]
) -> None:
    server = panel()
    page = browser.new_page()
    answer = page.goto(f"{server.base}/?token=guess")
    assert answer is not None and answer.status == 403
    expect(page.locator("body")).to_contain_text("needs the panel's token")
    port = server.base.rsplit(":", 1)[1]
    token = server.url.split("token=")[1]  # even with the token: the name is not the panel's
    answer = page.goto(f"http://{REBOUND}:{port}/?token={token}")
    assert answer is not None and answer.status == 403
    expect(page.locator("body")).to_contain_text("wrong Host")


def test_the_limit_layers_of_eactl_panel_apply_to_the_page(
    browser: Browser, panel: Callable[..., Panel]
) -> None:
    server = panel("--patient-flags", "pregnant", "--calibrated-max", "1=5")
    page = _open(browser, server.url, DESKTOP)
    page.select_option("#profile", PROFILE)
    expect(page.locator("#layers")).to_have_text(
        "patient flags pregnant; calibrated maximum channel 1: 5 mA"
    )
    detail = page.locator("#detail")
    expect(detail).to_contain_text("5 mA (patient)")  # channel 1's ceiling, capped
    expect(detail).to_contain_text("Refused: BL23-L is on the lumbosacral region")
    _shot(page, "refused-setup-1920x1080")
    page.check("#placed-1")
    page.check("#placed-2")
    page.click("#start")  # the session's own checks refuse it, as eactl run's do
    result = page.locator("#result")
    expect(result).to_contain_text("NOT STARTED: nothing was stimulated.")
    expect(result).to_contain_text("ProfileRefused: profile profiles/lbp_2_100hz_han.toml")
    expect(result).to_contain_text("BL23-L is on the lumbosacral region")
    expect(page.locator("#after")).to_be_hidden()
    assert server.outcomes() == []  # no session record began


@contextlib.contextmanager
def _elsewhere(html: str) -> Iterator[int]:
    """Serve ``html`` on another loopback port (another site's page); yields the port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as served:
        thread = threading.Thread(target=served.serve_forever, daemon=True)
        thread.start()
        try:
            yield served.server_address[1]
        finally:
            served.shutdown()
            thread.join()


_ATTACK = """<!doctype html><meta charset="utf-8"><title>another site</title>
<p id="log">tried:</p>
<script>
const log = (t) => { document.getElementById("log").textContent += " " + t; };
const ws = new WebSocket("WS_URL");
ws.onopen = () => {
  log("open");
  for (const m of [{type: "take_control"}, {type: "zero_all"}, {type: "end"}, {type: "stop"}]) {
    ws.send(JSON.stringify(m));
  }
};
ws.onmessage = () => log("message");
ws.onclose = (e) => log(`closed ${e.code}`);
</script>"""


@pytest.mark.parametrize("site", [REBOUND, "127.0.0.1"])
def test_a_page_from_another_site_cannot_open_the_websocket_with_the_token(
    browser: Browser, panel: Callable[..., Panel], site: str
) -> None:
    server = panel()
    page = _open(browser, server.url, DESKTOP)
    _start(page)
    page.click(_channel(page, 1, "button[aria-label^='raise']"))
    expect(page.locator(_channel(page, 1, ".set"))).to_have_text("0.50 mA")
    socket = server.url.replace("http://", "ws://").replace("/?token=", "/ws?token=")
    with _elsewhere(_ATTACK.replace("WS_URL", socket)) as port:
        other = browser.new_page()
        other.goto(f"http://{site}:{port}/")  # another origin, with the right token
        log = other.locator("#log")
        expect(log).to_have_text(re.compile(r"^tried: closed \d+$"))  # never opened
        other.close()
    # nothing it asked took effect: the session runs on, its page controls, channel 1 is set
    expect(page.locator("#state")).to_have_text(re.compile("^STIMULATING"))
    expect(page.locator("#role")).to_have_text("THIS PAGE CONTROLS")
    expect(page.locator(_channel(page, 1, ".set"))).to_have_text("0.50 mA")
    page.click("#stop")
    _confirmed(page)
    notes = server.notes()
    assert sum(n.startswith("panel: STOP by ") for n in notes) == 1
    assert not any("control taken" in n or "zero all" in n or "end by" in n for n in notes)
    assert server.outcomes() == [Outcome.EMERGENCY_STOP]
