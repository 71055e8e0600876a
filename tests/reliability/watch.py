"""``DeviceWatch``: one simulated device watched from the cable's side, on its own clock.

It notes every lease renewal that reaches the device intact and every time the outputs go on or
off, and flags any instant at which an output is on more than one lease plus one check period
after the last renewal (PROTOCOL.md §3.5). A module of its own (no pytest, no relative imports)
so that the child processes of the signal rows (``signal_child.py``) use the same watch.
"""

from __future__ import annotations

from simulator import Device, DeviceEnd, SimSerial


class DeviceWatch:
    """Watches one simulated device from the cable's side, on the device's clock.

    Install it with :meth:`install` right after the port is opened (before HELLO). It notes
    every lease the device grants (HELLO, HEARTBEAT: ``Device.grant_lease``) and looks at the
    outputs before and after everything the device does (``receive``, ``advance``), so an
    output going off is seen at the device time it went off: at a device deadline (a lease
    check, a ramp's end), at a frame's arrival, or at a fault hook's time (a reboot).

    Attributes:
        device: the simulated device.
        last_renewal_us: device time of the last lease grant, or None.
        lease_ms: the last lease granted (a reboot forgets it; the bound does not).
        zero_at_us: device time at which the outputs last went from on to all off, or None.
        renewal_before_zero_us: the last lease grant at or before ``zero_at_us``.
        ever_on: whether any output was ever on.
        violations: (device time, last grant) of every instant an output was on longer than one
            lease plus one check period after the last grant (PROTOCOL.md §3.5).
        peak_uA: the highest output seen on each wire index, µA.
        excused: wire indices whose output a test made stick. Hardware, not the firmware,
            drives them; the device is allowed the one check period it needs to find them, so
            their current does not count as an output the lease should have stopped.
    """

    def __init__(self, inner: DeviceEnd, device: Device) -> None:
        self._inner = inner
        self.device = device
        self._on = False
        self.last_renewal_us: int | None = None
        self.zero_at_us: int | None = None
        self.renewal_before_zero_us: int | None = None
        self.ever_on = False
        self.violations: list[tuple[int, int | None]] = []
        self.excused: set[int] = set()
        self.peak_uA = [0.0] * device.model.channel_count
        self.lease_ms = 0
        grant = device.grant_lease

        def noted_grant(lease_ms: int) -> None:
            grant(lease_ms)
            self.last_renewal_us = device.now_us
            self.lease_ms = lease_ms

        device.grant_lease = noted_grant  # type: ignore[method-assign]

    @classmethod
    def install(cls, port: SimSerial) -> DeviceWatch:
        """Put a watch between ``port``'s cable and its device."""
        link = port.bench.link
        watch = cls(link.device, port.device)
        link.device = watch
        return watch

    @property
    def bound_us(self) -> int:
        """One lease (the last one granted) plus one check period: the longest an output may
        outlive the last renewal."""
        return self.lease_ms * 1000 + self.device.model.check_period_us

    def time_to_zero_us(self) -> int | None:
        """From the last lease grant before the outputs last went off to that moment."""
        if self.zero_at_us is None or self.renewal_before_zero_us is None:
            return None
        return self.zero_at_us - self.renewal_before_zero_us

    def outputs_on(self) -> bool:
        """True while a channel is active or drives current (stuck outputs excused)."""
        return self._look()

    def _look(self) -> bool:
        """Whether an output is on (as :meth:`outputs_on`); notes each channel's peak."""
        device = self.device
        if device.outputs_off:
            return False
        on = False
        for ch in range(device.model.channel_count):
            uA = device.output_uA(ch)
            if uA > self.peak_uA[ch]:
                self.peak_uA[ch] = uA
            active = device.channel_state(ch).output_active
            on = on or active or (ch not in self.excused and uA > 0)
        return on

    def observe(self) -> None:
        """Look at the outputs now (device time)."""
        now_us = self.device.now_us
        if self._look():
            renewed = self.last_renewal_us
            if renewed is None or now_us - renewed > self.bound_us:
                self.violations.append((now_us, renewed))
            self._on = self.ever_on = True
        elif self._on:
            self._on = False
            self.zero_at_us = now_us
            self.renewal_before_zero_us = self.last_renewal_us

    # --- DeviceEnd (simulator.hardware) -------------------------------------------------------

    def receive(self, data: bytes, now_us: int) -> None:
        self.observe()  # a fault hook (a reboot, a stuck output) may have acted since
        self._inner.receive(data, now_us)
        self.observe()

    def advance(self, now_us: int) -> None:
        self.observe()
        self._inner.advance(now_us)
        self.observe()

    def next_deadline_us(self) -> int | None:
        return self._inner.next_deadline_us()

    def take_output(self) -> bytes:
        return self._inner.take_output()
