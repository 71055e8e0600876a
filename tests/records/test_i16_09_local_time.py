"""Issue 16 item 9: a person reads times in the local zone, named, with its offset; the
record, the JSON report and the exports keep UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from zone import local_zone

from eacontrol.records import (
    RecordStore,
    build_report,
    fmt,
    render_html,
    render_json,
    render_markdown,
)


def test_i16_09_local_time_names_the_zone_and_its_offset() -> None:
    winter = datetime(2026, 12, 6, 22, 46, 3, tzinfo=UTC)
    with local_zone("Europe/Berlin"):
        assert fmt.local_time(winter) == "2026-12-06 23:46:03 CET (+01:00)"
        assert fmt.local_time(winter - timedelta(days=160)) == "2026-06-30 00:46:03 CEST (+02:00)"
        assert fmt.moment("2026-12-06T22:46:03.000000+00:00") == "2026-12-06 23:46:03 CET (+01:00)"
        # another offset in, the same instant out; naive is taken as stored: UTC
        assert fmt.local_time(winter.astimezone(timezone(timedelta(hours=-5)))) == (
            "2026-12-06 23:46:03 CET (+01:00)"
        )
        assert fmt.local_time(winter.replace(tzinfo=None)) == "2026-12-06 23:46:03 CET (+01:00)"
    with local_zone("America/St_Johns"):
        assert fmt.local_time(winter) == "2026-12-06 19:16:03 NST (-03:30)"
    with local_zone("UTC"):
        assert fmt.moment("2026-12-06T22:46:03+00:00") == "2026-12-06 22:46:03 UTC (+00:00)"


def test_i16_09_report_times_are_local_and_its_json_stays_utc(
    store: RecordStore, finished: Any
) -> None:
    with local_zone("Europe/Berlin"):
        report = build_report(store, finished.id)
        md, html, doc = render_markdown(report), render_html(report), render_json(report)
    assert "| Started | 2025-03-04 10:30:00 CET (+01:00) |" in md
    assert "| Ended | 2025-03-04 10:55:02 CET (+01:00) (duration 25 min 2 s) |" in md
    assert "2025-03-04 10:30:00 CET (+01:00)" in html
    assert " UTC" not in md
    session = json.loads(doc)["session"]
    assert session["started_at"] == "2025-03-04T09:30:00.000000+00:00"
    assert session["ended_at"] == "2025-03-04T09:55:02.000000+00:00"
