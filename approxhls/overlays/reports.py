"""Vitis HLS and Vivado reports -> plain dicts (build.json)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path


def _number(text: str | None):
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        return text
    return int(v) if v.is_integer() else v


def parse_csynth_xml(path) -> dict:
    """``<top>_csynth.xml``: target/estimated clock, latency and interval (cycles), resources and availability."""
    root = ET.parse(path).getroot()
    perf = root.find("PerformanceEstimates")

    def get(node, p):
        n = node.find(p) if node is not None else None
        return _number(n.text) if n is not None else None

    out = {
        "target_clock_ns": get(root, "UserAssignments/TargetClockPeriod"),
        "estimated_clock_ns": get(perf, "SummaryOfTimingAnalysis/EstimatedClockPeriod"),
        "latency_best_cycles": get(perf, "SummaryOfOverallLatency/Best-caseLatency"),
        "latency_worst_cycles": get(perf, "SummaryOfOverallLatency/Worst-caseLatency"),
        "interval_min_cycles": get(perf, "SummaryOfOverallLatency/Interval-min"),
        "interval_max_cycles": get(perf, "SummaryOfOverallLatency/Interval-max"),
    }
    area = root.find("AreaEstimates")
    for section, prefix in (("Resources", ""), ("AvailableResources", "available_")):
        node = area.find(section) if area is not None else None
        for child in node if node is not None else []:
            out[prefix + child.tag] = _number(child.text)
    return out


# Vivado's report_utilization rows: "| Site Type | Used | Fixed | Prohibited | Available | Util% |" (2022.1;
# older releases have no Prohibited column). Names differ between 7-series and UltraScale.
_UTIL_ROWS = {
    "LUT": ("Slice LUTs", "CLB LUTs"),
    "FF": ("Slice Registers", "CLB Registers"),
    "BRAM_tiles": ("Block RAM Tile",),
    "URAM": ("URAM",),
    "DSP": ("DSPs",),
}


def parse_utilization(path) -> dict:
    rows = {}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and line.lstrip().startswith("|"):
            rows.setdefault(cells[0].rstrip("*").strip(), cells)
    out = {}
    for key, names in _UTIL_ROWS.items():
        for name in names:
            if name in rows:
                cells = rows[name]
                out[key] = _number(cells[1])
                out[f"available_{key}"] = _number(cells[-2])
                out[f"{key}_percent"] = _number(cells[-1])
                break
    return out


def parse_timing_summary(path) -> dict:
    """WNS/TNS/WHS/THS (ns) of the Design Timing Summary and whether every constraint is met."""
    lines = Path(path).read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*WNS\(ns\)\s+TNS\(ns\)", line):
            header = re.split(r"\s{2,}", line.strip())
            values = lines[i + 2].split()
            row = dict(zip(header, values))
            out = {k.replace("(ns)", "_ns").lower(): _number(row[k]) for k in ("WNS(ns)", "TNS(ns)", "WHS(ns)", "THS(ns)")
                   if k in row}
            text = "\n".join(lines)
            out["timing_met"] = "All user specified timing constraints are met." in text
            return out
    return {"timing_met": None, "note": f"no Design Timing Summary table in {path}"}
