"""Plots written beside the JSON results (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(record: dict, path: Path) -> Path:
    """Loss and accuracy per epoch (train and validation) of a train.json record."""
    plt = _pyplot()
    h = record["history"]
    epochs = range(1, len(h["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, h["loss"], label="train")
    if "val_loss" in h:
        ax1.plot(epochs, h["val_loss"], label="validation")
    ax1.set(xlabel="epoch", ylabel="loss", title="loss")
    ax2.plot(epochs, h["accuracy"], label="train")
    if "val_accuracy" in h:
        ax2.plot(epochs, h["val_accuracy"], label="validation")
    ax2.axhline(record["test_accuracy"], color="k", ls="--", lw=1, label=f"test {record['test_accuracy']:.3f}")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{record['model']} on {record['dataset']}, {record['scheme']['name']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_error_heatmap(design, path: Path) -> Path:
    """Signed error M(a,b) - a*b over every operand pair."""
    import numpy as np

    plt = _pyplot()
    err = design.table() - design.exact_table()
    codes = design.codes()
    order = np.argsort(codes)  # show signed operands from most negative to most positive
    err = err[np.ix_(order, order)]
    lim = max(float(np.abs(err).max()), 1.0)
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    extent = [codes.min() - 0.5, codes.max() + 0.5, codes.max() + 0.5, codes.min() - 0.5]
    im = ax.imshow(err, cmap="RdBu_r", vmin=-lim, vmax=lim, extent=extent, interpolation="nearest")
    ax.set(xlabel="b (weight code)", ylabel="a (activation code)", title=f"{design.name}: M(a,b) - a*b")
    fig.colorbar(im, ax=ax, label="error (product LSBs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _save(plt, fig, path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _front_order(points):
    """Indices of the Pareto-optimal rows of ``points`` (n, 2), by increasing x."""
    import numpy as np

    from approxhls.pareto import pareto_mask

    idx = np.flatnonzero(pareto_mask(points))
    return idx[np.argsort(points[idx, 0])]


def _scatter_families(ax, rows: list[dict], x, y, families: list[str], cmap) -> None:
    """One colour per family; unsigned designs as dots, signed ones as crosses."""
    for k, fam in enumerate(families):
        for sgn, marker in ((False, "o"), (True, "x")):
            sel = [i for i, e in enumerate(rows) if e["family"] == fam and e["signed"] == sgn]
            if sel:
                ax.scatter(x[sel], y[sel], s=28, color=cmap(k), marker=marker, zorder=3,
                           label=fam if not sgn else f"{fam} (signed)")


def _tradeoff_panel(ax, rows: list[dict], key: str, label: str, families: list[str], cmap) -> None:
    import numpy as np

    x = np.array([max(e["metrics"]["mae_pct"], 1e-4) for e in rows])
    y = np.array([e[key] for e in rows])
    signed = np.array([e["signed"] for e in rows])
    _scatter_families(ax, rows, x, y, families, cmap)
    uns = np.flatnonzero(~signed)
    idx = uns[_front_order(np.column_stack([x[uns], y[uns]]))]
    ax.step(x[idx], y[idx], where="post", color="k", lw=1.2, zorder=2, label="Pareto front (unsigned)")
    ax.scatter(x[idx], y[idx], s=80, facecolors="none", edgecolors="k", zorder=4)
    ax.set_xscale("log")
    ax.set(xlabel="MAE (% of full-scale product)", ylabel=label)
    ax.grid(alpha=0.3, which="both")


def plot_multiplier_tradeoffs(entries: list[dict], path: Path) -> Path:
    """Relative LUTs and relative energy vs MAE%, one colour per family, Pareto fronts marked."""
    plt = _pyplot()
    # 8x8 designs only: narrower cores are not alternatives for an 8-bit layer
    rows = [e for e in entries if e.get("rel_luts") is not None and e["bits"] == 8]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    families = sorted({e["family"] for e in rows})
    cmap = plt.get_cmap("tab10" if len(families) <= 10 else "tab20")
    for ax, key, label in ((axes[0], "rel_luts", "LUTs relative to exact 8x8"),
                           (axes[1], "rel_energy", "switching energy relative to exact 8x8")):
        _tradeoff_panel(ax, rows, key, label, families, cmap)
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("8x8 approximate multipliers: cost vs error (Yosys synth_xilinx, no DSP); "
                 "relative to the exact multiplier of the same signedness")
    return _save(plt, fig, path)


def _scatter_sets(ax, sets, signed: bool) -> list[tuple[float, float]]:
    """Each set's 8x8 designs of one signedness (those with a cost); their (MAE%, LUTs) points."""
    pts = []
    for label, rows, color, marker in sets:
        sel = [e for e in rows if e.get("cost") and e["bits"] == 8 and e["signed"] == signed]
        if sel:
            x = [max(e["metrics"]["mae_pct"], 1e-4) for e in sel]
            y = [e["cost"]["luts"] for e in sel]
            ax.scatter(x, y, s=30, marker=marker, color=color, zorder=3, label=f"{label} ({len(sel)})")
            pts += list(zip(x, y))
    return pts


def _exact_design(builtin: list[dict], signed: bool) -> dict | None:
    return next((e for e in builtin if e["family"] == "exact" and e["bits"] == 8 and e["signed"] == signed
                 and e.get("cost")), None)


def _import_panel(ax, signed: bool, sets, builtin: list[dict]) -> None:
    """One signedness: each set of designs, their joint Pareto front, the exact design's LUTs."""
    import numpy as np

    pts = _scatter_sets(ax, sets, signed)
    if pts:
        p = np.array(pts, dtype=float)
        idx = _front_order(p)
        ax.step(p[idx, 0], p[idx, 1], where="post", color="k", lw=1.1, zorder=2, label="joint Pareto front")
    exact = _exact_design(builtin, signed)
    if exact:
        ax.axhline(exact["cost"]["luts"], color="k", ls=":", lw=1, label=f"{exact['name']} ({exact['cost']['luts']} LUTs)")
    ax.set_xscale("log")
    ax.set(xlabel="MAE (% of full-scale product)", ylabel="LUTs (Yosys synth_xilinx, no DSP)",
           title=f"{'signed' if signed else 'unsigned'} 8x8")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)


def plot_import_front(imported: list[dict], builtin: list[dict], path: Path, title: str = "imported") -> Path:
    """LUTs vs MAE of an imported set next to the built-in designs, unsigned and signed apart (each has its own
    exact reference), with each panel's joint Pareto front."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    sets = (("built-in", builtin, "0.55", "o"), (title, imported, "C3", "^"))
    for ax, signed in zip(axes, (False, True)):
        _import_panel(ax, signed, sets, builtin)
    fig.suptitle(f"multipliers: {title} vs built-in")
    return _save(plt, fig, path)


def _pareto_cost(result: dict) -> tuple[str, float, str]:
    """(a point's key, the exact network's value, the axis label) of the cost the search traded against accuracy."""
    if result.get("objective") == "luts":
        return ("relative_luts", result["exact"].get("relative_luts", 1.0),
                f"arithmetic LUTs as built relative to {result['cost_model'].get('cheapest', 'exact')}")
    return "relative_energy", 1.0, "multiplication energy relative to exact (gate-toggle proxy)"


def plot_pareto(result: dict, path: Path) -> Path:
    """Error vs the search's cost (relative multiplication energy, or LUTs as built) of the front on the split points
    are chosen on (validation where the search held one out), with the same plans without bias compensation / weight
    tuning where those were used."""
    plt = _pyplot()
    pts = result["points"]
    split = "val" if result["exact"].get("val_accuracy") is not None else "test"
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ex = result["exact"]
    key, exact_x, xlabel = _pareto_cost(result)
    ax.scatter([exact_x], [100 * (1 - ex[f"{split}_accuracy"])], marker="*", s=180, color="k", label="exact network",
               zorder=4)
    e = [p[key] for p in pts]
    method = " + ".join(w for w, on in (("weights tuned", result.get("tuned")), ("bias compensated",
                                                                                result.get("compensated"))) if on)
    ax.scatter(e, [100 * (1 - p[f"{split}_accuracy"]) for p in pts], color="C0",
               label=f"front{', ' + method if method else ''}", zorder=3)
    for key, label, color in ((f"{split}_accuracy_uncompensated", "same plans, no bias compensation", "C2"),
                              (f"{split}_accuracy_untuned", "same plans, not tuned (nor compensated)", "C1")):
        if pts and pts[0].get(key) is not None:
            ax.scatter(e, [100 * (1 - p[key]) for p in pts], color=color, marker="x", label=label, zorder=3)
    ax.set(xlabel=xlabel,
           ylabel=f"{'validation' if split == 'val' else 'test'} error (%)",
           title=f"ALWANN search ({result['accelerator']}) on {result['dataset']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
