"""Where a search writes, and what it refuses to overwrite: results appear in the output directory only when
complete (built beside it, swapped in), an existing one is replaced only with --force, never mixing old plans with a
new pareto.json; an interrupted search's state waits beside it (``OUT.checkpoint``) for --resume."""

from __future__ import annotations

import shutil
from pathlib import Path

from approxhls.fsutil import atomic_directory
from approxhls.report import write_json
from approxhls.search.checkpoint import checkpoint_path
from approxhls.search.options import SearchOptionError


def _encloses(outer: Path, inner: Path) -> bool:
    return outer == inner or outer in inner.parents


def check_target(out, model, overwrite: bool, resume: bool) -> None:
    """Refuses an output the search must not write: the working directory or one above it, a file, a directory that
    holds the model; an existing one without --force (or --resume of the search saved beside it)."""
    out = Path(out).resolve()
    if overwrite and resume:
        raise SearchOptionError("--force and --resume cannot be combined: --resume continues the saved search, "
                                "--force starts a new one")
    _check_place(out, Path(model).resolve())
    if resume:
        _check_resumable(out)
    else:
        _check_new(out, overwrite)


def _check_place(out: Path, model: Path) -> None:
    if _encloses(out, Path.cwd().resolve()):
        raise SearchOptionError(f"--out {out} is the working directory or encloses it; give a new directory")
    if out.exists() and not out.is_dir():
        raise SearchOptionError(f"--out {out} is a file; give a directory")
    if _encloses(out, model):
        raise SearchOptionError(f"the model {model} is inside --out {out}, which the search replaces; give another "
                                f"--out")


def _check_resumable(out: Path) -> None:
    ckpt = checkpoint_path(out)
    if not ckpt.is_file():
        done = " (it holds a finished search)" if (out / "pareto.json").exists() else ""
        raise SearchOptionError(f"--resume: no interrupted search of {out}{done}: {ckpt} does not exist")


def _check_new(out: Path, overwrite: bool) -> None:
    if overwrite:
        return
    ckpt = checkpoint_path(out)
    if ckpt.exists():
        raise SearchOptionError(f"an interrupted search of {out} is saved in {ckpt}: continue it with --resume, or "
                                f"start over with --force")
    if out.exists() and any(out.iterdir()):
        raise SearchOptionError(f"--out {out} exists; --force replaces it once the new search is complete, or give "
                                f"another directory")


def publish(out, result: dict, plans: dict, write_more=None) -> None:
    """Writes pareto.json, its plot and the plans (``plans``: file name -> Plan) beside ``out`` and swaps them in
    (``write_more(directory)`` adds files: the retrained models); the checkpoint beside it goes once they are there."""
    from approxhls.plots import plot_pareto

    out = Path(out)
    with atomic_directory(out) as tmp:
        (tmp / "plans").mkdir()
        for name, plan in plans.items():
            plan.save(tmp / name)
        if write_more is not None:
            write_more(tmp)
        write_json(tmp / "pareto.json", result)
        plot_pareto(result, tmp / "pareto.png")
    checkpoint_path(out).unlink(missing_ok=True)


def discard_checkpoint(out) -> None:
    """A new search (--force) starts without the state of an older one."""
    ckpt = checkpoint_path(out)
    if ckpt.is_dir():
        shutil.rmtree(ckpt)
    ckpt.unlink(missing_ok=True)


def summary(result: dict, out) -> str:
    """What ``approxhls search`` prints: a row per point (chosen on validation, reported on test), then the totals."""
    from approxhls.report import format_table

    ex = result["exact"]["test_accuracy"]
    rows = [{"point": p["plan_file"], "val_acc": p["val_accuracy"], "test_acc": p["test_accuracy"],
             "loss_pp": 100 * (ex - p["test_accuracy"]),
             "loss_ci95_pp": "{:+.2f}..{:+.2f}".format(*(100 * v for v in p["test_loss_ci95"])),
             "rel_energy": p["relative_energy"], "rel_luts": p["relative_luts"]} for p in result["points"]]
    pr, s = result["protocol"], result["search"]
    return (format_table(rows) + retraining_summary(result) + f"\n\n{cost_legend(result)}\nexact test accuracy {ex:.4f}; {s['evaluations']} evaluations in "
            f"{s['seconds']} s; calibration {pr['calibration']} / validation {pr['validation']} / test {pr['test']} "
            f"samples (choose points on validation, report test); wrote {out}/pareto.json, pareto.png, plans/")


def cost_legend(result: dict) -> str:
    """What rel_energy and rel_luts are measured against, and which one the points are ordered and chosen by."""
    cm = result["cost_model"]
    base = next((b for b in cm.get("baselines", []) if b["name"] == cm.get("cheapest")), None)
    against = f"the cheapest exact baseline, {base['name']} ({base['luts']} LUTs" + \
        (f" + {base['dsp']} DSP48" if base.get("dsp") else "") + ")" if base else "the exact network"
    return (f"rel_energy: multiplication energy over the all-exact network's (gate-toggle proxy, multiplications "
            f"only); rel_luts: the arithmetic's LUTs as built over {against}; points chosen by "
            f"{'rel_luts' if result.get('objective') == 'luts' else 'rel_energy'}.")


def retraining_summary(result: dict) -> str:
    """With --retrain: each retrained point's validation accuracy before and after, and the configuration chosen."""
    if "retraining" not in result:
        return ""
    from approxhls.report import format_table

    rows = [{"point": p["plan_file"], "retrained_model": p["retrained"]["model"],
             "val_acc_before": p["retrained"]["val_accuracy_before"],
             "val_acc_after": p["retrained"]["val_accuracy_after"]} for p in result["points"] if "retrained" in p]
    c = result["chosen"]
    chosen = ("no configuration is within --max-loss on validation" if c is None else
              f"chosen on validation: {c.get('model', c['plan_file'])} ({'retrained, ' if c['retrained'] else ''}"
              f"plan {c['plan_file']}): val {c['val_accuracy']:.4f}, test {c['test_accuracy']:.4f} "
              "({:+.2f}..{:+.2f} pp loss)".format(*(100 * v for v in c["test_loss_ci95"])))
    return f"\n\nretrained {result['retraining']['epochs']} epochs\n" + format_table(rows) + f"\n{chosen}\n"
