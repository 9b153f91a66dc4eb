"""Board power: the PL rail (VCCINT / INT) and the board rail (12V) read by one sampler thread, an idle
baseline, then repeated loaded windows; energy per inference with a 95% confidence interval over the windows.

pynq's rails come from libsensors; a dead sensor reads 0 W instead of failing and some rails carry only a
voltage sensor, so every rail is checked before it is trusted and each unavailable figure says why. A failure
of the workload itself (a DMA error, a stall) is not a sensor failure: it propagates as the board's error.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from approxhls.host.latency import unavailable

# rail names per role, first match wins (PYNQ's names on ZCU104 / ZCU102 / Ultra96 / KV260 images)
PL_RAILS = ("VCCINT", "INT", "PL_VCCINT", "VCCINT_PL")
BOARD_RAILS = ("12V", "VCC12", "VIN", "PSU_12V")
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def t95(dof: int) -> float:
    return T95.get(dof, 1.96)


def rail_reader(rail):
    """A function returning the rail's watts, or (None, why) when the rail cannot give power."""
    power = getattr(rail, "power", None)
    if power is not None:
        return lambda: float(power.value), "power sensor"
    v, c = getattr(rail, "voltage", None), getattr(rail, "current", None)
    if v is not None and c is not None:
        return lambda: float(v.value) * float(c.value), "voltage x current"
    return None, f"rail {rail.name} has only a {'voltage' if v is not None else 'current'} sensor: no power reading"


def choose_rails(rails: dict, names=None) -> tuple[dict, dict]:
    """{role: (name, reader)} for the PL and board rails (or the named ones), and {role: why} for the missing."""
    chosen, missing = {}, {}
    wanted = {n: (n,) for n in names} if names else {"pl": PL_RAILS, "board": BOARD_RAILS}
    for role, candidates in wanted.items():
        name = next((n for n in candidates if n in rails), None)
        if name is None:
            missing[role] = f"no rail named {' / '.join(candidates)} (this board has: {', '.join(sorted(rails)) or 'none'})"
            continue
        reader, how = rail_reader(rails[name])
        if reader is None:
            missing[role] = how
            continue
        chosen[role] = (name, reader)
    return chosen, missing


class Sampler:
    """Reads every chosen rail every ``interval`` seconds in one thread; marks tag the samples by window."""

    def __init__(self, readers: dict, interval: float = 0.02):
        self.readers, self.interval = readers, interval
        self.rows: list[tuple[int, float, tuple]] = []
        self.window = -1
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            try:
                values = tuple(r() for _, r in self.readers.values())
            except Exception as e:  # an I2C error: stop sampling, say why
                self.error = f"{type(e).__name__}: {e}"
                return
            self.rows.append((self.window, time.perf_counter(), values))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def values(self, window: int) -> np.ndarray:
        return np.array([v for w, _, v in self.rows if w == window], dtype=np.float64).reshape(-1, len(self.readers))


def _ci(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(t95(len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def _rails_of(acc, rails) -> tuple[dict, dict] | dict:
    """(chosen, missing) as :func:`choose_rails` gives them, or an unavailable figure saying why there are none."""
    board = getattr(acc.backend, "platform", None)
    if board is None:
        return unavailable("the C-simulation backend has no power to measure; run on the board")
    try:
        available = board.rails()
    except Exception as e:  # no libsensors, PYNQ.remote, ...
        return unavailable(f"the board's power rails cannot be listed ({type(e).__name__}: {e})")
    if not available:
        return unavailable(f"no power sensors on this board ({acc.spec.data.get('board', 'unknown')}): pynq found no "
                           f"rails (libsensors missing, or a board without PMBus sensors such as PYNQ-Z2 / KV260); "
                           f"give an external meter's readings with --external-power-w / --external-idle-w")
    chosen, missing = choose_rails(available, rails)
    if not chosen:
        return unavailable("; ".join(missing.values()))
    return chosen, missing


def _run_windows(acc, x, sampler: Sampler, idle_seconds: float, per_window: float, windows: int):
    """Window 0 idle, then windows 1.. loaded with back-to-back inferences: (inferences, seconds) per window."""
    counts, durations = [], []
    time.sleep(min(0.5, idle_seconds))  # let the rails settle after whatever ran before
    sampler.window = 0
    time.sleep(idle_seconds)
    for w in range(1, windows + 1):
        sampler.window = w
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < per_window:
            acc.predict(x)  # a board error propagates as itself, not as a sensor failure
            n += len(x)
        durations.append(time.perf_counter() - t0)
        counts.append(n)
    sampler.window = -1
    return counts, durations


def _rail_figures(name: str, idle: np.ndarray, loaded: list, durations: list, counts: list) -> dict:
    """One rail's idle, dynamic and per-inference figures from its idle samples and loaded windows' samples."""
    if len(idle) < 2 or any(len(v) < 2 for v in loaded):
        return unavailable(f"too few samples of {name} per window; measure for longer")
    if not np.any(idle) and not any(np.any(v) for v in loaded):
        return unavailable(f"rail {name} reads 0 W throughout: the sensor is dead or not supported by this image")
    idle_w, idle_noise = float(idle.mean()), float(idle.std(ddof=1))
    dyn = [float(v.mean()) - idle_w for v in loaded]
    energy = [d * t / n for d, t, n in zip(dyn, durations, counts)]
    dyn_mean, dyn_ci = _ci(dyn)
    e_mean, e_ci = _ci(energy)
    row = {"rail": name, "idle_w": idle_w, "idle_noise_w": idle_noise, "loaded_w": idle_w + dyn_mean,
           "dynamic_w": dyn_mean, "dynamic_ci95_w": dyn_ci,
           "energy_per_inference_j": e_mean, "energy_ci95_j": e_ci, "available": True}
    if not dyn_mean - (0.0 if math.isnan(dyn_ci) else dyn_ci) > 0:
        row["note"] = (f"dynamic power on {name} is not resolved above the idle level (95% CI includes 0 W): "
                       f"the load is below the rail's resolution; use longer windows or larger batches")
    return row


def measure_power(acc, x, seconds: float = 5.0, idle_seconds: float | None = None, rails=None, windows: int = 5,
                  interval: float = 0.02) -> dict:
    """Idle window, then ``windows`` loaded windows of seconds/windows each, on the PL and board rails."""
    found = _rails_of(acc, rails)
    if isinstance(found, dict):
        return found
    chosen, missing = found
    idle_seconds = seconds / windows if idle_seconds is None else idle_seconds
    per_window = seconds / windows
    with Sampler(chosen, interval) as s:
        counts, durations = _run_windows(acc, x, s, idle_seconds, per_window, windows)
    if s.error:
        return unavailable(f"a power sensor failed while sampling ({s.error})")
    idle = s.values(0)
    rows = {role: _rail_figures(name, idle[:, i], [s.values(w)[:, i] for w in range(1, windows + 1)], durations,
                                counts)
            for i, (role, (name, _)) in enumerate(chosen.items())}
    return {"available": True, "windows": windows, "window_s": per_window, "idle_s": idle_seconds,
            "inferences": int(sum(counts)), "rails": rows, "missing": missing}


def external_power(loaded_w: float, idle_w: float, inferences: int, seconds: float) -> dict:
    """Power from an external meter's readings (for boards without sensors)."""
    dynamic = loaded_w - idle_w
    return {"available": True, "rails": {"external": {
        "available": True, "rail": "external meter", "idle_w": idle_w, "loaded_w": loaded_w, "dynamic_w": dynamic,
        "energy_per_inference_j": dynamic * seconds / inferences if inferences else None}},
        "inferences": inferences, "loaded_seconds": seconds}
