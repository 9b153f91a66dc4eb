"""The AXI-Stream wrapper around an hls4ml kernel, and its C-simulation testbench (g++).

Stream format (the host's :mod:`approxhls.host.packing` reads and writes exactly this): every element is its
fixed-point code in a field of ``field_bits`` (sign-extended for signed types), fields fill a word from its
least significant bits, a sample starts on a new word, TLAST marks the last word of the batch. A register
``batch`` (AXI-Lite, offset 0x10) says how many samples one start processes.
"""

from __future__ import annotations

import os

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

import numpy as np

from approxhls.errors import ApproxHLSError
from approxhls.host import make, packing
from approxhls.overlays.kernel import Kernel, Port
from approxhls.host.simboard import WEIGHTS_ENV
from approxhls.toolrun import run_tool

WORD_CHOICES = (8, 16, 32, 64)  # AXI DMA stream widths the host packing supports (one numpy word)


@dataclass(frozen=True)
class Layout:
    word_bits: int
    in_field: int
    out_field: int
    in_words: int
    out_words: int

    @property
    def bytes_per_sample(self) -> tuple[int, int]:
        return self.in_words * self.word_bits // 8, self.out_words * self.word_bits // 8


def stream_layout(kernel: Kernel, word_bits: int) -> Layout:
    widest = max(kernel.input.field_bits, kernel.output.field_bits)
    if word_bits not in WORD_CHOICES or word_bits < widest:
        raise ApproxHLSError(
            f"word width {word_bits} bits is not possible for {kernel.name}: choose one of "
            f"{', '.join(str(w) for w in WORD_CHOICES if w >= widest)} (a word must hold one {widest}-bit field)"
        )
    return Layout(word_bits, kernel.input.field_bits, kernel.output.field_bits,
                  packing.words_per_sample(kernel.input.elements, kernel.input.field_bits, word_bits),
                  packing.words_per_sample(kernel.output.elements, kernel.output.field_bits, word_bits))


def top_name(kernel: Kernel) -> str:
    return f"{kernel.name}_axis"


def ip_cell(kernel: Kernel) -> str:
    """The stream IP's cell name in the block design (and the attribute pynq exposes it as)."""
    return f"{top_name(kernel)}_0"


class ScriptTemplate(Template):
    delimiter = "%%"  # Tcl and make use $ themselves


def load_template(name: str, cls: type[Template] = Template) -> Template:
    """A template shipped in approxhls/overlays/templates (C++ ones use $, scripts ScriptTemplate's %%)."""
    return cls(resources.files("approxhls.overlays").joinpath("templates", name).read_text())


def _elem(kernel: Kernel, port: Port) -> str:
    return port.ctype if kernel.io_type == "io_parallel" else f"{port.ctype}::value_type"


def _fields(kernel: Kernel, layout: Layout, max_batch: int) -> dict:
    from approxhls import __version__

    out_t = kernel.output.type
    ext = "ap_int" if out_t.signed else "ap_uint"
    return {
        "version": __version__, "kernel": kernel.name, "top": top_name(kernel), "io_type": kernel.io_type,
        "guard": f"{top_name(kernel).upper()}_H_", "word_bits": layout.word_bits, "max_batch": max_batch,
        "in_elements": kernel.input.elements, "in_field": layout.in_field,
        "in_per_word": layout.word_bits // layout.in_field, "in_words": layout.in_words,
        "out_elements": kernel.output.elements, "out_field": layout.out_field,
        "out_per_word": layout.word_bits // layout.out_field, "out_words": layout.out_words,
        "in_elem": _elem(kernel, kernel.input), "out_elem": _elem(kernel, kernel.output),
        "in_ctype": kernel.input.ctype, "out_ctype": kernel.output.ctype,
        "in_chunks": kernel.input.elements // kernel.input.chunk, "out_chunks": kernel.output.elements // kernel.output.chunk,
        "in_type": str(kernel.input.type), "out_type": str(out_t),
        "in_width": kernel.input.type.width, "out_width": out_t.width,
        "out_extend": f"{ext}<{layout.out_field}>", "out_code_cast": f"{ext}<{out_t.width}>",
        "out_extend_why": "sign-extended into the field" if out_t.signed else "zero-extended into the field",
    }


def write_wrapper(kernel: Kernel, firmware: Path, layout: Layout, max_batch: int) -> list[Path]:
    """Write the wrapper, its AXI-Stream header and the testbench beside the kernel in ``firmware``."""
    f = _fields(kernel, layout, max_batch)
    run_tmpl = "run_kernel_parallel.tmpl" if kernel.io_type == "io_parallel" else "run_kernel_stream.tmpl"
    run_kernel = load_template(run_tmpl).substitute(f)
    reference = run_kernel.replace("approxhls_run_kernel", "tb_reference")
    top = top_name(kernel)
    files = {
        "approxhls_axis.h": load_template("approxhls_axis.h").template,
        f"{top}.h": load_template("wrapper.h.tmpl").substitute(f),
        f"{top}.cpp": load_template("wrapper.cpp.tmpl").substitute(f | {"run_kernel": run_kernel}),
        f"tb_{top}.cpp": load_template("tb_wrapper.cpp.tmpl").substitute(f | {"run_reference": reference}),
        f"stream_sim_{top}.cpp": load_template("stream_sim.cpp.tmpl").substitute(f),
    }
    for name, text in files.items():
        (firmware / name).write_text(text)
    return [firmware / n for n in files]


# ---- C-simulation of the wrapper ----------------------------------------------------------------------------

def compile_testbench(overlay_dir: Path, kernel_name: str) -> Path:
    """The wrapper's C-simulation testbench (``make build/tb_TOP``); returns the executable."""
    return make.testbench(overlay_dir, kernel_name)


def compile_stream_library(overlay_dir: Path, kernel_name: str) -> Path:
    """The wrapper as a shared library for the simulated board (``make build/libstream_TOP.so``)."""
    return make.stream_library(overlay_dir, kernel_name)


def run_testbench(overlay_dir, x: np.ndarray, kernel_name: str, in_type) -> tuple[np.ndarray, str]:
    """Run the wrapper testbench on real-valued samples ``x`` (n, ...) as one batch: (output words, its report).

    The testbench itself fails (ApproxHLSError) when TLAST/TKEEP or any output field differs from the kernel.
    """
    d = Path(overlay_dir).resolve()
    exe = compile_testbench(d, kernel_name)
    codes = in_type.to_codes(np.asarray(x, dtype=np.float64).reshape(len(x), -1)).astype(np.int64)
    work = d / "build"
    work.mkdir(exist_ok=True)
    inp, outp = work / "tb_input.txt", work / "tb_output.txt"
    with open(inp, "w") as fh:
        fh.write(f"{codes.shape[0]} {codes.shape[1]}\n")
        np.savetxt(fh, codes, fmt="%d")
    env = os.environ | {WEIGHTS_ENV: str(d / "hls" / "firmware" / "weights")}  # read by the kernel's first call
    r = run_tool([exe, inp, outp], what=f"C-simulating the stream wrapper on {len(x)} samples", kind="run", cwd=work,
                 env=env)
    if r.returncode:
        raise ApproxHLSError(f"wrapper C-simulation failed:\n{(r.stderr or r.stdout)[-3000:]}")
    words = [int(line, 16) for line in outp.read_text().split()]
    return np.array(words, dtype=np.uint64).reshape(len(x), -1), r.stdout.strip()


def verify_wrapper(overlay_dir, x: np.ndarray | None = None, n: int = 32, seed: int = 0) -> dict:
    """C-simulate the wrapper on one batch and decode its words with the host's unpacking: every output must
    equal the project's C-simulation (hls4ml's own bridge), element for element."""
    from approxhls.host.spec import load_target
    from approxhls.sim.csimlib import CSimLibrary

    spec = load_target(overlay_dir)
    t_in, t_out = spec.input.type, spec.output.type
    if x is None:
        x = random_inputs(spec, n, seed)
    if len(x) > spec.data["max_batch"]:
        raise ApproxHLSError(f"{len(x)} samples exceed the wrapper's batch of {spec.data['max_batch']}")
    words, report = run_testbench(overlay_dir, x, spec.data["name"], t_in)
    y = packing.decode(words, t_out, spec.output.field_bits, spec.word_bits, spec.output.elements)
    result = {"samples": len(x), "testbench": report, "words_out": int(words.size)}
    if spec.project_dir is not None and spec.project_dir.exists():
        y_csim = CSimLibrary(spec.project_dir).predict(np.asarray(x, dtype=np.float32)).reshape(len(x), -1)
        result["mismatches_vs_csim"] = int(np.sum(y != y_csim))
        result["equal_to_csim"] = bool(np.array_equal(y, y_csim))
    return result


def random_inputs(spec, n: int, seed: int = 0) -> np.ndarray:
    """n samples of uniformly random codes on the overlay's input grid, shaped as its input."""
    t = spec.input.type
    codes = np.random.default_rng(seed).integers(t.code_min, t.code_max + 1, (n, spec.input.elements))
    return t.from_codes(codes).reshape((n, *spec.input.shape))


def write_golden(overlay_dir, n: int = 64, seed: int = 0) -> dict:
    """golden.npz: n input samples and the output words the wrapper's C-simulation produced for them as one batch
    (the board must return these words bit for bit: ``approxhls run OVERLAY --self-test``). The samples are the
    shipped dataset samples when there are any, else random codes on the input grid."""
    from approxhls.host.spec import GOLDEN_NPZ, load_target

    d = Path(overlay_dir)
    spec = load_target(d)
    n = min(int(n), int(spec.data["max_batch"]))
    ds = spec.data.get("dataset")
    if ds and (d / ds["file"]).exists():
        x = np.load(d / ds["file"])["x"][:n].reshape(-1, *spec.input.shape)
    else:
        x = random_inputs(spec, n, seed)
    words, report = run_testbench(d, x, spec.data["name"], spec.input.type)
    np.savez_compressed(d / GOLDEN_NPZ, x=np.asarray(x, np.float64), words=words)
    return {"samples": int(len(x)), "testbench": report}
