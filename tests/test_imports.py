import subprocess
import sys

import pytest
from importgraph import find_cycle, graph_of, module_files

LIGHT_MODULES = [
    "approxhls",
    "approxhls.host",
    "approxhls.fixedpoint",
    "approxhls.models.datasets",
    "approxhls.models.schemes",
    "approxhls.cli",
    # the numpy-only subpackage: IR, operations, reference, emulator, decompositions, lookup kernel, csim loader
    "approxhls.sim",
    "approxhls.sim.ir",
    "approxhls.sim.ops",
    "approxhls.sim.reference",
    "approxhls.sim.emulator",
    "approxhls.sim.decompose",
    "approxhls.sim.lutkernel",
    "approxhls.sim.assignment",
    "approxhls.sim.csimlib",
    "approxhls.sim.project",
]


def test_a_saved_project_is_evaluated_without_tensorflow_or_hls4ml(tmp_path):
    """Load a project's IR and run the reference and the emulator in a process that never imports them."""
    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.models.corpus import build

    convert_model(build("merges"), tmp_path / "p", ConvertOptions())
    code = (
        "import sys, numpy as np\n"
        "from approxhls.sim.ir import IR\nfrom approxhls.sim.emulator import Emulator\n"
        "from approxhls.sim.reference import evaluate\n"
        f"ir = IR.load({str(tmp_path / 'p')!r})\n"
        "x = np.random.default_rng(0).integers(0, 256, (8, 6, 6, 2)) / 256\n"
        "assert np.array_equal(Emulator(ir).predict(x), evaluate(ir, x))\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'qkeras', 'hls4ml'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout.strip()}"


def test_light_modules_do_not_import_tensorflow_or_hls4ml():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in LIGHT_MODULES)
        + "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'qkeras', 'hls4ml'))\n"
        + "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout.strip()}"


def test_cli_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "approxhls.cli", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("train", "convert", "csim", "demo"):
        assert cmd in out.stdout


@pytest.mark.parametrize("package", ["models", "sim", "host", "overlays", "cost", "search", "hls"])
def test_a_package_has_no_import_cycle(package):
    """Imports inside functions count: the learned-step layers (lsq) and the schemes that build them once imported
    each other, the cycle hidden by a function-level import."""
    cycle = find_cycle(graph_of(module_files(package)))
    assert cycle is None, " -> ".join(cycle)


def test_approxhls_as_a_whole_has_no_import_cycle():
    """Across packages too: the project file's owner once imported the conversion (to convert a model in memory)
    while the conversion wrote projects through it, a cycle through hls/, sim/ and approxhls.project."""
    cycle = find_cycle(graph_of(module_files(".")))
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path):
    (tmp_path / "a.py").write_text("from approxhls.b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from approxhls.a import y\n")
    graph = graph_of({"approxhls.a": tmp_path / "a.py", "approxhls.b": tmp_path / "b.py"})
    assert find_cycle(graph) == ["approxhls.a", "approxhls.b", "approxhls.a"]
