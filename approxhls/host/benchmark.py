"""The board-measurement protocol behind ``approxhls run``: self-test first, then accuracy, single-sample latency,
a throughput sweep, the PL clock and power, as one report (a dict the CLI prints and writes as JSON).

    from approxhls.host import Accelerator
    from approxhls.host.benchmark import RunOptions, run_benchmark
    with Accelerator.open("runs/ov", backend="simulated") as acc:
        report = run_benchmark(acc, RunOptions(runs=20, batches=(1, 64)), say=print)

Numpy only (matplotlib optional, for the latency plot).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from approxhls.checks import finite_positive, whole
from approxhls.errors import ApproxHLSError
from approxhls.host.selftest import SelfTestFailed


def parse_batches(text: str) -> tuple[int, ...]:
    """'1,8,64' -> (1, 8, 64); refuses empty lists, non-numbers and sizes below 1."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        sizes = tuple(int(p) for p in parts if p)
    except ValueError:
        raise ApproxHLSError(f"--batches must be batch sizes separated by commas (e.g. 1,8,64), got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise ApproxHLSError(f"--batches must list batch sizes of at least 1, got {text!r}")
    return sizes


@dataclass
class RunOptions:
    dataset: str | None = None       # None: the overlay's shipped samples, else the project's dataset, else digits
    limit: int = 1000
    batch_size: int | None = None    # of the accuracy pass
    runs: int = 100                  # single samples timed
    batches: tuple = (1, 8, 64, 256, 1024)
    self_test: bool = False
    power: bool = False
    power_seconds: float = 5.0
    rails: list | None = None
    external_power_w: float | None = None
    external_idle_w: float | None = None
    notes: list = field(default_factory=list)

    def validate(self) -> "RunOptions":
        """Every option in range, or an ApproxHLSError naming it (before anything runs on the board)."""
        self.limit = whole("--limit", self.limit, 1)
        self.runs = whole("--runs", self.runs, 1)
        if self.batch_size is not None:
            self.batch_size = whole("--batch-size", self.batch_size, 1)
        self.batches = tuple(whole("--batches", b, 1) for b in self.batches) or parse_batches("")
        self.power_seconds = finite_positive("--power-seconds", self.power_seconds)
        for name in ("external_power_w", "external_idle_w"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ApproxHLSError(f"--{name.replace('_', '-')} must be a finite number of watts, at least 0, "
                                     f"got {v!r}")
        if self.external_idle_w is not None and self.external_power_w is None:
            raise ApproxHLSError("--external-idle-w needs --external-power-w (the loaded reading)")
        return self


def load_run_samples(spec, dataset: str | None, limit: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(x (n, elements), labels, name): ``dataset`` if given, else the overlay's shipped samples.npz, else the
    project's dataset (or digits). Loading a named dataset needs the full install (scikit-learn)."""
    from approxhls.host.spec import load_samples

    if dataset is None:
        shipped = load_samples(spec)
        if shipped is not None:
            x, y, name = shipped
            return x[:limit], y[:limit], f"{name} (shipped samples)"
    name = dataset or (spec.data.get("dataset") if spec.kind == "project" else None) or "digits"
    try:
        from approxhls.models.datasets import load_dataset

        ds = load_dataset(name, grid=str(spec.input.type)).limit(limit)
    except ImportError as e:
        raise ApproxHLSError(f"dataset {name!r} needs {e.name} (pip install scikit-learn, or the full install); "
                             f"or give --dataset FILE.npz") from None
    return ds.x_test.reshape(len(ds.x_test), -1), ds.y_test, ds.name


def _us(v) -> str:
    return f"{v * 1e6:.1f} us"


def _latency_lines(ss: dict, lbl: str) -> list[str]:
    e2e, hw = ss["end_to_end_s"], ss["hardware_s"]
    return [f"single-sample latency{lbl}, end to end: p50 {_us(e2e['p50'])}  p90 {_us(e2e['p90'])}  p99 {_us(e2e['p99'])}",
            f"single-sample latency{lbl}, hardware only: " + (
                f"p50 {_us(hw['p50'])}  p99 {_us(hw['p99'])}" if hw.get("p50") is not None
                else f"unavailable ({hw['reason']})")]


def _throughput_line(row: dict, lbl: str) -> str:
    extra = (f"; hardware {row['hardware_samples_per_s']:.0f}/s, DRAM {row['dram_mb_per_s']:.1f} MB/s"
             if "hardware_samples_per_s" in row else "")
    return f"batch {row['batch']:>5}: end to end {row['end_to_end_samples_per_s']:.0f} samples/s{extra}{lbl}"


def power_lines(pw: dict, lbl: str = "") -> list[str]:
    """What a power report says, one line per rail (or why there is none)."""
    if not pw["available"]:
        return [f"power: unavailable ({pw['reason']})"]
    lines = []
    for role, r in pw["rails"].items():
        if not r.get("available"):
            lines.append(f"power {role}: unavailable ({r['reason']})")
            continue
        ci, e = r.get("energy_ci95_j"), r.get("energy_per_inference_j")
        lines.append(f"power {role} ({r['rail']}){lbl}: idle {r['idle_w']:.3f} W, dynamic {r['dynamic_w']:.3f} W, "
                     f"{e * 1e6:.3f} uJ/inference"
                     + (f" +- {ci * 1e6:.3f} (95% CI)" if ci is not None and not math.isnan(ci) else "")
                     + (f"; {r['note']}" if r.get("note") else ""))
    lines += [f"power {role}: unavailable ({why})" for role, why in pw.get("missing", {}).items()]
    return lines


def _checked_self_test(acc, say) -> dict:
    """The board's self-test, said; a failure stops the run before anything is measured."""
    from approxhls.host.selftest import self_test

    st = self_test(acc)
    say(f"self-test: {st['summary']}")
    if not st["passed"]:
        raise SelfTestFailed(f"the self-test failed ({st['summary']}): the board does not compute what the "
                             f"wrapper's C-simulation computed for golden.npz")
    return st


def _measured_power(acc, x, opts: RunOptions) -> dict | None:
    """An external meter's readings over one pass of ``x`` when given, else the board's rails when asked, else None."""
    from approxhls.host.power import external_power

    if opts.external_power_w is not None:
        t1 = time.perf_counter()
        acc.predict(x, opts.batch_size)
        return external_power(opts.external_power_w, opts.external_idle_w or 0.0, len(x), time.perf_counter() - t1)
    if opts.power:
        return acc.measure_power(x, opts.power_seconds, rails=opts.rails)
    return None


def run_benchmark(acc, opts: RunOptions, say: Callable[[str], None] = lambda line: None) -> dict:
    """The whole protocol on an open accelerator; ``say`` receives each result line as it is measured."""
    from approxhls.host.latency import pl_clock, single_sample_latency, throughput_sweep

    opts.validate()
    lbl = " (SIMULATION)" if acc.simulated else ""
    say(acc.describe())
    report = {"backend": acc.describe(), "simulated": acc.simulated}
    if opts.self_test:
        report["self_test"] = _checked_self_test(acc, say)
    x, y_true, ds_name = load_run_samples(acc.spec, opts.dataset, opts.limit)
    if not len(x):
        raise ApproxHLSError(f"no samples to run from {ds_name}")
    t0 = time.perf_counter()
    y = acc.predict(x, opts.batch_size)
    report |= {"dataset": ds_name, "n": int(len(x)), "accuracy": float(np.mean(np.argmax(y, axis=1) == y_true)),
               "first_pass_s": round(time.perf_counter() - t0, 3)}
    say(f"accuracy {report['accuracy']:.4f} on {report['n']} samples of {ds_name}{lbl}")
    report["single_sample"] = single_sample_latency(acc, x, runs=opts.runs)
    for line in _latency_lines(report["single_sample"], lbl):
        say(line)
    report["throughput"] = throughput_sweep(acc, x, list(opts.batches))
    for row in report["throughput"]:
        say(_throughput_line(row, lbl))
    clk = report["pl_clock"] = pl_clock(acc)
    say("PL clock: " + (f"{clk['mhz']:g} MHz ({clk['source']})" if clk["available"] else f"unavailable ({clk['reason']})"))
    power = _measured_power(acc, x, opts)
    if power is not None:
        report["power"] = power
        for line in power_lines(power, lbl):
            say(line)
    return report


def write_report(report: dict, path) -> str:
    """The report as JSON, and the latency histogram beside it; returns what was written (or why no plot)."""
    from pathlib import Path

    from approxhls.host.latency import plot_latency
    from approxhls.report import write_json

    write_json(path, report)
    png = Path(path).with_suffix(".png")
    why = plot_latency(report, png)
    return f"wrote {path}" + (f" and {png}" if why is None else f" ({why})")
