"""Each benchmark runs with tiny parameters and reports every key; ``python -m benchmarks``
writes its JSON. Figures are never checked against a speed here: speed lives in benchmarks/."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.__main__ import FORMAT, main, table
from benchmarks.figure import Figure, median, percentile
from benchmarks.suite import BENCHMARKS, Benchmark, needs_pty

FIGURE_KEYS = {
    "value",
    "unit",
    "limit",
    "limit_is",
    "ratio",
    "goal",
    "met",
    "repeats",
    "samples",
    "details",
}

DETAIL_KEYS = {
    "session_speed": {"through_runner", "wall_s", "simulated_s", "outcomes", "profile"},
    "stop_latency": {"stop_frame_bytes", "stop_wire_ms", "confirmed_median_ms", "max_ms"},
    "roundtrip_pty": {"sim_median_us", "sim_p99_us", "echo_median_us", "echo_p99_us", "p99_ratio"},
    "host_cpu": {"percent_of_core", "outcome", "simulator_child_percent_of_core"},
    "cli_start": {"excess_s", "imports", "python_pass_samples_s"},
    "codec": {"mean_frame_bytes", "us_per_frame", "tag_us_per_frame"},
    "codec_status": {"payload_encode_us", "payload_decode_us", "cobs_encode_us", "cobs_decode_us"},
    "tag_cost": {"round_trip_tagged_us", "round_trip_untagged_us", "tag_us_per_round_trip"},
    "sweep": {"sessions", "serial_wall_s", "pool_wall_s", "tables_equal", "outcomes"},
    "session_speed_ccore": {"python_x_real_time", "c_over_python", "same_outcomes", "outcomes"},
}


def test_every_benchmark_has_its_expected_keys_listed() -> None:
    assert [b.name for b in BENCHMARKS] == list(DETAIL_KEYS)


@pytest.mark.slow
@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda b: b.name)
def test_each_benchmark_runs_quick_and_reports_every_key(bench: Benchmark) -> None:
    if bench.pty and needs_pty():
        pytest.skip("needs POSIX ptys")
    figure = bench.quick()
    assert figure.name == bench.name
    entry = json.loads(json.dumps(figure.to_json()))  # JSON all the way down
    assert set(entry) == FIGURE_KEYS
    assert DETAIL_KEYS[bench.name] <= set(entry["details"])
    assert entry["repeats"] == len(entry["samples"]) >= 1
    assert all(math.isfinite(x) for x in (figure.value, figure.limit, figure.ratio))
    assert figure.limit > 0
    assert math.isclose(figure.value, median(figure.samples))
    assert math.isclose(figure.ratio, figure.value / figure.limit)
    assert figure.met is None or isinstance(figure.met, bool)


def test_session_speed_goes_through_the_runner_and_completes() -> None:
    (bench,) = [b for b in BENCHMARKS if b.name == "session_speed"]
    details = bench.quick().details
    assert details["through_runner"] is True
    assert details["outcomes"] == ["completed"]


def test_the_sweep_benchmark_gets_one_table_from_both_executors() -> None:
    (bench,) = [b for b in BENCHMARKS if b.name == "sweep"]
    details = bench.quick().details
    assert details["tables_equal"] is True
    assert details["outcomes"] == {"completed": details["sessions"]}


def test_stop_latency_is_the_wire_time_in_virtual_time() -> None:
    (bench,) = [b for b in BENCHMARKS if b.name == "stop_latency"]
    figure = bench.quick()
    # Virtual time is exact: an idle link carries the STOP in its wire time and no less.
    assert figure.value >= figure.details["stop_wire_ms"]  # type: ignore[operator]


def test_main_writes_the_json_and_prints_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "results.json"
    assert main(["--quick", "--only", "codec", "--output", str(output)]) == 0
    document = json.loads(output.read_text())
    assert document["format"] == FORMAT
    assert {"date", "git", "machine", "total_wall_s", "benchmarks", "quick"} <= set(document)
    assert {"cpu_model", "cores", "python"} <= set(document["machine"])
    assert {"commit", "dirty"} <= set(document["git"])
    assert set(document["benchmarks"]) == {"codec"}
    assert "wall_s" in document["benchmarks"]["codec"]
    assert "| `codec` |" in capsys.readouterr().out


@pytest.mark.slow
def test_main_records_the_references_and_with_layers_the_breakdown(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    assert main(["--quick", "--only", "codec", "--layers", "--output", str(output)]) == 0
    document = json.loads(output.read_text())
    assert {"bare_echo_us", "python_c_pass_s"} <= set(document["references"])
    assert document["references"]["python_c_pass_s"] > 0
    layers = document["layers"]
    assert layers["outcome"] == "completed"
    assert {"eacontrol.link", "simulator.firmware", "firmware_protocol"} <= set(layers["layers"])
    assert math.isclose(sum(v["percent"] for v in layers["layers"].values()), 100, abs_tol=2)


def test_layer_of_names_a_package_one_level_down() -> None:
    from benchmarks.layers import layer_of

    assert layer_of("/x/eacontrol/link/driver.py") == "eacontrol.link"
    assert layer_of("/x/firmware_protocol/codec.py") == "firmware_protocol"
    assert layer_of("~") == "builtins"


def test_main_refuses_an_unknown_benchmark() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "nonsense"])
    assert exit_info.value.code == 2


def test_table_marks_missed_goals() -> None:
    figure = Figure("x", 2.0, "s", 1.0, "one", 2.0, "<= 1x", False, [2.0])
    assert "**no**" in table([figure])


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 201)]
    assert percentile(values, 99) == 198.0
    assert percentile(values, 100) == 200.0
    assert percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        median([])


def test_the_tag_cost_baseline_computes_no_hmac_and_the_real_tag_comes_back_after() -> None:
    from benchmarks.tag_cost import untagged
    from firmware_protocol import Heartbeat, encode_frame, parse_frame

    def tag_of() -> bytes:
        wire = encode_frame(Heartbeat(), key=bytes(32), session_id=1, counter=1)
        return parse_frame(wire[:-1]).tag

    with untagged():
        assert tag_of() == bytes(16)
    assert tag_of() != bytes(16)
