"""Connecting to a stimulator: find the port, open it exclusively, identify the device, open an
authenticated session with this host's pairing key (``eacontrol.device.handshake``), and hand
back a ``Stimulator`` (defined in ``eacontrol.device.stimulator`` and re-exported here).

::

    from eacontrol.device.connection import connect
    from eacontrol.stimulation import Stimulation

    with connect("/dev/ttyACM0", device_serial="EA6-000123") as stim:
        crc = stim.program(1, Stimulation(frequency_hz=2, phase_width_us=600, intensity_mA=3))
        stim.start([1])
        stim.wait(60)                      # keeps the lease: the only heartbeat there is
        stim.set_intensity(1, 4.0)
        stim.wait(60)
    # leaving the block stopped channel 1 and confirmed it off

A real device must have been paired with this host first (``eactl pair PORT``; the key is in
``$XDG_CONFIG_HOME/eacontrol/keys/``). With a ``sim://`` URL the connection runs on the
simulator's virtual clock, and pairs by itself in memory with a fresh key the first time it
meets a simulated device (its pairing window is open at boot): nothing is written to disk.
"""

from __future__ import annotations

import logging

from eacontrol.device.handshake import check_lease_ms, hello
from eacontrol.device.pairing import FileKeyStore, KeyStore, sim_key_store
from eacontrol.device.ports import resolve_port
from eacontrol.device.stimulator import Stimulator
from eacontrol.errors import Layer, ParameterError
from eacontrol.link import (
    DEFAULT_BAUDRATE,
    DEFAULT_HISTORY,
    DEFAULT_MAX_ATTEMPTS,
    Clock,
    DEFAULT_REPLY_TIMEOUT_s,
    Link,
    RealClock,
    Transport,
)
from eacontrol.safety.limits import DEFAULT_LEASE_ms

__all__ = ["Stimulator", "connect"]

log = logging.getLogger(__name__)


def connect(
    port: str | None = None,
    *,
    vid: int | None = None,
    pid: int | None = None,
    serial_number: str | None = None,
    device_serial: str | None = None,
    lease_ms: int = DEFAULT_LEASE_ms,
    baudrate: int = DEFAULT_BAUDRATE,
    clock: Clock | None = None,
    keys: KeyStore | None = None,
    reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_s,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    history: int = DEFAULT_HISTORY,
    transport: Transport | None = None,
    initial_counter: int = 0,
) -> Stimulator:
    """Open a port, perform HELLO and return the connected ``Stimulator``.

    Give either ``port`` or a USB selection (``vid``/``pid``/``serial_number``), which is
    resolved to the device's current path, so a re-plugged device is found again.

    Args:
        port: a device path (``/dev/ttyUSB0``, ``COM3``) or pyserial URL (``socket://…``,
            ``spy://…``, ``hwgrep://…``, ``sim://…``).
        vid: USB vendor id to search for.
        pid: USB product id to search for.
        serial_number: USB serial number to search for.
        device_serial: pin the device: its HELLO_ACK serial number must be exactly this.
        lease_ms: heartbeat lease to ask for (200-1000 ms).
        baudrate: line rate for UART bridges.
        clock: host clock; default the port's own (``sim://``: virtual time), else real time.
        keys: where the pairing keys are: default the key files of ``FileKeyStore`` (for a
            ``sim://`` port, an in-memory store of that simulated device that pairs by itself).
        reply_timeout_s: wait for a reply before retransmitting.
        max_attempts: transmissions of a command before ``LinkTimeout``.
        history: frames kept for error reports.
        transport: an already open transport (instead of ``port``).
        initial_counter: the host counter before the first command (tests of its end only).

    Returns:
        The connected stimulator; use it as a context manager.

    Raises:
        ParameterError: neither or both of ``port`` and a USB selection, or a bad ``lease_ms``.
        PortNotFound / PortBusy / LinkError: the port cannot be opened.
        NotPaired: this host holds no key the device accepts (the message names
            ``eactl pair PORT``).
        KeyStoreError: the key file or directory lets others read or write it.
        IncompatibleDevice / IdentityMismatch / DeviceNak / LinkTimeout / LinkFault: the
            handshake failed.
    """
    check_lease_ms(lease_ms)
    searching = vid is not None or pid is not None or serial_number is not None
    if transport is None:
        if (port is None) == (not searching):
            raise ParameterError(
                "port",
                port,
                "a port/URL, or a USB selection (vid, pid, serial_number), not both",
                Layer.SCHEMA,
            )
        url = port if port is not None else resolve_port(vid, pid, serial_number)
        transport = Transport.open(url, baudrate=baudrate)
    link = Link(
        transport,
        clock or transport.clock or RealClock(),
        reply_timeout_s=reply_timeout_s,
        max_attempts=max_attempts,
        history=history,
        initial_counter=initial_counter,
    )
    if keys is None:
        handle = transport.device_handle
        simulated = transport.url.startswith("sim://") and handle is not None
        keys = sim_key_store(handle) if simulated else FileKeyStore()
    try:
        info = hello(
            link, lease_ms=lease_ms, keys=keys, device_serial=device_serial, port=port or None
        )
        stim = Stimulator(link, info)
        stim.status()
    except BaseException:
        link.close()
        raise
    log.info("connected to %s on %s", info, transport.url)
    return stim
