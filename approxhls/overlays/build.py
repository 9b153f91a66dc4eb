"""``approxhls overlay --build``: run Vitis HLS then Vivado on an overlay directory, keep their logs, and
summarize their reports in build.json.

The release decides how Vitis HLS is started: 2022.2 to 2024.2 through the ``vitis_hls -f`` Tcl shell, 2025.1
and later through ``vitis-run --mode hls --tcl`` (UG1702: the Tcl commands of UG1399 run unchanged; the
``vitis_hls`` launcher is deprecated there and does not write its log; hls4ml's Vitis backend starts its own
build_prj.tcl the same way). Releases before 2022.2 are refused (hls4ml 1.3.0 needs Vitis HLS 2022.2).
Every tool runs through :func:`approxhls.toolrun.run_tool`, with a deadline.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from approxhls.errors import ApproxHLSError, ToolMissingError
from approxhls.overlays import reports
from approxhls.report import write_json
from approxhls.toolrun import run_tool

OLDEST = "2022.2"          # the oldest Vitis HLS hls4ml 1.3.0 supports
NEWEST_CHECKED = "2025.2"  # the newest release the scripts were written against (PYNQ 4.0's toolchain)
VITIS_RUN_FROM = "2025.1"  # first release driven through vitis-run


def release(text: str) -> tuple[int, int]:
    """'2025.1' -> (2025, 1)."""
    year, minor = str(text).split(".")[:2]
    return int(year), int(minor)


@dataclass(frozen=True)
class Step:
    tool: str           # executable
    args: tuple         # its arguments (run from the overlay directory)
    product: str        # what the user installs
    what: str           # what it builds


def hls_step(version: str) -> Step:
    """How this release runs build_ip.tcl."""
    if release(version) >= release(VITIS_RUN_FROM):
        return Step("vitis-run", ("--mode", "hls", "--tcl", "build_ip.tcl"), "Vitis", "C synthesis and IP export")
    return Step("vitis_hls", ("-f", "build_ip.tcl", "-l", "logs/vitis_hls.log"), "Vitis HLS",
                "C synthesis and IP export")


VIVADO_STEP = Step("vivado", ("-mode", "batch", "-source", "build_overlay.tcl", "-log", "logs/vivado.log",
                              "-journal", "logs/vivado.jou"), "Vivado", "block design, implementation, bitstream")


def _missing(tool: str, product: str, written_for: str) -> ToolMissingError:
    return ToolMissingError(
        f"{tool} not found on PATH: building the overlay needs {product} {OLDEST} to {NEWEST_CHECKED} (written for "
        f"{written_for}; source <Xilinx>/Vivado/<release>/settings64.sh, or <Xilinx>/<release>/Vivado/settings64.sh "
        f"from 2025.1, first). The scripts are written; run `make` in the overlay directory on a machine that has "
        f"the tools")


def tool_version(path: str) -> str | None:
    """The release a Xilinx tool prints with -version ('Vivado v2025.1 (64-bit)' -> '2025.1'), or None."""
    try:
        r = run_tool([path, "-version"], what="printing its version", kind="probe")
    except ApproxHLSError:
        return None
    m = re.search(r"v(\d{4}\.\d)", (r.stdout or "") + (r.stderr or ""))
    return m.group(1) if m else None


def check_release(version: str | None, warnings: list) -> None:
    """Refuse a release older than 2022.2; note one newer than the scripts were checked against."""
    if version is None:
        warnings.append(f"cannot tell the Vivado release; the scripts need {OLDEST} or newer")
        return
    if release(version) < release(OLDEST):
        raise ApproxHLSError(f"Vivado {version} found: approxhls overlays need Vitis HLS and Vivado {OLDEST} or newer "
                             f"(hls4ml 1.3.0's oldest Vitis HLS; the exported IP needs the same Vivado); checked up "
                             f"to {NEWEST_CHECKED}")
    if release(version) > release(NEWEST_CHECKED):
        warnings.append(f"Vivado {version} is newer than the releases the scripts were checked against "
                        f"({OLDEST} to {NEWEST_CHECKED})")


def plan_steps(written_for: str) -> tuple[list[tuple[Step, str]], str | None, list]:
    """[(step, executable path)] for the release on PATH, that release, and warnings; refuses old releases."""
    vivado = shutil.which("vivado")
    if vivado is None:
        raise _missing("vivado", "Vivado", written_for)
    version = tool_version(vivado)
    warnings: list = []
    check_release(version, warnings)
    hls = hls_step(version or written_for)
    path = shutil.which(hls.tool)
    if path is None:
        raise _missing(hls.tool, hls.product, written_for)
    if hls.tool == "vitis_hls":
        hls_version = tool_version(path)
        if hls_version and version and hls_version != version:
            raise ApproxHLSError(f"vitis_hls {hls_version} and vivado {version} are on PATH: the IP Vitis HLS exports "
                                 f"needs the same Vivado release; source one release's settings64.sh")
    return [(hls, path), (VIVADO_STEP, vivado)], version, warnings


def _run_step(i: int, n: int, step: Step, exe: str, out: Path, env: dict) -> dict:
    stdout_log = out / "logs" / f"{step.tool}.stdout.log"
    print(f"[{i}/{n}] {step.tool} ({step.what}); log: {stdout_log}", flush=True)
    t0 = time.perf_counter()
    with open(stdout_log, "w") as fh:
        r = run_tool([exe, *step.args], what=f"{step.what} in {out}", kind="build", cwd=out, env=env, stdout=fh,
                     stderr=fh)
    seconds = round(time.perf_counter() - t0, 1)
    return {"tool": step.tool, "args": list(step.args), "seconds": seconds, "returncode": r.returncode,
            "log": str(stdout_log)}


def build_overlay(out, jobs: int | None = None) -> dict:
    out = Path(out)
    from approxhls.host.schema import read_json

    spec = read_json(out / "overlay.json")
    written_for = (spec.get("tools") or {}).get("written_for", "2023.2")
    steps, version, warnings = plan_steps(written_for)
    (out / "logs").mkdir(exist_ok=True)
    env = os.environ | ({"APPROXHLS_JOBS": str(jobs)} if jobs else {})
    summary = {"board": spec.get("board"), "clock_mhz": spec.get("clock_mhz"), "release": version, "steps": [],
               "warnings": warnings}
    for i, (step, exe) in enumerate(steps, 1):
        row = _run_step(i, len(steps), step, exe, out, env)
        summary["steps"].append(row)
        if row["returncode"]:
            tail = "\n".join(Path(row["log"]).read_text(errors="replace").splitlines()[-15:])
            write_json(out / "build.json", summary | {"failed": step.tool})
            raise ApproxHLSError(f"{step.tool} failed (exit {row['returncode']}) after {row['seconds']} s; last lines "
                                 f"of {row['log']}:\n{tail}")
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
