"""Latency statistics of measured batches (time in transfers only), as JSON and a histogram PNG."""

from __future__ import annotations

import numpy as np


def latency_report(batches: list[tuple[int, float]], encode_s: float, decode_s: float, simulated: bool,
                   backend: str) -> dict:
    n = np.array([b[0] for b in batches], dtype=np.float64)
    t = np.array([b[1] for b in batches], dtype=np.float64)
    per_sample = t / np.maximum(n, 1)
    samples = float(n.sum())
    pct = lambda a, q: float(np.percentile(a, q)) if len(a) else None  # noqa: E731
    return {
        "backend": backend,
        "simulated": simulated,
        "batches": int(len(t)),
        "samples": int(samples),
        "batch_latency_s": {"p50": pct(t, 50), "p90": pct(t, 90), "p99": pct(t, 99), "mean": float(t.mean()) if len(t) else None},
        "sample_latency_s": {"p50": pct(per_sample, 50), "p90": pct(per_sample, 90), "p99": pct(per_sample, 99),
                             "mean": float(per_sample.mean()) if len(t) else None},
        "throughput_per_s": samples / float(t.sum()) if t.sum() > 0 else None,
        "host_encode_s_per_sample": encode_s / samples if samples else None,
        "host_decode_s_per_sample": decode_s / samples if samples else None,
        "raw_batch_seconds": t.tolist(),
    }


def plot_latency(report: dict, path) -> None:
    from approxhls.plots import _pyplot

    plt = _pyplot()
    t = np.array(report["raw_batch_seconds"]) * 1e3
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(t, bins=min(40, max(5, len(t) // 2)), color="C0")
    for q, style in (("p50", "-"), ("p90", "--"), ("p99", ":")):
        ax.axvline(report["batch_latency_s"][q] * 1e3, color="k", ls=style, label=f"{q} {report['batch_latency_s'][q] * 1e3:.3f} ms")
    kind = "SIMULATION" if report["simulated"] else "hardware"
    ax.set(xlabel="batch latency (ms)", ylabel="batches", title=f"latency per batch ({kind})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
