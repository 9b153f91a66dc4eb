"""``approxhls overlay --build``: run Vitis HLS then Vivado on an overlay directory, keep their logs, and
summarize their reports in build.json. Fails with the missing tool's name and the release expected."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.overlays import reports
from approxhls.report import write_json

# name -> (executable, arguments, what it builds); run in this order from the overlay directory
STEPS = [
    ("vitis_hls", ["-f", "build_ip.tcl", "-l", "logs/vitis_hls.log"], "C synthesis and IP export"),
    ("vivado", ["-mode", "batch", "-source", "build_overlay.tcl", "-log", "logs/vivado.log",
                "-journal", "logs/vivado.jou"], "block design, implementation, bitstream"),
]
_PRODUCT = {"vitis_hls": "Vitis HLS", "vivado": "Vivado"}


def require_tools(expected: str) -> dict[str, str]:
    """Path of every tool the build needs; ToolMissingError naming the first one missing."""
    found = {}
    for tool, _, _ in STEPS:
        path = shutil.which(tool)
        if path is None:
            raise ToolMissingError(
                f"{tool} not found on PATH: building the overlay needs {_PRODUCT[tool]} {expected} "
                f"(source <Xilinx>/Vivado/{expected}/settings64.sh first). The scripts are written; run "
                f"`make` in the overlay directory on a machine that has the tools"
            )
        found[tool] = path
    return found


def tool_version(path: str) -> str | None:
    try:
        r = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"v(\d{4}\.\d)", r.stdout + r.stderr)
    return m.group(1) if m else None


def _release(v: str) -> tuple[int, int]:
    year, minor = v.split(".")[:2]
    return int(year), int(minor)


def build_overlay(out, jobs: int | None = None) -> dict:
    out = Path(out)
    spec = json.loads((out / "overlay.json").read_text())
    from approxhls.overlays.overlay import TOOL_VERSION, TOOL_VERSIONS_SUPPORTED

    expected = spec.get("tools", {}).get("vivado", TOOL_VERSION)
    oldest, newest = spec.get("tools", {}).get("supported", TOOL_VERSIONS_SUPPORTED)
    tools = require_tools(expected)
    (out / "logs").mkdir(exist_ok=True)
    env = os.environ | ({"APPROXHLS_JOBS": str(jobs)} if jobs else {})
    summary = {"board": spec["board"], "clock_mhz": spec["clock_mhz"], "steps": [], "warnings": []}
    for i, (tool, args, what) in enumerate(STEPS, 1):
        version = tool_version(tools[tool])
        if version and _release(version) < _release(oldest):
            raise ApproxHLSError(f"{_PRODUCT[tool]} {version} found: hls4ml 1.3.0 needs Vitis HLS {oldest} or newer "
                                 f"(and the IP it exports the same Vivado); the scripts are written for {expected}")
        if version and version != expected:
            summary["warnings"].append(f"{tool} {version} found; the scripts are written for {expected} "
                                       f"(checked range {oldest} to {newest})")
        stdout_log = out / "logs" / f"{tool}.stdout.log"
        print(f"[{i}/{len(STEPS)}] {tool} ({what}); log: {stdout_log}", flush=True)
        t0 = time.perf_counter()
        with open(stdout_log, "w") as fh:
            r = subprocess.run([tools[tool], *args], cwd=out, stdout=fh, stderr=subprocess.STDOUT, env=env)
        seconds = round(time.perf_counter() - t0, 1)
        summary["steps"].append({"tool": tool, "version": version, "seconds": seconds, "returncode": r.returncode})
        if r.returncode:
            tail = "\n".join(stdout_log.read_text(errors="replace").splitlines()[-15:])
            write_json(out / "build.json", summary | {"failed": tool})
            raise ApproxHLSError(f"{tool} failed (exit {r.returncode}) after {seconds} s; last lines of {stdout_log}:\n{tail}")
    summary |= collect_reports(out, spec)
    write_json(out / "build.json", summary)
    return summary


def collect_reports(out: Path, spec: dict) -> dict:
    top = spec["ip"]["vlnv"].split(":")[2]
    found = {}
    csynth = out / f"{top}_prj" / "solution1" / "syn" / "report" / f"{top}_csynth.xml"
    if csynth.exists():
        found["hls"] = reports.parse_csynth_xml(csynth)
    if (out / "reports" / "utilization.rpt").exists():
        found["utilization"] = reports.parse_utilization(out / "reports" / "utilization.rpt")
    if (out / "reports" / "timing_summary.rpt").exists():
        found["timing"] = reports.parse_timing_summary(out / "reports" / "timing_summary.rpt")
    bit = out / spec["bitfile"]
    found["bitfile"] = bit.name if bit.exists() and bit.with_suffix(".hwh").exists() else None
    if found["bitfile"] is None:
        raise ApproxHLSError(f"the tools finished but {bit.name} and {bit.with_suffix('.hwh').name} are not in {out}")
    return found
