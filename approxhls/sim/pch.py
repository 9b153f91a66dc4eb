"""A precompiled header of what every C-simulation parses first (the C++ library, ap_fixed/ap_int, hls_stream).

Parsing those headers is a large part of a C-simulation build: on a converted separable-convolution model at -O1,
the model's compile took 7.7 s without and 6.4 s with it, the bridge (almost all headers) 3.4 s and 1.4 s. They are the same for every project: hls4ml ships
ap_types unchanged, so one precompiled header serves every build with the same compiler and flags. It is kept in
the build cache under a digest of the compiler, the flags, the header and the ap_types files, and given to g++
with ``-include``: where gcc finds it unusable it parses the header as text (the same code, only slower), so a
precompiled header never changes what a build computes. Set APPROXHLS_CSIM_PCH=0 to build without one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from approxhls.home import build_cache
from approxhls.toolrun import run_tool

HEADER = """\
// approxhls: the headers every C-simulation parses first, precompiled once (see approxhls/sim/pch.py)
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <map>
#include <tuple>
#include "ap_fixed.h"
#include "ap_int.h"
#include "hls_stream.h"
"""
NAME = "approxhls_pch.h"


def enabled() -> bool:
    return os.environ.get("APPROXHLS_CSIM_PCH", "1") != "0"


def _digest(gxx: str, flags: list[str], ap_types: Path) -> str:
    h = hashlib.sha256("\0".join([gxx, *flags, HEADER]).encode())
    for p in sorted(ap_types.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(ap_types)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:24]


def precompiled_header(gxx: str, flags: list[str], ap_types: Path) -> Path | None:
    """The header to ``-include`` (its .gch beside it), built once per digest; None where it cannot be built (the
    build then parses every header itself) or is switched off."""
    if not enabled() or not ap_types.is_dir():
        return None
    final = build_cache() / "pch" / _digest(gxx, flags, ap_types)
    header = final / NAME
    if (final / f"{NAME}.gch").is_file():
        return header
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
    try:
        (tmp / NAME).write_text(HEADER)
        res = run_tool([gxx, *flags, f"-I{ap_types}", "-x", "c++-header", tmp / NAME, "-o", tmp / f"{NAME}.gch"],
                       what="precompiling the C-simulation's common headers", kind="compile")
        if res.returncode != 0:
            return None
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide it from the other homes sharing the cache
        try:
            os.replace(tmp, final)  # complete or absent: a concurrent build of the same digest may have won
        except OSError:
            pass
        return header if (final / f"{NAME}.gch").is_file() else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
