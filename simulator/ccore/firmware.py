"""``CoreFirmware``: the C firmware core in-process, on Python hardware, in virtual time.

The same interface as ``simulator.firmware.Firmware`` where the rest of the simulator and a
test reach it (bytes in and out, ``advance``, ``next_deadline_us``, the buttons, a reboot, the
counters, STATUS, channel states), with the core (``firmware/src``, ``ea_device.h``) doing the
work. Its HAL is Python objects: one ``hal.OutputStage`` per channel and a ``hal.RandomSource``,
called back through ctypes (``shim.c`` routes every output stage call here with its channel
index; a drive's program arrives as its SET_PROGRAM payload and is decoded by the Python codec).
The pairing keys' flash is a list of slots held by this object, so they survive ``reboot``.

An exception raised in a callback cannot cross C: it is kept, the callback returns a harmless
value, and the exception is raised again as soon as the core call returns.
"""

from __future__ import annotations

import ctypes
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from firmware_protocol import KEY_SIZE, ChannelState, Dose, InfoFlag, SetProgram, Status
from simulator.ccore.library import (
    DRIVE,
    EA_E_FULL,
    EA_E_TIME,
    EA_NO_TICK,
    EA_NOT_LIMITED,
    EA_OK,
    StageFns,
    load,
)
from simulator.firmware.hal import Drive, OutputStage, RandomSource
from simulator.firmware.keys import MAX_KEYS
from simulator.firmware.model import DeviceModel
from simulator.firmware.ramp import Ramp

__all__ = ["CoreFirmware"]

_R = TypeVar("_R")
_FIELDS = ("model", "serial", "fw_version")
_BUFFER = 4096  # ea_device.h: EA_OUTPUT_CAPACITY, the most output the core holds
_PAYLOAD = 300  # larger than any payload (PROTOCOL.md: 293 decoded bytes a frame)


def _model_values(model: DeviceModel) -> list[int]:
    """The model's numbers in shim.c's order: fw_version, then DeviceModel's other fields."""
    rest = [f.name for f in dataclasses.fields(model) if f.name not in _FIELDS]
    return [*model.fw_version, *(int(getattr(model, name)) for name in rest)]


class CoreFirmware:
    """The C core's device, driven by bytes and explicit times, on Python hardware.

    Args:
        model: the device's identity and its own limits table.
        outputs: the output stage of each channel, in channel order.
        rng: the random source (boot ids, session ids, nonces, pairing keys).
        now_us: the time the device is switched on (it boots then and sends EVENT REBOOT).
        keys: pairing keys its flash holds at power-on, by key id (at most 8).

    Raises:
        ValueError: ``outputs`` does not have one stage per channel, too many keys, or the core
            refuses the model.
        simulator.ccore.CoreUnavailable: the C core cannot be built here.

    Attributes:
        model: the device model.
    """

    def __init__(
        self,
        model: DeviceModel,
        *,
        outputs: Sequence[OutputStage],
        rng: RandomSource,
        now_us: int = 0,
        keys: Mapping[int, bytes] | None = None,
    ) -> None:
        if len(outputs) != model.channel_count:
            raise ValueError(f"need {model.channel_count} output stages, got {len(outputs)}")
        held = dict(keys or {})
        if len(held) > MAX_KEYS:
            raise ValueError(f"the key store holds {MAX_KEYS} keys, got {len(held)}")
        self._lib = load()
        self.model = model
        self._outputs = tuple(outputs)
        self._rng = rng
        self._flash: list[tuple[int, bytes] | None] = [None] * MAX_KEYS
        for slot, (key_id, key) in enumerate(held.items()):
            if not 0 < key_id <= 0xFFFF_FFFF or len(key) != KEY_SIZE:
                raise ValueError(f"a key needs an id 1..0xFFFFFFFF and {KEY_SIZE} bytes")
            self._flash[slot] = (key_id, bytes(key))
        self._error: BaseException | None = None
        self._programs: dict[bytes, SetProgram] = {}
        self._fns = self._callbacks()
        values = _model_values(model)
        array = (ctypes.c_uint32 * len(values))(*values)
        status = ctypes.c_int(0)
        handle = self._lib.eacc_new(
            model.model.encode(),
            model.serial.encode(),
            array,
            len(values),
            ctypes.byref(self._fns),
            1,  # foresee: the Python stages answer first_open_tick_us (virtual time)
            1,  # the key store's flash hooks
            now_us,
            ctypes.byref(status),
        )
        self._raise_kept()
        if not handle:
            raise ValueError(f"the C core refused the model {model!r} (result {status.value})")
        self._handle = handle
        self._dev = self._lib.eacc_device(handle)
        self._out = (ctypes.c_uint8 * _BUFFER)()
        self._deadline = ctypes.c_uint64(0)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.eacc_free(handle)
            self._handle = None

    # --- the HAL, called back from C --------------------------------------------------------

    def _guard(self, fallback: _R, call: Callable[..., _R]) -> Callable[..., _R]:
        def guarded(*args: Any) -> _R:
            try:
                return call(*args)
            except BaseException as err:  # kept, raised again when the core call returns
                if self._error is None:
                    self._error = err
                return fallback

        return guarded

    def _raise_kept(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _callbacks(self) -> StageFns:
        out = self._outputs
        fields = dict(StageFns._fields_)

        def make(name: str, fallback: Any, call: Callable[..., Any]) -> Any:
            return fields[name](self._guard(fallback, call))

        def delivered(ch: int, t_us: int, into: Any) -> None:
            reading = out[ch].read_delivered(t_us)
            for i, f in enumerate(dataclasses.fields(reading)):
                into[i] = getattr(reading, f.name)

        def limit(ch: int) -> int:
            value = out[ch].compliance_limit_uA()
            return EA_NOT_LIMITED if value is None else value

        def open_tick(ch: int, first_us: int, period_us: int) -> int:
            tick = out[ch].first_open_tick_us(first_us, period_us)
            return EA_NO_TICK if tick is None else tick

        return StageFns(
            drive=DRIVE(self._guard(None, self._drive)),
            open_relay=make("open_relay", None, lambda ch, t: out[ch].open_relay(t)),
            close_relay=make("close_relay", None, lambda ch, t: out[ch].close_relay(t)),
            self_test_uA=make("self_test_uA", 0, lambda ch, t: out[ch].self_test_uA(t)),
            measured_uA=make("measured_uA", 0, lambda ch, t: out[ch].measured_uA(t)),
            dc_uA=make("dc_uA", 0, lambda ch, t: out[ch].dc_uA(t)),
            contact_lost=make("contact_lost", 0, lambda ch, t: int(out[ch].contact_lost(t))),
            compliance_limit_uA=make("compliance_limit_uA", EA_NOT_LIMITED, limit),
            impedance_ohm=make("impedance_ohm", 0, lambda ch, p, t: out[ch].impedance_ohm(p, t)),
            read_delivered=make("read_delivered", None, delivered),
            clear_delivered=make("clear_delivered", None, lambda ch, t: out[ch].clear_delivered(t)),
            first_open_tick_us=make("first_open_tick_us", EA_NO_TICK, open_tick),
            random_u32=make("random_u32", 0, self._rng.random_u32),
            key_load=make("key_load", 0, self._key_load),
            key_store=make("key_store", None, self._key_store),
            key_erase=make("key_erase", None, self._key_erase),
        )

    def _drive(
        self,
        ch: int,
        t_us: int,
        payload: Any,
        size: int,
        run_start_us: int,
        t0_us: int,
        t1_us: int,
        start_uA: int,
        end_uA: int,
    ) -> None:
        if not payload:
            self._outputs[ch].drive(t_us, None)
            return
        data = ctypes.string_at(payload, size)
        program = self._programs.get(data)
        if program is None:
            program = self._programs[data] = SetProgram.decode(data)
        ramp = Ramp(t0_us, start_uA, t1_us, end_uA)
        self._outputs[ch].drive(t_us, Drive(program, run_start_us, ramp))

    def _key_load(self, slot: int, key_id: Any, key: Any) -> int:
        held = self._flash[slot] if slot < len(self._flash) else None
        if held is None:
            return 0
        key_id[0] = held[0]
        ctypes.memmove(key, held[1], KEY_SIZE)
        return 1

    def _key_store(self, slot: int, key_id: int, key: Any) -> None:
        self._flash[slot] = (key_id, ctypes.string_at(key, KEY_SIZE))

    def _key_erase(self, slot: int) -> None:
        self._flash[slot] = None

    # --- calls into the core ----------------------------------------------------------------

    def _call(self, result: int, now_us: int | None = None) -> None:
        self._raise_kept()
        if result == EA_E_TIME:
            raise ValueError(f"time went backwards: {now_us} µs after {self.now_us} µs")
        if result != EA_OK:
            raise ValueError(f"the C core refused the call (result {result})")

    def receive(self, data: bytes, now_us: int) -> None:
        """Take bytes from the host that arrive at ``now_us`` (any chunking) and answer them."""
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data) if data else None
        self._call(self._lib.ea_device_receive(self._dev, buffer, len(data), now_us), now_us)

    def advance(self, now_us: int) -> None:
        """Run everything due up to and including ``now_us``, in time order.

        Raises:
            ValueError: ``now_us`` is earlier than a time the device has already run to.
        """
        self._call(self._lib.ea_device_advance(self._dev, now_us), now_us)

    def take_output(self) -> bytes:
        """The bytes the device sent since the last call, in order."""
        lib, dev, out = self._lib, self._dev, self._out
        if not lib.ea_device_output_pending(dev):
            return b""
        chunks = []
        while size := lib.ea_device_take_output(dev, out, _BUFFER):
            chunks.append(bytes(out[:size]))
        return b"".join(chunks)

    def next_deadline_us(self) -> int | None:
        """When the device next has something to do on its own, or None."""
        found = self._lib.ea_device_next_deadline_us(self._dev, ctypes.byref(self._deadline))
        self._raise_kept()
        return self._deadline.value if found else None

    @property
    def now_us(self) -> int:
        """The time the device has run up to."""
        return int(self._lib.ea_device_now_us(self._dev))

    def reboot(self, now_us: int) -> None:
        """Power-cycle the device at ``now_us`` (the pairing keys are kept: flash)."""
        self._call(self._lib.ea_device_reboot(self._dev, now_us), now_us)

    def press_stop_button(self, now_us: int) -> None:
        """The device's own stop button: every active channel off, BUTTON_STOP latched."""
        self._call(self._lib.ea_device_press_stop_button(self._dev, now_us), now_us)

    def open_pairing_window(self, now_us: int, seconds: int) -> None:
        """The pairing button: accept one PAIR for ``seconds`` from ``now_us`` (0 closes it).

        Raises:
            ValueError: ``seconds`` is not a whole number 0..3600, or time went backwards.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 3600:
            raise ValueError(f"pairing window must be whole seconds 0..3600, got {seconds!r}")
        self._call(self._lib.ea_device_open_pairing_window(self._dev, now_us, seconds), now_us)

    def hardware_changed(self) -> None:
        """The hardware changed outside a core call (a load, a stuck stage)."""
        self._lib.ea_device_hardware_changed(self._dev)

    # --- keys -------------------------------------------------------------------------------

    def install_key(self, key_id: int, pairing_key: bytes) -> None:
        """Put a known key in the store (``KeyStore.install``).

        Raises:
            ValueError: a key id of 0, a key not 32 bytes long, or a full store.
        """
        if len(pairing_key) != KEY_SIZE:
            raise ValueError(f"a pairing key is {KEY_SIZE} bytes, got {len(pairing_key)}")
        key = (ctypes.c_uint8 * KEY_SIZE).from_buffer_copy(pairing_key)
        result = self._lib.ea_device_install_key(self._dev, key_id, key)
        if result == EA_E_FULL:
            raise ValueError(f"the key store holds {MAX_KEYS} keys already")
        self._call(result)

    def forget_key(self, key_id: int) -> bool:
        """Erase ``key_id``'s key; True if it was held."""
        return bool(self._lib.ea_device_forget_key(self._dev, key_id) == EA_OK)

    def key_held(self, key_id: int) -> bool:
        """True when a key with ``key_id`` is held."""
        return bool(self._lib.ea_device_key_held(self._dev, key_id))

    @property
    def key_count(self) -> int:
        """Keys held."""
        return int(self._lib.ea_device_key_count(self._dev))

    @property
    def flash(self) -> tuple[tuple[int, bytes] | None, ...]:
        """The key store's flash slots as the core's hooks left them: (key id, key) or None."""
        return tuple(self._flash)

    # --- inspection -------------------------------------------------------------------------

    @property
    def boot_id(self) -> int:
        """The random id of the current boot."""
        return int(self._lib.ea_device_boot_id(self._dev))

    @property
    def session_id(self) -> int:
        """The open session's id (0 when none is open)."""
        return int(self._lib.ea_device_session_id(self._dev))

    @property
    def lease_ms(self) -> int:
        """The lease granted to the open session (0 without one)."""
        return int(self._lib.ea_device_lease_ms(self._dev))

    @property
    def lease_valid(self) -> bool:
        """True while the lease has not expired."""
        return bool(self._lib.ea_device_lease_valid(self._dev))

    def info_flags(self) -> InfoFlag:
        """INFO's capability flags as of now."""
        return InfoFlag(self._lib.ea_device_info_flags(self._dev))

    def pairing_window_open(self) -> bool:
        """True while PAIR is accepted."""
        return bool(self._lib.ea_device_pairing_window_open(self._dev))

    def status(self) -> Status:
        """The STATUS message as of now (the core's, decoded by the Python codec)."""
        buffer = (ctypes.c_uint8 * _PAYLOAD)()
        size = self._lib.eacc_status(self._handle, buffer, _PAYLOAD)
        self._raise_kept()
        return Status.decode(bytes(buffer[:size]))

    def dose(self, channel: int) -> Dose:
        """``channel``'s DOSE as of the last reading of its stage (GET_DOSE without reading)."""
        buffer = (ctypes.c_uint8 * _PAYLOAD)()
        size = self._lib.eacc_dose(self._handle, channel, buffer, _PAYLOAD)
        return Dose.decode(bytes(buffer[:size]))

    def channel_state(self, channel: int) -> ChannelState:
        """The state of ``channel`` (PROTOCOL.md §6)."""
        return ChannelState(self._lib.ea_device_channel_state(self._dev, channel))

    def channel_active(self, channel: int) -> bool:
        """True while the core drives ``channel`` (RAMPING, RUNNING or STOPPING)."""
        return bool(self._lib.ea_device_channel_active(self._dev, channel))

    @property
    def rx_err_count(self) -> int:
        """Frames rejected by checks 1–4 and 6 of the receive order since boot."""
        return self.status().rx_err_count

    @property
    def auth_fail_count(self) -> int:
        """Frames dropped since boot for a tag that does not verify."""
        return self.status().auth_fail_count

    @property
    def replay_count(self) -> int:
        """Frames dropped since boot for a counter already used."""
        return self.status().replay_count
