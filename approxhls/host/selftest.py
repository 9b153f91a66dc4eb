"""On-board self-test: the overlay's golden vectors (golden.npz, written by ``approxhls overlay`` from the wrapper's
C-simulation) sent through the board, every output word compared bit for bit."""

from __future__ import annotations

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.host import packing
from approxhls.host.spec import load_golden


class SelfTestFailed(ApproxHLSError):
    """The board returned other words than the wrapper's C-simulation for the golden inputs."""


def self_test(acc) -> dict:
    """Run golden.npz through the accelerator. A missing or damaged golden.npz raises (ProjectError naming the
    file and key); a mismatch is reported in the result (``passed`` False, the first differing word)."""
    spec = acc.spec
    x, want = load_golden(spec)
    y = acc.predict(x, len(x))
    # the outputs packed again as the wrapper packs them (packing is a bijection on the fields' codes)
    got = packing.encode(y, spec.output.type, spec.output.field_bits, spec.word_bits).astype(np.uint64)
    bad = np.argwhere(got != want)
    res = {"passed": not len(bad), "samples": int(len(x)), "words": int(want.size), "mismatched_words": int(len(bad))}
    if len(bad):
        s, w = (int(v) for v in bad[0])
        res["first_mismatch"] = {"sample": s, "word": w, "got": hex(int(got[s, w])), "want": hex(int(want[s, w]))}
        res["summary"] = (f"FAILED: {len(bad)} of {want.size} words differ; first at sample {s} word {w}: got "
                          f"{hex(int(got[s, w]))}, want {hex(int(want[s, w]))}")
    else:
        res["summary"] = f"passed: {len(x)} golden samples, {want.size} words, bit for bit"
    return res
