"""The host build's ideal output stage (firmware/host/host_stage.c) delivers what the simulator's
does: driven with the same programs, ramps and reading times into a resistor, its readings
(``ea_delivered``) equal ``SimulatedOutputStage.read_delivered``'s field for field.

The stage is compiled with the core's schedule and ramp into a small shared library (with a
glue file of this test's own) and called through ctypes; the Python side is the simulator's
output stage with its recorder on a ``Resistive`` load.
"""

from __future__ import annotations

import ctypes
import dataclasses
import subprocess
from ctypes import c_int32, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p
from pathlib import Path

import pytest

import firmware_protocol as fp
from simulator.ccore import build, unavailable
from simulator.firmware import Delivered, DeviceModel, Drive, Ramp
from simulator.hardware import ChannelRecorder, Resistive, SimulatedOutputStage

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable() is not None, reason=f"C core: {unavailable()}"),
]

ROOT = Path(__file__).resolve().parents[2]
GLUE = """
#include "host_stage.h"
size_t t_stage_size(void) { return sizeof(host_stage); }
size_t t_program_size(void) { return sizeof(ea_set_program); }
void t_drive(host_stage *s, uint64_t t, const ea_drive *d)
{ ea_output_stage h = host_stage_hal(s); h.drive(h.ctx, t, d); }
void t_read(host_stage *s, uint64_t t, ea_delivered *o)
{ ea_output_stage h = host_stage_hal(s); h.read_delivered(h.ctx, t, o); }
uint32_t t_measured(host_stage *s, uint64_t t)
{ ea_output_stage h = host_stage_hal(s); return h.measured_uA(h.ctx, t); }
"""
_U8 = {"channel", "mode", "shape", "asym_ratio"}


class Program(ctypes.Structure):
    _fields_ = tuple(
        (f.name, c_uint8 if f.name in _U8 else c_uint16) for f in dataclasses.fields(fp.SetProgram)
    )


class CRamp(ctypes.Structure):
    _fields_ = (
        ("t0_us", c_uint64),
        ("t1_us", c_uint64),
        ("start_uA", c_int32),
        ("end_uA", c_int32),
    )


class CDrive(ctypes.Structure):
    _fields_ = (("program", ctypes.POINTER(Program)), ("run_start_us", c_uint64), ("ramp", CRamp))


class CDelivered(ctypes.Structure):
    _fields_ = tuple((f.name, c_uint64) for f in dataclasses.fields(Delivered))


@pytest.fixture(scope="module")
def stage_lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    folder = tmp_path_factory.mktemp("stage")
    glue = folder / "glue.c"
    glue.write_text(GLUE)
    src = build.source_dir()
    sources = [src / f"{n}.c" for n in ("ea_schedule", "ea_ramp", "ea_units")]
    target = folder / "libstage.so"
    done = subprocess.run(
        [build.compiler(), *build.CFLAGS, f"-I{src}", f"-I{ROOT / 'firmware' / 'host'}",
         *map(str, sources), str(ROOT / "firmware" / "host" / "host_stage.c"), str(glue),
         "-o", str(target)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lib = ctypes.CDLL(str(target))
    lib.t_stage_size.restype = lib.t_program_size.restype = ctypes.c_size_t
    lib.host_stage_init.argtypes = [c_void_p, c_uint32, c_uint32, c_uint32, c_uint64]
    lib.t_drive.argtypes = [c_void_p, c_uint64, ctypes.POINTER(CDrive)]
    lib.t_read.argtypes = [c_void_p, c_uint64, ctypes.POINTER(CDelivered)]
    lib.t_measured.argtypes = [c_void_p, c_uint64]
    lib.t_measured.restype = c_uint32
    assert lib.t_program_size() == ctypes.sizeof(Program)
    return lib


def program(**fields: int) -> fp.SetProgram:
    base = dict.fromkeys((f.name for f in dataclasses.fields(fp.SetProgram)), 0)
    base |= {"mode": fp.Mode.CONTINUOUS, "shape": fp.Shape.SYMMETRIC_BIPHASIC, "asym_ratio": 1}
    base |= {"freq_a_cHz": 200, "phase_a_us": 300, "target_uA": 2000, "max_run_s": 600}
    return fp.SetProgram(**(base | fields))


PROGRAMS = {
    "2 Hz": program(),
    "100 Hz asymmetric 1:4": program(
        freq_a_cHz=10_000, phase_a_us=200, shape=fp.Shape.ASYMMETRIC_BIPHASIC, asym_ratio=4,
        target_uA=3333,
    ),
    "2/100 Hz dense-disperse": program(
        mode=fp.Mode.DENSE_DISPERSE, freq_b_cHz=10_000, phase_a_us=600, phase_b_us=200,
        dwell_a_ms=3000, dwell_b_ms=3000, target_uA=2999,
    ),
    "intermittent 15 Hz": program(
        mode=fp.Mode.INTERMITTENT, freq_a_cHz=1500, on_ms=1000, off_ms=500, target_uA=4001,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", PROGRAMS)
@pytest.mark.parametrize("load_ohm", [500, 10_000, 20_000])  # 20 kΩ: limited to 3 mA
def test_the_host_stage_reads_what_the_simulated_stage_reads(
    stage_lib: ctypes.CDLL, name: str, load_ohm: int
) -> None:
    wire = PROGRAMS[name]
    model = DeviceModel()
    python = SimulatedOutputStage(model, Resistive(load_ohm), ChannelRecorder(), 0)
    c_stage = ctypes.create_string_buffer(stage_lib.t_stage_size())
    stage_lib.host_stage_init(c_stage, load_ohm, model.compliance_mV, model.max_intensity_uA, 0)
    c_program = Program(**{k: int(v) for k, v in dataclasses.asdict(wire).items()})
    start_us, up_us, down_at_us, down_us = 1_000_003, 2_000_000, 20_000_017, 2_000_000
    drives = [  # (time, ramp): ramp up, hold, ramp down to zero, then no drive
        (start_us, Ramp.over(start_us, 0, wire.target_uA, up_us)),
        (down_at_us, Ramp.over(down_at_us, wire.target_uA, 0, down_us)),
    ]
    readings = [start_us + k * 731_117 for k in range(1, 36)]
    events = sorted([(t, "drive", r) for t, r in drives] + [(t, "read", None) for t in readings])
    events.append((down_at_us + down_us + 5, "stop", None))
    events.append((down_at_us + down_us + 1_000_000, "read", None))
    compared = pulses = 0
    for t_us, kind, ramp in events:
        if kind == "drive":
            assert ramp is not None
            python.drive(t_us, Drive(wire, start_us, ramp))
            c_drive = CDrive(ctypes.pointer(c_program), start_us, CRamp(ramp.t0_us, ramp.t1_us,
                             ramp.start_uA, ramp.end_uA))  # fmt: skip
            stage_lib.t_drive(c_stage, t_us, ctypes.byref(c_drive))
        elif kind == "stop":
            python.drive(t_us, None)
            stage_lib.t_drive(c_stage, t_us, None)
        else:
            out = CDelivered()
            stage_lib.t_read(c_stage, t_us, ctypes.byref(out))
            got = Delivered(**{f.name: getattr(out, f.name) for f in dataclasses.fields(Delivered)})
            assert got == python.read_delivered(t_us), f"{name} at {t_us} µs"
            pulses += got.pulses_a + got.pulses_b
            assert stage_lib.t_measured(c_stage, t_us) == python.measured_uA(t_us)
            compared += 1
    assert compared == len(readings) + 1
    assert pulses > 20
