"""The C firmware core (firmware/, docs/firmware.md) through its own make targets.

``make -C firmware test`` checks that the generated codec is current, compiles the core with
-mgeneral-regs-only (no floating point), and builds and runs the C vector driver and unit suite
under gcc and clang with strict C99 flags; ``make -C firmware sanitize`` runs the same two under
ASan and UBSan. These tests run them (each in its own build directory, so parallel workers
never share one) and prove that the checks bite: a stale generated file fails the diff check,
a wrong expectation fails the driver, and the core includes no header beyond the three it may
use.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.firmware

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
VECTORS = ROOT / "firmware_protocol" / "vectors"
GEN_CODEC = FIRMWARE / "tools" / "gen_codec.py"
GEN_VECTORS = FIRMWARE / "tools" / "gen_vectors.py"
CORE_SOURCES = sorted((FIRMWARE / "src").glob("*.c"))
ALLOWED_HEADERS = {"stdint.h", "stddef.h", "string.h"}


def _make(target: str, build: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(FIRMWARE), target, f"BUILD={build}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _counts() -> str:
    """The summary line the driver prints when it ran every vector file's cases."""
    crc = json.loads((VECTORS / "crc.json").read_text())
    auth = json.loads((VECTORS / "auth.json").read_text())
    valid = json.loads((VECTORS / "messages.json").read_text())["valid"]
    invalid = json.loads((VECTORS / "invalid.json").read_text())["invalid"]
    return (
        f"vectors: {len(crc['crc32c'])} crc, {len(crc['cobs'])} cobs, "
        f"{len(auth['hkdf_sha256_rfc5869'])} hkdf, {len(auth['hmac_sha256_rfc4231'])} hmac, "
        f"{len(valid)} messages, {len(invalid)} invalid;"
    )


def test_make_test_runs_every_vector_and_the_units_under_gcc_and_clang(tmp_path: Path) -> None:
    out = _make("test", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    summaries = [line for line in out.stdout.splitlines() if line.startswith("vectors:")]
    assert len(summaries) == 2  # gcc, then clang
    for line in summaries:
        assert line.startswith(_counts())
        assert line.endswith(" 0 failed")
    assert "nofloat: the core compiles with -mgeneral-regs-only" in out.stdout
    units = [line for line in out.stdout.splitlines() if line.startswith("units:")]
    assert len(units) == 2
    assert all(line.endswith(" 0 failed") for line in units)


def test_make_sanitize_runs_the_vectors_under_asan_and_ubsan(tmp_path: Path) -> None:
    out = _make("sanitize", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "-fsanitize=address,undefined" in out.stdout
    assert re.search(r"vectors: .* 0 failed", out.stdout)
    assert re.search(r"units: .* 0 failed", out.stdout)


def test_make_fuzz_runs_the_receive_order_under_libfuzzer(tmp_path: Path) -> None:
    """A bounded libFuzzer run (20000 inputs) of the stream decoder and the receive order."""
    out = _make("fuzz", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Done 20000 runs" in out.stderr


def test_generated_codec_is_current() -> None:
    out = subprocess.run(
        [sys.executable, str(GEN_CODEC), "--check"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout


def test_a_stale_generated_codec_fails_the_check_with_a_diff(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GEN_CODEC), "--out", str(tmp_path)], check=True)
    header = tmp_path / "ea_codec.h"
    header.write_text(header.read_text().replace("EA_MAX_CHANNELS 8u", "EA_MAX_CHANNELS 9u"))
    out = subprocess.run(
        [sys.executable, str(GEN_CODEC), "--check", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "-#define EA_MAX_CHANNELS 9u" in out.stdout
    assert "+#define EA_MAX_CHANNELS 8u" in out.stdout
    assert "1 generated file(s) out of date" in out.stdout


def test_the_driver_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    """A NAK field and a CRC value changed in the tables: the driver reports both and fails."""
    subprocess.run([sys.executable, str(GEN_VECTORS), str(tmp_path / "ea_vectors.h")], check=True)
    tables = tmp_path / "ea_vectors.h"
    text = tables.read_text()
    assert text.count("0xE3069283u") == 1
    assert text.count('{"bad_enum",') == 1
    text = text.replace("0xE3069283u", "0xE3069284u")
    text = re.sub(r'(\{"bad_enum", .*EA_RX_NAK, 3u, )1u', r"\g<1>2u", text)
    tables.write_text(text)
    binary = tmp_path / "driver"
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            f"-I{tmp_path}",
            f"-I{FIRMWARE / 'src'}",
            *map(str, CORE_SOURCES),
            str(FIRMWARE / "tests" / "test_vectors.c"),
            "-o",
            str(binary),
        ],
        check=True,
    )
    out = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "FAIL crc.json: crc32c " in out.stdout
    assert "FAIL bad_enum: NAK field " in out.stdout
    assert "3 failed" in out.stdout  # crc32c, crc32c_update, the NAK field


def test_the_core_includes_only_stdint_stddef_and_string() -> None:
    files = [*CORE_SOURCES, *(FIRMWARE / "src").glob("*.h")]
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        system = set(re.findall(r"#include <([^>]+)>", text))
        assert system <= ALLOWED_HEADERS, f"{path.name}: {system - ALLOWED_HEADERS}"
        for word in ("malloc", "calloc", "realloc", "free(", "float", "double"):
            assert word not in text, f"{path.name} uses {word}"


def test_the_build_needs_only_make_gcc_and_clang() -> None:
    missing = [tool for tool in ("make", "gcc", "clang") if shutil.which(tool) is None]
    assert not missing, f"install {missing} (.ci/run installs clang)"
