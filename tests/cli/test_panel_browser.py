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

import os
import re
import shutil
import tempfile
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
    expect(page.locator("#detail")).to_contain_text("1.80 µC")  # the derived phase charge
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
    page.click("#pause")
    expect(page.locator("#state")).to_have_text(re.compile("^PAUSED"))
    expect(page.locator("#pause")).to_have_text("Resume (from zero)")
    page.click("#pause")
    expect(page.locator("#state")).to_have_text(re.compile("^STIMULATING"))
    page.click("#stop")
    _confirmed(page)
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
    _start(page)
    expect(page.locator("#result")).to_be_hidden()
    page.keyboard.press("Escape")
    _confirmed(page)
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
