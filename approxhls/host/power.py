"""Board power: idle and loaded windows on a PYNQ power rail, the idle baseline subtracted.

pynq.get_rails() names the rails; DataRecorder samples a sensor in a thread. The rail read by default
depends on the board (ZCU104: the 12V input); boards without sensors (PYNQ-Z2, KV260) report power as
unavailable with the reason, and an external meter's reading can be given instead
(:func:`external_power`). Any sensor failure ends in "unavailable", never in a crash.
"""

from __future__ import annotations

import time

import numpy as np

DEFAULT_RAILS = {"zcu104": "12V", "zcu102": "VCCPSINTFP", "ultra96-v2": "INT", "kv260": None, "pynq-z2": None}


def unavailable(reason: str) -> dict:
    return {"available": False, "reason": reason}


def _column(frame, suffix: str):
    for key in list(frame.keys()):
        if str(key).endswith(suffix):
            return np.asarray(frame[key], dtype=np.float64)
    return None


def measure_power(acc, x, seconds: float = 5.0, idle_seconds: float | None = None, rail: str | None = None,
                  pynq_module=None) -> dict:
    if acc.simulated:
        return unavailable("the C-simulation backend has no power to measure; run on the board")
    board = acc.spec.data.get("board", "")
    rail = rail or DEFAULT_RAILS.get(board)
    idle_seconds = seconds if idle_seconds is None else idle_seconds
    try:
        from approxhls.host.backends import import_pynq

        pynq = import_pynq(pynq_module)
        get_rails = getattr(pynq, "get_rails", None)
        if get_rails is None:
            return unavailable("this pynq has no get_rails (PYNQ.remote does not export power sensors)")
        rails = get_rails()
        if not rails:
            return unavailable(f"no power sensors on this board ({board or 'unknown'}); give an external meter's "
                               f"reading with --external-power-w")
        if rail is None or rail not in rails:
            return unavailable(f"rail {rail!r} not found; this board has {', '.join(sorted(rails))} (choose with --rail)")
        rails[rail].power.value  # probe the sensor once: a dead sensor fails here, with its own error
        recorder = pynq.DataRecorder(rails[rail].power)
        count = 0
        with recorder.record(0.05):
            time.sleep(idle_seconds)
            recorder.mark()
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                acc.predict(x)
                count += len(x)
            loaded_s = time.perf_counter() - t0
        frame = recorder.frame
        marks = _column(frame, "Mark")
        watts = _column(frame, "_power")
        if marks is None or watts is None or not len(watts):
            return unavailable("the recorder returned no samples")
        idle_w, loaded_w = watts[marks == 0], watts[marks >= 1]
        if not len(idle_w) or not len(loaded_w):
            return unavailable("too few power samples in the idle or loaded window; measure for longer")
        idle, loaded = float(idle_w.mean()), float(loaded_w.mean())
    except Exception as e:  # a failing sensor, I2C error, missing pandas: report, do not crash
        return unavailable(f"power sensor failed: {type(e).__name__}: {e}")
    dynamic = loaded - idle
    return {"available": True, "rail": rail, "idle_w": idle, "loaded_w": loaded, "dynamic_w": dynamic,
            "inferences": count, "loaded_seconds": loaded_s,
            "energy_per_inference_j": dynamic * loaded_s / count if count else None,
            "samples": {"idle": int(len(idle_w)), "loaded": int(len(loaded_w))}}


def external_power(loaded_w: float, idle_w: float, inferences: int, seconds: float) -> dict:
    """Power from an external meter's readings (for boards without sensors)."""
    dynamic = loaded_w - idle_w
    return {"available": True, "rail": "external meter", "idle_w": idle_w, "loaded_w": loaded_w, "dynamic_w": dynamic,
            "inferences": inferences, "loaded_seconds": seconds,
            "energy_per_inference_j": dynamic * seconds / inferences if inferences else None}
