"""Timing of an accelerator: single-sample latency, throughput over a batch sweep (hardware-only on preloaded
buffers and end-to-end with packing), DRAM bandwidth, the PL clock read back. Every figure that cannot be
measured on a backend says why instead of a number.
"""

from __future__ import annotations

import time

import numpy as np

NO_HARDWARE = "the C-simulation backend has no hardware to time; its figures are simulation speed"


def unavailable(reason: str) -> dict:
    return {"available": False, "reason": reason}


def percentiles(t) -> dict:
    t = np.asarray(t, dtype=np.float64)
    if not len(t):
        return {"p50": None, "p90": None, "p99": None, "mean": None, "n": 0}
    return {"p50": float(np.percentile(t, 50)), "p90": float(np.percentile(t, 90)),
            "p99": float(np.percentile(t, 99)), "mean": float(t.mean()), "n": int(len(t))}


def _board(acc):
    from approxhls.host.backends import BoardBackend

    return acc.backend if isinstance(acc.backend, BoardBackend) else None


def single_sample_latency(acc, x: np.ndarray, runs: int = 100, warmup: int = 5) -> dict:
    """Batch-1 latency: end to end (pack, DMA, core, unpack) and, on a board, hardware only (start to the
    last word received, input already in memory). p50/p90/p99 over ``runs`` single samples."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    e2e, hw = [], []
    board = _board(acc)
    for i in range(warmup + runs):
        xi = x[i % len(x): i % len(x) + 1]
        t0 = time.perf_counter()
        acc.predict(xi, 1)
        if i >= warmup:
            e2e.append(time.perf_counter() - t0)
    if board is not None:
        board.load(acc.encode(x[:1]), 1)
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            board.run_loaded(1)
            if i >= warmup:
                hw.append(time.perf_counter() - t0)
    return {"end_to_end_s": percentiles(e2e),
            "hardware_s": percentiles(hw) if hw else unavailable(NO_HARDWARE), "raw_end_to_end_s": e2e}


def throughput_sweep(acc, x: np.ndarray, batches=None, repeats: int = 3) -> list[dict]:
    """Samples per second for each batch size: end to end, and on a board hardware only with the DRAM traffic
    it moved (input + output bytes / hardware time)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    board = _board(acc)
    top = min(len(x), board.max_batch if board else len(x))
    sizes = sorted({b for b in (batches or [1, 8, 64, 256, 1024]) if 1 <= b <= top} | {top})
    rows = []
    for b in sizes:
        xb = x[:b]
        acc.predict(xb, b)  # warm
        t0 = time.perf_counter()
        for _ in range(repeats):
            acc.predict(xb, b)
        e2e = (time.perf_counter() - t0) / repeats
        row = {"batch": b, "end_to_end_samples_per_s": b / e2e, "end_to_end_s": e2e}
        if board is not None:
            board.load(acc.encode(xb), b)
            t0 = time.perf_counter()
            for _ in range(repeats):
                board.run_loaded(b)
            hw = (time.perf_counter() - t0) / repeats
            moved = b * (board.in_words + board.out_words) * acc.spec.word_bits // 8
            row |= {"hardware_samples_per_s": b / hw, "hardware_s": hw, "dram_mb_per_s": moved / hw / 1e6,
                    "host_share": max(0.0, 1 - hw / e2e)}
        rows.append(row)
    return rows


def pl_clock(acc) -> dict:
    board = _board(acc)
    if board is None:
        return unavailable(NO_HARDWARE)
    mhz, how = board.platform.pl_clock_mhz()
    if mhz is None:
        return unavailable(how)
    want = float(acc.spec.data.get("clock_mhz", 0))
    return {"available": True, "mhz": mhz, "source": how, "overlay_mhz": want,
            "matches_overlay": abs(mhz - want) <= 0.01 * want if want else None}


def latency_report(batches: list[tuple[int, float]], encode_s: float, decode_s: float, simulated: bool,
                   backend: str) -> dict:
    """Batch timings of repeated predict() calls: per-batch percentiles and inverse throughput (labelled as
    such: a batch's time / its samples is not one sample's latency)."""
    n = np.array([b[0] for b in batches], dtype=np.float64)
    t = np.array([b[1] for b in batches], dtype=np.float64)
    samples = float(n.sum())
    return {
        "backend": backend, "simulated": simulated, "batches": int(len(t)), "samples": int(samples),
        "batch_latency_s": percentiles(t),
        "inverse_throughput_s_per_sample": float(t.sum() / samples) if samples else None,
        "throughput_per_s": samples / float(t.sum()) if t.sum() > 0 else None,
        "host_encode_s_per_sample": encode_s / samples if samples else None,
        "host_decode_s_per_sample": decode_s / samples if samples else None,
        "raw_batch_seconds": t.tolist(),
    }


def plot_latency(report: dict, path) -> str | None:
    """Histogram of single-sample latencies; returns why not when matplotlib is absent (a board install)."""
    try:  # a board install has no matplotlib; the host imports no other package's plotting helpers
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no latency plot"
    lat = report["single_sample"]["end_to_end_s"]
    t = np.array(report["single_sample"].get("raw_end_to_end_s") or [], dtype=np.float64) * 1e6
    fig, ax = plt.subplots(figsize=(6, 4))
    if len(t):
        ax.hist(t, bins=min(40, max(5, len(t) // 3)), color="C0")
    for q, style in (("p50", "-"), ("p90", "--"), ("p99", ":")):
        if lat.get(q) is not None:
            ax.axvline(lat[q] * 1e6, color="k", ls=style, label=f"{q} {lat[q] * 1e6:.1f} us")
    kind = "SIMULATION" if report["simulated"] else "hardware"
    ax.set(xlabel="single-sample latency, end to end (us)", ylabel="samples", title=f"batch-1 latency ({kind})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
