"""Host and simulator together, driven by a hypothesis state machine with faults (issue 8,
part 3).

A ``Stimulator`` (``eacontrol.device.connect``) talks to a ``sim://`` device over a link with
seeded frame loss, corruption, duplication, truncation or delay. The rules do what a script or
a practitioner's screen does — program, start, change the intensity, stop, emergency stop,
wait, clear a fault, read the delivered totals, reconnect — and what the world does: the
application hangs (a blocked loop), an electrode comes off, the load rises past the compliance
voltage, an output sticks, the device reboots, its stop button is pressed, the cable is pulled.

Checked after every step (invariants) or at the step that makes them true:

- **limits**: no output exceeds the device's ``max_intensity_uA``, and no channel's set value or
  output exceeds the highest target the host sent it since its stop was last confirmed (its
  program's target, or a later ``set_intensity``): nothing stimulates harder than asked;
- **lease**: no output is on more than one lease plus one check period after the last lease
  the device granted (watched on the device's clock at every instant it acts:
  ``conftest.DeviceWatch``);
- **STOP**: every ``stop()`` / ``emergency_stop()`` that returned means the device's outputs of
  those channels are off, at that moment, on the device itself;
- **corruption**: a command damaged on the wire changes nothing on the device but its error
  count, and is never answered;
- **charge balance**: every delivered pulse has equal charge in both phases and keeps the
  device's amplitude, width, interphase and phase-charge limits;
- **totals**: what ``stim.dose(ch)`` reports lies between the device's recorder before and after
  the request, and equals it when the channel delivered nothing meanwhile;
- **errors**: everything the Stimulator raises is one of the errors its API documents for that
  call (``EAError`` subclasses), never a stray ``KeyError`` or ``struct.error``.

The run is derandomized (same steps every CI run), counts its steps and fails below 10,000.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import hypothesis.strategies as st
import pytest
import serial
from device_checks import check_new_pulses, damaged, draw_event_fields, snapshot
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from tiers import examples

from eacontrol.device import Stimulator, connect
from eacontrol.errors import (
    DeviceFault,
    DeviceNak,
    EAError,
    LinkLost,
    LinkTimeout,
    PairingClosed,
    ParameterError,
    StopNotConfirmed,
)
from eacontrol.link import Transport
from eacontrol.stimulation import Stimulation
from firmware_protocol import (
    ClearFault,
    GetDose,
    GetStatus,
    Heartbeat,
    KeyKind,
    SetIntensity,
    Stop,
    StopMode,
    encode_frame,
)
from simulator import Device, DeviceEvent, EventKind, SimSerial, register_url_handler

from .conftest import DeviceWatch, ReliabilityReport
from .soak_parts import reopen

register_url_handler()

CI_EXAMPLES = 180
EXAMPLES = int(os.environ.get("EA_STATEFUL_EXAMPLES", 0)) or examples(CI_EXAMPLES)
STEPS_PER_EXAMPLE = 100
MIN_STEPS = 10_000
"""Issue 8: at least 10,000 steps per CI run. 180 examples (the ``ci`` hypothesis profile) of up
to 100 steps give about 15,000 (hypothesis ends an example early when its choice buffer fills);
the ``dev`` profile runs a quarter of them. ``EA_STATEFUL_EXAMPLES=2000`` runs a longer,
different (still derandomized) search, e.g. nightly; fewer examples than on ``ci`` skip the
10,000-step check (a quick look)."""

LINK_FAULTS = (
    "",
    "drop=0.1",
    "corrupt=0.1",
    "duplicate=0.1&truncate=0.05",
    "delay=0.1&delay_ms=30",
    "drop_to_host=0.2&corrupt_to_device=0.05",
)
LOADS = (
    "500",
    "1k",
    "10k",
    "100k",
    "open",
    "short",
    "randles:200,1k,100n",
    "intermittent:1k@300/50",
)
"""100 kOhm takes every intensity above 0.6 mA past the 60 V compliance voltage."""

E = TypeVar("E")

LEASE_SEEN = "lease expiry seen by the host"


def lease_ended(err: DeviceFault) -> bool:
    """Whether ``err`` is the host learning that the lease expired: a channel's latched LEASE,
    or (protocol major 2) the session the expiry closed, its message naming the reason
    (docs/scripting.md, "What happens when your script blocks")."""
    return "LEASE" in err.faults or ("NO_SESSION" in err.faults and "(LEASE)" in str(err))


@st.composite
def programs(draw: st.DrawFn) -> Stimulation:
    """Programs in API units, mostly within the standard and device limits, sometimes not."""
    mode = draw(st.sampled_from(["continuous", "dense_disperse", "intermittent"]))
    phase_us = draw(st.integers(50, 1000))
    # 10 uC per phase at most (a design value, docs/clinical-sources.md): I_uA x t_us = pC.
    most_uA = min(20_000, 10_000_000 // phase_us)
    beyond = draw(st.integers(0, 9)) == 0  # one in ten: beyond the phase-charge limit
    intensity_uA = most_uA + 500 if beyond else draw(st.integers(0, most_uA))
    asym = draw(st.booleans())
    extra: dict[str, Any] = {}
    if mode == "dense_disperse":
        extra = {
            "frequency_b_hz": float(draw(st.integers(1, 200))),
            "phase_width_b_us": float(draw(st.integers(50, 1000))),
            "dwell_a_s": draw(st.sampled_from([1.0, 1.5, 3.0])),
            "dwell_b_s": draw(st.sampled_from([1.0, 1.5, 3.0])),
        }
    elif mode == "intermittent":
        extra = {
            "on_s": draw(st.sampled_from([0.5, 1.5])),
            "off_s": draw(st.sampled_from([0.5, 1.5])),
        }
    return Stimulation(
        frequency_hz=float(draw(st.integers(1, 200))),
        phase_width_us=float(phase_us),
        intensity_mA=intensity_uA / 1000,
        mode=mode,
        interphase_gap_us=float(draw(st.sampled_from([0, 50, 100]))),
        shape="asymmetric_biphasic" if asym else "symmetric_biphasic",
        asym_ratio=draw(st.integers(2, 4)) if asym else 1,
        ramp_up_s=draw(st.sampled_from([2.0, 2.5, 3.0])),
        ramp_down_s=draw(st.sampled_from([0.0, 0.5, 2.0])),
        max_run_s=float(draw(st.integers(1, 20))),
        **extra,
    )


def dose_fields(values: Any) -> tuple[int, ...]:
    """A DOSE in the device's wire units (what GET_DOSE reports), from ``stim.dose``."""
    return (
        values.pulses_a,
        values.pulses_b,
        round(values.time_a_s * 1000),
        round(values.time_b_s * 1000),
        round(values.charge_pos_uC * 1000),
        round(values.charge_neg_uC * 1000),
        round(values.peak_mA * 1000),
        round(values.rms_mA * 1000),
        round(values.on_time_s * 1000),
    )


def recorder_fields(device: Device, index: int) -> tuple[int, ...]:
    """The device's own ledger of a channel, flushed to now, as GET_DOSE would report it."""
    device.channels[index].flush(device.now_us)
    r = device.recorder[index]
    return (
        r.pulses_a,
        r.pulses_b,
        r.time_a_us // 1000,
        r.time_b_us // 1000,
        round(r.charge_pos_nC),
        round(r.charge_neg_nC),
        round(r.peak_uA),
        round(r.rms_uA),
        r.on_time_us // 1000,
    )


MONOTONE = (0, 1, 2, 3, 4, 5, 6, 8)  # every field but rms only grows while nothing resets it


class HostMachine(RuleBasedStateMachine):
    """A Stimulator and its simulated device, with faults on the wire and on the device."""

    steps: ClassVar[int] = 0
    stats: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.stim: Stimulator | None = None

    # --- connection ----------------------------------------------------------------------------

    @initialize(
        channels=st.integers(1, 4),
        seed=st.integers(0, 2**16),
        faults=st.sampled_from(LINK_FAULTS),
        lease_ms=st.sampled_from([200, 500, 1000]),
    )
    def open(self, channels: int, seed: int, faults: str, lease_ms: int) -> None:
        self.url = f"sim://?channels={channels}&seed={seed}&{faults}"
        port = serial.serial_for_url(self.url)
        assert isinstance(port, SimSerial)
        self.port = port
        self.device: Device = port.device
        self.model = self.device.model
        self.channels = channels
        self.lease_ms = lease_ms
        self.watch = DeviceWatch.install(port)
        self.allowed_uA = [0] * channels
        self.stuck: set[int] = set()
        self.checked_until_us = [0] * channels
        self.unplugged = False
        self.programs: dict[int, Stimulation] = {}
        self.dead = True
        self._connect()

    def _connect(self) -> None:
        try:
            self.stim = connect(transport=Transport(self.port, self.url), lease_ms=self.lease_ms)
        except PairingClosed:
            # The PAIR_ACK of sim://'s own pairing was dropped: the device holds a key the host
            # never got and closed its window (PROTOCOL.md §3.1: PAIR_ACK is sent once). The
            # practitioner presses the pairing button again; the next connect pairs.
            self.device.open_pairing_window(self.device.now_us, 60)
            self.stats["pairing window opened again"] += 1
            with contextlib.suppress(serial.SerialException):
                self.port.close()
            return
        except (LinkTimeout, LinkLost, DeviceNak) as err:
            # DeviceNak: BAD_STATE while the old session's outputs still run (until its lease
            # ends them); LinkTimeout: HELLO lost twelve times.
            self.stats[f"connect {type(err).__name__}"] += 1
            with contextlib.suppress(serial.SerialException):
                self.port.close()
            return
        self.programs = {}
        self.dead = False
        self.stats["connected"] += 1

    def teardown(self) -> None:
        stim = self.stim
        if stim is not None and not stim.closed:
            with contextlib.suppress(EAError):
                stim.close(immediate=True)
        if hasattr(self, "port"):
            self.port.close()

    def alive(self) -> bool:
        return not self.dead

    @precondition(lambda self: self.dead and not self.unplugged)
    @rule()
    def reconnect(self) -> None:
        """After a reboot or a lost link: a new session on the same device."""
        reopen(self.stim, self.port)
        self._connect()

    def _call(self, fn: Callable[[], E], *allowed: type[EAError]) -> E | None:
        """Run a Stimulator call; return None when it raised one of the ``allowed`` errors.

        A reboot (DeviceFault REBOOT / NO_SESSION) or a lost link ends this Stimulator: the
        machine reconnects. Anything not allowed propagates and fails the test.
        """
        try:
            return fn()
        except (LinkLost, *allowed) as err:
            self._failed(err)
            return None

    def _failed(self, err: EAError) -> None:
        name = type(err).__name__
        if isinstance(err, DeviceNak):
            name += f" {err.code}"
        elif isinstance(err, DeviceFault):
            name += f" {'/'.join(err.faults)}"
        self.stats[name] += 1
        if isinstance(err, DeviceFault) and lease_ended(err):
            self.stats[LEASE_SEEN] += 1
        # A session the device forgot is a DeviceFault (REBOOT / NO_SESSION), never a DeviceNak.
        assert not (isinstance(err, DeviceNak) and err.code == "NO_SESSION"), err
        gone = isinstance(err, DeviceFault) and bool({"REBOOT", "NO_SESSION"} & set(err.faults))
        if isinstance(err, LinkLost) or gone:
            self.dead = True

    # --- the host ------------------------------------------------------------------------------

    @precondition(alive)
    @rule(channel=st.integers(1, 4), program=programs())
    def program(self, channel: int, program: Stimulation) -> None:
        assert self.stim is not None
        channel = (channel - 1) % self.channels + 1
        index = channel - 1
        before_us = self.port.clock.now_us
        stored_before = self.device.channels[index].program
        try:
            self.stim.program(channel, program)
        except ParameterError as err:
            # Refused by the host: nothing was sent, no time passed.
            self.stats[f"ParameterError {err.parameter}"] += 1
            assert self.port.clock.now_us == before_us
            assert self.device.channels[index].program is stored_before
            return
        except (DeviceNak, DeviceFault, LinkTimeout, LinkLost) as err:
            self._failed(err)
            return
        self.programs[channel] = program
        self.stats["programmed"] += 1

    @precondition(lambda self: self.alive() and bool(self.programs))
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        assert self.stim is not None
        chosen = data.draw(st.sets(st.sampled_from(sorted(self.programs)), min_size=1))
        for channel in chosen:  # the most the device may now deliver on it
            target_uA = round(self.programs[channel].intensity_mA * 1000)
            self.allowed_uA[channel - 1] = max(self.allowed_uA[channel - 1], target_uA)
        stim = self.stim
        if self._call(lambda: stim.start(chosen) or True, DeviceNak, DeviceFault, LinkTimeout):
            self.stats["started"] += 1

    @precondition(alive)
    @rule(data=st.data(), seconds=st.floats(0.5, 4))
    def stimulate(self, data: st.DataObject, seconds: float) -> None:
        """What a script does: stop some channels, clear their faults, program them, start
        them, run a while."""
        assert self.stim is not None
        stim = self.stim
        chosen = data.draw(st.sets(st.integers(1, self.channels), min_size=1))
        status = self._call(lambda: stim.stop(chosen, immediate=True), StopNotConfirmed)
        if status is None:
            self.unconfirmed_stop()
            return
        self._stopped(status, [c - 1 for c in chosen])
        self._call(lambda: stim.clear_fault(chosen), DeviceNak, DeviceFault, LinkTimeout)
        for channel in sorted(chosen):
            if self.dead:
                return
            self.program(channel, data.draw(programs()))
        if not self.dead and self.programs:
            self.start(data)
        if not self.dead:
            self.wait(seconds)

    @precondition(lambda self: self.alive() and bool(self.programs))
    @rule(
        data=st.data(),
        change_uA=st.integers(-2000, 2500),
        beyond=st.integers(0, 9),
        slew=st.sampled_from([0.5, 2.0]),
    )
    def set_intensity(self, data: st.DataObject, change_uA: int, beyond: int, slew: float) -> None:
        """A live change near the program's intensity (one in ten: beyond every limit)."""
        assert self.stim is not None
        status = self.stim.last_status  # a practitioner turns the knob of a running channel
        running = [
            c.channel
            for c in (status.channels if status is not None else ())
            if c.channel in self.programs and c.state.output_active
        ]
        channel = data.draw(st.sampled_from(running or sorted(self.programs)))
        intensity_uA = max(0, round(self.programs[channel].intensity_mA * 1000) + change_uA)
        if beyond == 0:
            intensity_uA = 21_000
        before_us = self.port.clock.now_us
        allowed = self.allowed_uA[channel - 1]
        stim = self.stim
        try:
            self.allowed_uA[channel - 1] = max(allowed, intensity_uA)  # before it is sent
            stim.set_intensity(channel, intensity_uA / 1000, slew_mA_per_s=slew)
        except ParameterError as err:
            self.stats[f"ParameterError {err.parameter}"] += 1
            assert self.port.clock.now_us == before_us  # refused before anything was sent
            self.allowed_uA[channel - 1] = allowed
            return
        except (DeviceNak, DeviceFault, LinkTimeout, LinkLost) as err:
            self._failed(err)
            return
        self.stats["intensity set"] += 1

    def _stopped(self, status: Any, indices: list[int]) -> None:
        """An acknowledged STOP: the device's own outputs of those channels are off, now."""
        for index in indices:
            state = self.device.channel_state(index)
            assert not state.output_active, f"channel {index + 1} {state.name} after stop()"
            assert self.device.output_uA(index) == 0, f"channel {index + 1} drives current"
            self.allowed_uA[index] = 0
        assert status.outputs_off([i + 1 for i in indices])
        self.stats["stop confirmed"] += 1

    @precondition(alive)
    @rule(data=st.data(), immediate=st.booleans())
    def stop(self, data: st.DataObject, immediate: bool) -> None:
        assert self.stim is not None
        everything = st.none()
        some = st.sets(st.integers(1, self.channels), min_size=1)
        chosen = data.draw(everything | some)
        stim = self.stim
        status = self._call(lambda: stim.stop(chosen, immediate=immediate), StopNotConfirmed)
        if status is not None:
            indices = range(self.channels) if chosen is None else [c - 1 for c in chosen]
            self._stopped(status, list(indices))
        else:
            self.unconfirmed_stop()

    @precondition(alive)
    @rule()
    def emergency_stop(self) -> None:
        assert self.stim is not None
        stim = self.stim
        status = self._call(stim.emergency_stop, StopNotConfirmed)
        if status is not None:
            self._stopped(status, list(range(self.channels)))
        else:
            self.unconfirmed_stop()

    def unconfirmed_stop(self) -> None:
        """A stop may go unconfirmed only when the link is gone (unplugged, or lost)."""
        assert self.unplugged or self.dead, "STOP not confirmed on a working link"
        self.dead = True

    @precondition(alive)
    @rule(seconds=st.floats(0, 2.5))
    def wait(self, seconds: float) -> None:
        """The control loop runs: heartbeats keep the lease, faults arrive as DeviceFault."""
        assert self.stim is not None
        stim = self.stim
        self._call(lambda: stim.wait(seconds), DeviceFault)

    @rule(seconds=st.floats(0.01, 1.5))
    def block(self, seconds: float) -> None:
        """The application hangs: time passes and nothing is sent (the lease may expire)."""
        self.port.clock.sleep(seconds)

    @precondition(alive)
    @rule(channels=st.none() | st.sets(st.integers(1, 4), min_size=1))
    def clear_fault(self, channels: set[int] | None) -> None:
        assert self.stim is not None
        if channels is not None:
            channels = {(c - 1) % self.channels + 1 for c in channels}
        stim = self.stim
        self._call(lambda: stim.clear_fault(channels), DeviceNak, DeviceFault, LinkTimeout)

    @precondition(alive)
    @rule(channel=st.integers(1, 4))
    def read_dose(self, channel: int) -> None:
        """The host's view of what a channel delivered is the device's own ledger."""
        assert self.stim is not None
        channel = (channel - 1) % self.channels + 1
        index = channel - 1
        before = recorder_fields(self.device, index)
        stim = self.stim
        dose = self._call(lambda: stim.dose(channel), DeviceNak, DeviceFault, LinkTimeout)
        if dose is None:
            return
        after = recorder_fields(self.device, index)
        told = dose_fields(dose)
        if before == after:
            assert told == after, f"channel {channel}: host {told}, device {after}"
            self.stats["dose exact"] += 1
        else:
            for i in MONOTONE:
                assert before[i] <= told[i] <= after[i], (i, before, told, after)
            self.stats["dose bounded"] += 1

    @precondition(lambda self: self.alive() and not self.unplugged)
    @rule(data=st.data(), flips=st.lists(st.integers(0, 2**20), min_size=1, max_size=3))
    def corrupted_command(self, data: st.DataObject, flips: list[int]) -> None:
        """A command damaged on the wire changes nothing on the device and gets no answer."""
        channel = st.integers(0, self.channels - 1)
        message = data.draw(
            st.one_of(
                st.just(Heartbeat()),
                st.just(GetStatus()),
                st.builds(GetDose, channel=channel),
                st.builds(ClearFault, channel_mask=st.integers(1, 15)),
                st.builds(Stop, channel_mask=st.integers(1, 15), mode=st.sampled_from(StopMode)),
                st.builds(
                    SetIntensity,
                    channel=channel,
                    target_uA=st.integers(0, 20_000),
                    slew_uA_per_s=st.integers(1, 5000),
                ),
            )
        )
        sealed = encode_frame(  # a forger's tag; the damage fails the CRC before it is checked
            message,
            key=bytes(32),
            kind=KeyKind.SESSION,
            session_id=self.device.session_id,
            counter=0x7FF0,
        )
        frame = damaged(sealed, flips)
        self.port.flush()  # nothing of the host's is half-way into the device
        device = self.device
        before = snapshot(device)
        errors = device.rx_err_count
        device.receive(frame, device.now_us)
        assert snapshot(device) == before
        assert device.rx_err_count > errors
        assert not device.take_output(), "a corrupted frame was answered"
        self.stats["corrupted frame ignored"] += 1

    # --- the world -----------------------------------------------------------------------------

    @rule(
        data=st.data(),
        kind=st.sampled_from(
            [EventKind.ELECTRODE_OFF, EventKind.ELECTRODE_ON, EventKind.LOAD] * 3
            + [EventKind.REBOOT, EventKind.STOP_BUTTON, EventKind.STUCK_OUTPUT] * 2
            + [EventKind.UNPLUG]
        ),
    )
    def device_fault(self, data: st.DataObject, kind: EventKind) -> None:
        """An electrode off or back, a new load, a reboot, the stop button, a stuck output or,
        rarely, the cable pulled."""
        if kind is EventKind.UNPLUG and self.unplugged:
            return
        stuck_uA = st.just(0) | st.integers(1, self.model.max_intensity_uA)  # 0 repairs it
        fields = draw_event_fields(
            data, kind, channels=self.channels, loads=LOADS, current_uA=stuck_uA
        )
        if kind is EventKind.STUCK_OUTPUT:
            if fields["current_uA"]:
                self.stuck.add(fields["channel"])
                self.watch.excused.add(fields["channel"])
            else:
                self.stuck.discard(fields["channel"])
                self.watch.excused.discard(fields["channel"])
        now_us = self.port.clock.now_us
        self.port.bench.apply(DeviceEvent(now_us / 1e6, kind, **fields), now_us)
        self.stats[kind.value] += 1
        if kind is EventKind.UNPLUG:
            self.unplugged = True
        if kind is EventKind.STUCK_OUTPUT and fields["current_uA"]:
            channel = fields["channel"]
            self.port.clock.sleep(self.model.check_period_us / 1e6)
            assert self.device.output_uA(channel) == 0, "stuck output not found within a check"

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def count(self) -> None:
        if hasattr(self, "port"):  # not the check before the first rule
            HostMachine.steps += 1

    @invariant()
    def nothing_stimulates_harder_than_asked(self) -> None:
        if not hasattr(self, "device"):
            return
        device = self.device
        for index in range(self.channels):
            output_uA = device.output_uA(index)
            assert output_uA <= self.model.max_intensity_uA
            if index in self.stuck and not device.channel_state(index).output_active:
                continue  # hardware drives it; the device finds it within a check period
            set_uA = device.channels[index].set_uA(device.now_us)
            allowed = self.allowed_uA[index]
            assert set_uA <= allowed and (output_uA <= allowed or index in self.stuck), (
                f"channel {index + 1}: set {set_uA:.0f} uA, output {output_uA:.0f} uA, "
                f"host asked for at most {allowed} uA"
            )

    @invariant()
    def no_output_past_the_lease(self) -> None:
        if hasattr(self, "watch"):
            self.watch.observe()
            assert not self.watch.violations, self.watch.violations[:3]

    @invariant()
    def every_pulse_within_limits_and_charge_balanced(self) -> None:
        if not hasattr(self, "device"):
            return
        if checked := check_new_pulses(self.model, self.device, self.checked_until_us):
            self.stats["pulses checked"] += checked


@pytest.mark.slow
def test_host_and_simulator_under_faults(reliability_report: ReliabilityReport) -> None:
    HostMachine.steps = 0
    HostMachine.stats = Counter()
    started = time.perf_counter()
    run_state_machine_as_test(
        HostMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS_PER_EXAMPLE,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    wall_s = time.perf_counter() - started
    steps, stats = HostMachine.steps, HostMachine.stats
    reliability_report.sections["stateful host + simulator (issue 8.3)"] = [
        f"{steps} steps in {EXAMPLES} examples, {wall_s:.1f} s wall time "
        f"({1000 * wall_s / max(steps, 1):.2f} ms per step)",
        ", ".join(f"{name}: {count}" for name, count in sorted(stats.items())),
    ]
    if EXAMPLES >= CI_EXAMPLES:  # fewer on dev or when asked for: a quick look
        assert steps >= MIN_STEPS, f"only {steps} steps ran"
    # The search reached what it is for: stimulation, live changes, stops, totals, and lease
    # expiry as the host sees it. Hypothesis mixes constants from the loaded non-test modules
    # into its draws, so the derandomized path differs between a run alone and one inside the
    # suite (and with every edit of the code): what is asserted here is common enough on any
    # path to be reached by every run of the ci profile, not a rare branch of one path.
    seen_all = ("started", "intensity set", "stop confirmed", "dose exact", "pulses checked")
    lease = (LEASE_SEEN,) if EXAMPLES >= CI_EXAMPLES else ()
    for seen in (*seen_all, *lease):
        assert stats[seen], f"no {seen!r} in {steps} steps"
