"""What the ``multipliers`` commands print and write: tables of catalog entries, one added design, an import.

Each function returns the text to print (and writes the JSON and plot it names); the CLI only prints it.
"""

from __future__ import annotations

from pathlib import Path

from approxhls.multipliers import catalog
from approxhls.multipliers.builtin import EXACT_REFERENCE, builtin_designs
from approxhls.multipliers.registry import all_designs, get_design
from approxhls.report import format_table, write_json

STATUSES = ("added", "unchanged", "skipped", "refused")
IMPORT_COLUMNS = ["name", "status", "signed", "circuit", "mae%", "luts", "rel_luts", "rel_energy", "files", "reason"]
REASON_WIDTH = 100  # in the table; the summary below it and the JSON carry the whole reason


def entry_row(e: dict) -> dict:
    m, c = e["metrics"], e.get("cost") or {}
    return {"name": e["name"], "family": e["family"], "signed": e["signed"], "bits": e["bits"],
            "mae%": m["mae_pct"], "wce%": m["wce_pct"], "mre%": m["mre_pct"], "ep%": m["ep_pct"],
            "bias": m["bias"], "luts": c.get("luts"), "dsp": c.get("dsp"), "rel_luts": e.get("rel_luts"),
            "rel_energy": e.get("rel_energy")}


def listing(family: str | None = None) -> str:
    """Every design (of ``family``) with its cached characterization; missing error metrics are computed."""
    designs = [d for d in all_designs() if family in (None, d.family)]
    rows = [entry_row(e) for e in catalog.characterize(designs, progress=False, with_synthesis=False)]
    note = ("\n\n(luts empty: not characterized yet; run `approxhls multipliers characterize`)"
            if any(r["luts"] is None for r in rows) else "")
    return format_table(rows) + note


def show(name: str, out_dir) -> str:
    """One design's metrics, and its error heat map written as NAME_error.png into ``out_dir``."""
    from approxhls.plots import plot_error_heatmap

    d = get_design(name)
    entry = catalog.characterize([d], progress=False, with_synthesis=False)[0]
    png = plot_error_heatmap(d, Path(out_dir) / f"{d.name}_error.png")
    metrics = "\n".join(f"{k:10s} {v:.6g}" for k, v in entry["metrics"].items())
    return f"{format_table([entry_row(entry)])}\n\n{metrics}\n\nwrote {png}"


def characterization(names: list[str] | None, force: bool, jobs: int, json_path=None) -> str:
    """Characterize the named designs (default: all), with synthesis; optionally JSON and a trade-off plot."""
    designs = [get_design(n) for n in names] if names else None
    entries = catalog.characterize(designs, force=force, jobs=jobs)
    text = f"{format_table([entry_row(e) for e in entries])}\n\ncatalog: {catalog.user_catalog_path()}"
    if json_path:
        from approxhls.plots import plot_multiplier_tradeoffs

        write_json(json_path, {"designs": entries, "reference": EXACT_REFERENCE})
        png = plot_multiplier_tradeoffs(entries, Path(json_path).with_suffix(".png"))
        text += f"\nwrote {json_path} and {png}"
    return text


def added(design) -> str:
    """What adding one design found and proved, and its row."""
    entry = catalog.characterize([design], progress=False, with_synthesis=False)[0]
    lines = [f"added {design.name} ({'signed' if design.signed else 'unsigned'}) from {design.origin}"]
    lines += [f"  {note}" for note in design.notes]
    lines.append(format_table([entry_row(entry)]))
    if not entry.get("cost"):
        lines.append("(no circuit: LUTs and energy unknown, so the search cannot price it; add its Verilog with "
                     "--verilog)")
    return "\n".join(lines)


# ---- a bulk import -----------------------------------------------------------------------------------------------

def import_row(it) -> dict:
    d, e = it.design, it.entry or {}
    m, c = e.get("metrics") or {}, e.get("cost") or {}
    return {"name": it.name, "files": it.sources.describe(), "status": it.status,
            "signed": d.signed if d else None, "circuit": bool(d and d.verilog_text), "reason": it.reason,
            "mae%": m.get("mae_pct"), "luts": c.get("luts"), "rel_luts": e.get("rel_luts"),
            "rel_energy": e.get("rel_energy"), "seconds": round(it.seconds.get("total", 0.0), 2)}


def import_counts(items) -> dict:
    return {s: sum(1 for it in items if it.status == s) for s in STATUSES}


def import_summary(items) -> str:
    """The counts, then every refused file with its whole reason (a timeout names its file and limit)."""
    counts = import_counts(items)
    lines = [", ".join(f"{v} {k}" for k, v in counts.items()) + f" of {len(items)} files/pairs"]
    refused = [it for it in items if it.status == "refused"]
    if refused:
        lines.append("refused (nothing stored for these):")
        lines += [f"  {it.sources.primary()}: {it.reason}" for it in refused]
    return "\n".join(lines)


def imported(items, json_path=None, label: str = "imported") -> str:
    """The import's table and summary; with ``json_path`` the report as JSON and its front (PNG) beside it."""
    rows = [import_row(it) for it in items]
    shown = sorted(rows, key=lambda r: (r["status"] not in ("added", "unchanged"), r["status"], r["name"] or ""))
    text = (format_table([r | {"reason": r["reason"][:REASON_WIDTH]} for r in shown], IMPORT_COLUMNS)
            + "\n\n" + import_summary(items))
    if json_path:
        from approxhls.plots import plot_import_front

        entries = [it.entry for it in items if it.entry is not None]
        builtin = catalog.characterize(list(builtin_designs()), progress=False, with_synthesis=False)
        write_json(json_path, {"counts": import_counts(items), "designs": rows, "entries": entries})
        png = plot_import_front(entries, builtin, Path(json_path).with_suffix(".png"), label)
        text += f"\nwrote {json_path} and {png}"
    return text
