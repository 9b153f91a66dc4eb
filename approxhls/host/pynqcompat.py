"""What differs between the PYNQ releases the host runs on (3.0.1 and 3.1.x on PYNQ 3 images, 4.0.0), in one place.

Read from the three releases' own code (pynq/lib/dma.py, pynq/ps.py, pynq/buffer.py, pynq/__init__.py):

* DMA ``wait()``: 3.1 and later drop the channel's active buffer after a wait (a second ``wait()`` on a receive
  channel then fails with AttributeError); 3.0.1 keeps it. The host calls ``wait()`` once per ``transfer()`` and
  only after its own DMASR polling saw the channel idle, which is right for both.
* DMA description: 3.1 and later refuse a description without ``"device"``; 3.0.1 falls back to the active device.
  Descriptions built here always carry it.
* Clocks: 3.0.1 picks the clock registers from the CPU it runs on (``pynq.ps.CPU_ARCH``) and the active device;
  3.1 and later from ``Clocks.device`` (``Clocks.set_device``) and its ``arch``; 3.x's ``Clocks.get_pl_clk()``
  returns None (a missing return, fixed in 4.0), so the host reads ``Clocks.fclk0_mhz``, which works in all three.
* Power: ``pynq.get_rails`` / ``DataRecorder`` are not exported under PYNQ.remote (4.0, ``PYNQ_REMOTE_DEVICES``);
  ``pynq.pmbus`` itself is the same file in 3.0.1, 3.1.2 and 4.0.0. Rail names come from the board's sensor
  configuration, not from the release.
"""

from __future__ import annotations

import contextlib


def version(pynq) -> tuple[int, ...]:
    """(major, minor, patch) of an imported pynq module."""
    text = str(getattr(pynq, "__version__", "0"))
    parts = []
    for p in text.split(".")[:3]:
        digits = "".join(c for c in p if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (3 - len(parts)))


def clears_buffer_after_wait(pynq) -> bool:
    """Whether this release's DMA channel forgets its buffer in ``wait()`` (3.1 and later)."""
    return version(pynq) >= (3, 1, 0)


def clocks_take_a_device(pynq) -> bool:
    """Whether ``pynq.Clocks`` is bound to a device (3.1 and later) instead of the CPU it runs on (3.0.1)."""
    return hasattr(pynq.Clocks, "set_device")


def fclk0_mhz(pynq) -> float:
    """PL clock 0 in MHz, read from the PS clock registers by this release's Clocks code."""
    return float(pynq.Clocks.fclk0_mhz)


def _forget_clock_instance(pynq) -> None:
    # the metaclass caches the register driver of the first device it saw, in every release
    with contextlib.suppress(AttributeError):
        del pynq.Clocks._real_instance


@contextlib.contextmanager
def clocks_on(pynq, device, arch: str):
    """Point ``pynq.Clocks`` at ``device`` (a PS of architecture ``arch``: "aarch64" ZynqMP, "armv7l" Zynq-7000)
    for the duration, the way each release finds its device, and restore what was there."""
    import pynq.ps as ps
    from pynq.pl_server.device import Device

    saved_active = Device.__dict__.get("_active_device", getattr(Device, "_active_device", None))
    saved_arch, saved_device = ps.CPU_ARCH, getattr(pynq.Clocks, "device", None)
    _forget_clock_instance(pynq)
    if clocks_take_a_device(pynq):
        pynq.Clocks.set_device(device)
    else:  # 3.0.1: the clock registers are those of the CPU pynq runs on, reached through the active device
        ps.CPU_ARCH = arch
        Device.active_device = device
    try:
        yield
    finally:
        _forget_clock_instance(pynq)
        ps.CPU_ARCH = saved_arch
        if clocks_take_a_device(pynq):
            pynq.Clocks.device = saved_device
        elif saved_active is None:
            with contextlib.suppress(AttributeError):
                del Device._active_device
        else:
            Device.active_device = saved_active


def get_rails(pynq):
    """``pynq.get_rails``, or None where this pynq does not export it (PYNQ.remote)."""
    return getattr(pynq, "get_rails", None)
