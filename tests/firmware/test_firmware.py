"""The C firmware core (firmware/, docs/firmware.md) through its own make targets.

``make -C firmware test`` checks that the generated codec is current, compiles the core with
-mgeneral-regs-only (no floating point), and builds and runs the C vector driver, the unit
suites and the transcript replay under gcc and clang with strict C99 flags; ``make -C firmware
sanitize`` runs the same under ASan and UBSan; ``make -C firmware fuzz`` runs both libFuzzer
targets. These tests run them (each in its own build directory, so parallel workers never
share one) and prove that the checks bite: a stale generated file fails the diff check, a
wrong expectation fails the driver, a changed device byte fails the replay, and the core
includes no header beyond the three it may use. Then the core built as a shared library
(``make shlib``) is compared with the Python device function by function: the program and
intensity checks, the program CRC, the rms, the ramp and the mode timing.
"""

from __future__ import annotations

import ctypes
import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import firmware_protocol as fp
from simulator.firmware import (
    DeviceModel,
    Ramp,
    Refused,
    check_intensity,
    check_program,
    freq_at_cHz,
    phase_at_us,
)
from simulator.firmware.units import round_sqrt_ratio

pytestmark = pytest.mark.firmware

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
VECTORS = ROOT / "firmware_protocol" / "vectors"
GEN_CODEC = FIRMWARE / "tools" / "gen_codec.py"
GEN_VECTORS = FIRMWARE / "tools" / "gen_vectors.py"
GEN_TRANSCRIPTS = FIRMWARE / "tools" / "gen_transcripts.py"
CORE_SOURCES = sorted((FIRMWARE / "src").glob("*.c"))
ALLOWED_HEADERS = {"stdint.h", "stddef.h", "string.h"}


def _make(target: str, build: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(FIRMWARE), target, f"BUILD={build}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _run_driver(source: str, tables: Path) -> subprocess.CompletedProcess[str]:
    """Build the C test driver ``firmware/tests/<source>`` with gcc against the generated
    tables in ``tables`` (which it includes), run it there and return what it printed."""
    binary = tables / Path(source).stem
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            f"-I{tables}",
            f"-I{FIRMWARE / 'src'}",
            f"-I{FIRMWARE / 'tests'}",
            *map(str, CORE_SOURCES),
            str(FIRMWARE / "tests" / source),
            "-o",
            str(binary),
        ],
        check=True,
    )
    return subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)


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
    for prefix in ("units:", "device:"):
        lines = [line for line in out.stdout.splitlines() if line.startswith(prefix)]
        assert len(lines) == 2, prefix
        assert all(line.endswith(" 0 failed") for line in lines)
    replays = [line for line in out.stdout.splitlines() if line.startswith("transcripts:")]
    assert len(replays) == 2
    count = len(list((VECTORS / "transcripts").glob("*.json")))
    assert all(line.startswith(f"transcripts: {count} replayed twice") for line in replays)
    assert all(line.endswith(" 0 failed") for line in replays)


def test_make_sanitize_runs_the_vectors_under_asan_and_ubsan(tmp_path: Path) -> None:
    out = _make("sanitize", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "-fsanitize=address,undefined" in out.stdout
    assert re.search(r"vectors: .* 0 failed", out.stdout)
    assert re.search(r"units: .* 0 failed", out.stdout)
    assert re.search(r"device: .* 0 failed", out.stdout)
    assert re.search(r"transcripts: .* 0 failed", out.stdout)


def test_make_fuzz_runs_both_targets_under_libfuzzer(tmp_path: Path) -> None:
    """Bounded libFuzzer runs (20000 inputs each): the stream decoder and the receive order,
    then the whole device with tagged commands reaching the handlers."""
    out = _make("fuzz", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr.count("Done 20000 runs") == 2
    assert "fuzz_device" in out.stdout


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
    out = _run_driver("test_vectors.c", tmp_path)
    assert out.returncode == 1
    assert "FAIL crc.json: crc32c " in out.stdout
    assert "FAIL bad_enum: NAK field " in out.stdout
    assert "3 failed" in out.stdout  # crc32c, crc32c_update, the NAK field


def test_the_transcript_replay_fails_on_a_changed_device_byte(tmp_path: Path) -> None:
    """One byte of one expected device frame changed: the C replay names the transcript and
    the entry, in both modes, and fails."""
    tables = tmp_path / "ea_transcripts.h"
    subprocess.run([sys.executable, str(GEN_TRANSCRIPTS), str(tables)], check=True)
    text = tables.read_text()
    match = re.search(r"(static const uint8_t T(\d+)_OUT(\d+)\[\] = \{0x02, 0x02, 0x01)", text)
    assert match is not None
    text = text.replace(match.group(1), match.group(1)[: -len("0x01")] + "0x03", 1)
    tables.write_text(text)
    out = _run_driver("test_transcripts.c", tmp_path)
    assert out.returncode == 1
    assert f"(foreseeing stages): entry {match.group(3)}:" in out.stdout
    assert f"(every grid instant): entry {match.group(3)}:" in out.stdout
    assert "2 failed" in out.stdout


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


# --- the C core against the Python device, function by function (libeacore.so) -------------

_PROGRAM_FIELDS = [
    ("channel", ctypes.c_uint8),
    ("mode", ctypes.c_uint8),
    ("shape", ctypes.c_uint8),
    ("freq_a_cHz", ctypes.c_uint16),
    ("phase_a_us", ctypes.c_uint16),
    ("freq_b_cHz", ctypes.c_uint16),
    ("phase_b_us", ctypes.c_uint16),
    ("dwell_a_ms", ctypes.c_uint16),
    ("dwell_b_ms", ctypes.c_uint16),
    ("on_ms", ctypes.c_uint16),
    ("off_ms", ctypes.c_uint16),
    ("interphase_us", ctypes.c_uint16),
    ("asym_ratio", ctypes.c_uint8),
    ("target_uA", ctypes.c_uint16),
    ("ramp_up_ms", ctypes.c_uint16),
    ("ramp_down_ms", ctypes.c_uint16),
    ("max_run_s", ctypes.c_uint16),
]


class _CProgram(ctypes.Structure):
    _fields_ = _PROGRAM_FIELDS  # ea_set_program (src/ea_codec.h)


class _CIntensity(ctypes.Structure):
    _fields_ = [
        ("channel", ctypes.c_uint8),
        ("target_uA", ctypes.c_uint16),
        ("slew_uA_per_s", ctypes.c_uint16),
    ]


_LIMIT_NAMES = (
    "max_intensity_uA",
    "min_phase_us",
    "max_phase_us",
    "min_freq_cHz",
    "max_freq_cHz",
    "max_phase_charge_nC",
    "max_slew_uA_per_s",
    "max_run_s",
    "max_interphase_us",
    "max_asym_ratio",
)


class _CLimits(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in _LIMIT_NAMES]  # ea_limits (ea_checks.h)


class _CRefusal(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("field", ctypes.c_uint8), ("limit", ctypes.c_uint32)]


class _CRamp(ctypes.Structure):
    _fields_ = [
        ("t0_us", ctypes.c_uint64),
        ("t1_us", ctypes.c_uint64),
        ("start_uA", ctypes.c_int32),
        ("end_uA", ctypes.c_int32),
    ]


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """The core built by ``make shlib`` (its own build directory)."""
    build = tmp_path_factory.mktemp("shlib")
    out = _make("shlib", build)
    assert out.returncode == 0, out.stdout + out.stderr
    lib = ctypes.CDLL(str(build / "libeacore.so"))
    lib.ea_check_program.argtypes = [
        ctypes.POINTER(_CLimits),
        ctypes.POINTER(_CProgram),
        ctypes.POINTER(_CRefusal),
    ]
    lib.ea_check_intensity.argtypes = [
        ctypes.POINTER(_CLimits),
        ctypes.POINTER(_CProgram),
        ctypes.POINTER(_CIntensity),
        ctypes.POINTER(_CRefusal),
    ]
    lib.ea_round_sqrt_ratio.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
    lib.ea_round_sqrt_ratio.restype = ctypes.c_uint64
    lib.ea_ramp_at.argtypes = [ctypes.POINTER(_CRamp), ctypes.c_uint64]
    lib.ea_ramp_at.restype = ctypes.c_int32
    lib.ea_freq_at_cHz.argtypes = [ctypes.POINTER(_CProgram), ctypes.c_uint64, ctypes.c_uint64]
    lib.ea_freq_at_cHz.restype = ctypes.c_uint32
    lib.ea_phase_at_us.argtypes = [ctypes.POINTER(_CProgram), ctypes.c_uint64, ctypes.c_uint64]
    lib.ea_phase_at_us.restype = ctypes.c_uint32
    lib.ea_program_crc.argtypes = [ctypes.POINTER(_CProgram)]
    lib.ea_program_crc.restype = ctypes.c_uint32
    lib.ea_device_size.restype = ctypes.c_size_t
    return lib


def _random_program(rng: random.Random) -> fp.SetProgram:
    """A SET_PROGRAM near the limits' edges: most fields in range, some just outside."""

    def pick(low: int, high: int) -> int:
        roll = rng.random()
        if roll < 0.08:
            return max(0, low - rng.randint(1, 3))
        if roll < 0.16:
            return min(0xFFFF, high + rng.randint(1, 3))
        return rng.randint(low, high)

    mode = rng.choice(list(fp.Mode))
    shape = rng.choice(list(fp.Shape))
    dense = mode == fp.Mode.DENSE_DISPERSE
    intermittent = mode == fp.Mode.INTERMITTENT
    asym = 1 if shape == fp.Shape.SYMMETRIC_BIPHASIC else rng.randint(2, 8)
    if rng.random() < 0.05:
        asym = rng.randint(0, 10)
    return fp.SetProgram(
        channel=0,
        mode=mode,
        shape=shape,
        freq_a_cHz=pick(100, 20000),
        phase_a_us=pick(50, 1000),
        freq_b_cHz=pick(100, 20000) if dense else (rng.randint(1, 9) if rng.random() < 0.03 else 0),
        phase_b_us=pick(50, 1000) if dense else 0,
        dwell_a_ms=pick(100, 60000) if dense else 0,
        dwell_b_ms=pick(100, 60000) if dense else 0,
        on_ms=pick(100, 60000) if intermittent else 0,
        off_ms=pick(100, 60000) if intermittent else 0,
        interphase_us=pick(0, 500),
        asym_ratio=asym,
        target_uA=pick(0, 20000),
        ramp_up_ms=pick(0, 8000),
        ramp_down_ms=rng.randint(0, 5000),
        max_run_s=pick(1, 3600),
    )


def _c_program(program: fp.SetProgram) -> _CProgram:
    return _CProgram(**{name: int(getattr(program, name)) for name, _ in _PROGRAM_FIELDS})


def test_the_c_checks_refuse_exactly_what_the_python_checks_refuse(core: ctypes.CDLL) -> None:
    """3000 programs near the limits and their intensities: the same verdict, field and
    limit from ea_check_program / ea_check_intensity as from simulator.firmware.checks, and
    the same program CRC."""
    model = DeviceModel()
    limits = _CLimits(**{name: getattr(model, name) for name in _LIMIT_NAMES})
    rng = random.Random(20)
    refused = 0
    for _ in range(3000):
        program = _random_program(rng)
        c_program = _c_program(program)
        refusal = _CRefusal()
        verdict = core.ea_check_program(
            ctypes.byref(limits), ctypes.byref(c_program), ctypes.byref(refusal)
        )
        try:
            check_program(model, program)
            expected: tuple[int, int, int] | None = None
        except Refused as err:
            expected = (err.code, err.field, err.limit)
        got = None if verdict == 0 else (refusal.code, refusal.field, refusal.limit)
        assert got == expected, program
        assert core.ea_program_crc(ctypes.byref(c_program)) == fp.program_crc(program)
        if expected is not None:
            refused += 1
            continue
        for _ in range(3):
            command = fp.SetIntensity(0, rng.randint(0, 21000), rng.randint(0, 5100))
            c_command = _CIntensity(0, command.target_uA, command.slew_uA_per_s)
            verdict = core.ea_check_intensity(
                ctypes.byref(limits),
                ctypes.byref(c_program),
                ctypes.byref(c_command),
                ctypes.byref(refusal),
            )
            try:
                check_intensity(model, program, command)
                expected = None
            except Refused as err:
                expected = (err.code, err.field, err.limit)
            got = None if verdict == 0 else (refusal.code, refusal.field, refusal.limit)
            assert got == expected, (program, command)
    assert 300 < refused < 2700  # both verdicts well exercised


def test_the_c_integer_helpers_equal_the_python_ones(core: ctypes.CDLL) -> None:
    """round_sqrt_ratio (the rms), Ramp.at (rising and falling, floor toward −∞) and the
    dense-disperse/intermittent timing at random instants, against the Python twins."""
    rng = random.Random(21)
    for _ in range(2000):
        denominator = rng.randint(1, 1 << rng.randint(1, 63))
        numerator = (
            rng.randint(0, (1 << 64) - 1)
            if rng.random() < 0.5
            else (rng.randint(0, 70000) ** 2 * denominator + rng.randint(0, denominator))
        )
        expected = round_sqrt_ratio(numerator, denominator)
        if numerator < 1 << 64 and expected < 1 << 31:
            assert core.ea_round_sqrt_ratio(numerator, denominator) == expected
    for _ in range(2000):
        t0 = rng.randint(0, 10**9)
        ramp = Ramp.over(t0, rng.randint(0, 65535), rng.randint(0, 65535), rng.randint(0, 10**8))
        c_ramp = _CRamp(ramp.t0_us, ramp.t1_us, ramp.start_uA, ramp.end_uA)
        t = rng.randint(max(0, t0 - 10), ramp.t1_us + 10)
        assert core.ea_ramp_at(ctypes.byref(c_ramp), t) == ramp.at(t)
    model = DeviceModel()
    for _ in range(500):
        program = _random_program(rng)
        try:
            check_program(model, program)
        except Refused:
            continue
        c_program = _c_program(program)
        start = rng.randint(0, 10**7)
        for _ in range(5):
            t = start + rng.randint(0, 4 * 10**8)
            assert core.ea_freq_at_cHz(ctypes.byref(c_program), start, t) == freq_at_cHz(
                program, start, t
            )
            assert core.ea_phase_at_us(ctypes.byref(c_program), start, t) == phase_at_us(
                program, start, t
            )
