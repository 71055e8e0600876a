"""The C core's shared library loaded with ctypes: the functions of ``ea_device.h`` and of the
binding's ``shim.c``, with their argument and result types, and the callback table the shim
calls the Python HAL through.

Loaded once per process (``load``), built first if needed (``simulator.ccore.build``). Only
``simulator.ccore.firmware`` calls into it.
"""

from __future__ import annotations

import ctypes
import functools
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_int,
    c_size_t,
    c_uint,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)

from simulator.ccore.build import library_path

__all__ = [
    "DRIVE",
    "EA_E_ABSENT",
    "EA_E_FULL",
    "EA_E_TIME",
    "EA_E_VALUE",
    "EA_NOT_LIMITED",
    "EA_NO_TICK",
    "EA_OK",
    "StageFns",
    "load",
]

EA_OK = 0
EA_E_VALUE = -2
EA_E_TIME = -5
EA_E_FULL = -6
EA_E_ABSENT = -7
EA_NOT_LIMITED = 0xFFFF_FFFF
"""ea_hal.h: compliance_limit_uA's "not limited" (hal.py's None)."""
EA_NO_TICK = 0xFFFF_FFFF_FFFF_FFFF
"""ea_hal.h: first_open_tick_us's "no check will find the contact lost" (None)."""

_U8P = POINTER(c_uint8)

DRIVE = CFUNCTYPE(
    None,
    c_uint,
    c_uint64,
    _U8P,
    c_size_t,
    c_uint64,
    c_uint64,
    c_uint64,
    ctypes.c_int32,
    ctypes.c_int32,
)
"""drive(ch, t_us, program payload or NULL, its length, run_start_us, ramp t0, t1, start, end)"""
_AT = CFUNCTYPE(None, c_uint, c_uint64)
_READ_AT = CFUNCTYPE(c_uint32, c_uint, c_uint64)


class StageFns(ctypes.Structure):
    """``eacc_stage_fns`` of shim.c: the output stages' calls (channel index first), the random
    source and the key store's flash."""

    _fields_ = (
        ("drive", DRIVE),
        ("open_relay", _AT),
        ("close_relay", _AT),
        ("self_test_uA", _READ_AT),
        ("measured_uA", _READ_AT),
        ("dc_uA", _READ_AT),
        ("contact_lost", CFUNCTYPE(c_int, c_uint, c_uint64)),
        ("compliance_limit_uA", CFUNCTYPE(c_uint32, c_uint)),
        ("impedance_ohm", CFUNCTYPE(c_uint32, c_uint, c_uint32, c_uint64)),
        ("read_delivered", CFUNCTYPE(None, c_uint, c_uint64, POINTER(c_uint64))),
        ("clear_delivered", _AT),
        ("first_open_tick_us", CFUNCTYPE(c_uint64, c_uint, c_uint64, c_uint64)),
        ("random_u32", CFUNCTYPE(c_uint32)),
        ("key_load", CFUNCTYPE(c_int, c_uint, POINTER(c_uint32), _U8P)),
        ("key_store", CFUNCTYPE(None, c_uint, c_uint32, _U8P)),
        ("key_erase", CFUNCTYPE(None, c_uint)),
    )


_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "eacc_model_values": (c_size_t, []),
    "eacc_new": (
        c_void_p,
        [
            c_char_p,
            c_char_p,
            POINTER(c_uint32),
            c_size_t,
            POINTER(StageFns),
            c_int,
            c_int,
            c_uint64,
            POINTER(c_int),
        ],
    ),
    "eacc_free": (None, [c_void_p]),
    "eacc_device": (c_void_p, [c_void_p]),
    "eacc_status": (c_size_t, [c_void_p, _U8P, c_size_t]),
    "eacc_dose": (c_size_t, [c_void_p, c_uint8, _U8P, c_size_t]),
    "ea_device_receive": (c_int, [c_void_p, _U8P, c_size_t, c_uint64]),
    "ea_device_advance": (c_int, [c_void_p, c_uint64]),
    "ea_device_take_output": (c_size_t, [c_void_p, _U8P, c_size_t]),
    "ea_device_output_pending": (c_size_t, [c_void_p]),
    "ea_device_next_deadline_us": (c_int, [c_void_p, POINTER(c_uint64)]),
    "ea_device_reboot": (c_int, [c_void_p, c_uint64]),
    "ea_device_press_stop_button": (c_int, [c_void_p, c_uint64]),
    "ea_device_open_pairing_window": (c_int, [c_void_p, c_uint64, c_uint32]),
    "ea_device_hardware_changed": (None, [c_void_p]),
    "ea_device_install_key": (c_int, [c_void_p, c_uint32, _U8P]),
    "ea_device_forget_key": (c_int, [c_void_p, c_uint32]),
    "ea_device_key_held": (c_int, [c_void_p, c_uint32]),
    "ea_device_key_count": (c_size_t, [c_void_p]),
    "ea_device_boot_id": (c_uint32, [c_void_p]),
    "ea_device_now_us": (c_uint64, [c_void_p]),
    "ea_device_session_id": (c_uint32, [c_void_p]),
    "ea_device_lease_ms": (c_uint16, [c_void_p]),
    "ea_device_lease_valid": (c_int, [c_void_p]),
    "ea_device_info_flags": (c_uint8, [c_void_p]),
    "ea_device_pairing_window_open": (c_int, [c_void_p]),
    "ea_device_channel_state": (c_uint8, [c_void_p, c_uint8]),
    "ea_device_channel_faults": (c_uint8, [c_void_p, c_uint8]),
    "ea_device_channel_active": (c_int, [c_void_p, c_uint8]),
}


@functools.cache
def load() -> ctypes.CDLL:
    """The core's library, built if needed and loaded, with every function typed.

    Raises:
        simulator.ccore.build.CoreUnavailable: it cannot be built here (names what is missing).
    """
    lib = ctypes.CDLL(str(library_path()))
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib
