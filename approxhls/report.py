"""Plain-text tables and JSON output shared by the commands."""

from __future__ import annotations

import json
from pathlib import Path


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join([line, sep, *body])


def format_summary(d: dict) -> str:
    """A two-column key/value table of a flat dict."""
    return format_table([{"key": k, "value": v} for k, v in d.items() if not isinstance(v, (dict, list))],
                        ["key", "value"])


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"
    return "" if v is None else str(v)


def check_json_path(path, inputs=()) -> Path:
    """The path a report will be written to, refused up front when it cannot be (a directory, a file as parent) or
    when it (or the plot written beside it) would replace one of the command's ``inputs``: an input file, or a file
    already inside an input directory (a project's approxhls.json, an overlay's overlay.json)."""
    from approxhls.errors import ApproxHLSError

    p = Path(path)
    if p.is_dir():
        raise ApproxHLSError(f"--json {str(path)!r} is a directory; give a file name (e.g. {p / 'report.json'})")
    parent = next((q for q in p.parents if q.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ApproxHLSError(f"--json {str(path)!r}: {parent} is a file, not a directory")
    for written in (p, p.with_suffix(".png")):
        held = _input_holding(written, inputs)
        if held is not None:
            raise ApproxHLSError(f"--json {str(path)!r} would replace {written}, which is (inside) the input {held}; "
                                 f"a report never overwrites what the command reads: write it outside {held}")
    return p


def _input_holding(written: Path, inputs) -> Path | None:
    """The input that is ``written`` or holds it, when ``written`` exists (a new file cannot lose anything)."""
    if not written.is_file():
        return None
    target = written.resolve()
    for i in inputs:
        if target == Path(i).resolve() or Path(i).resolve() in target.parents:
            return Path(i)
    return None


def write_json(path, data) -> Path:
    """Write JSON atomically (a temp file renamed into place), creating parent directories."""
    p = check_json_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(p)
    return p
