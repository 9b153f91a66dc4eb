import subprocess
import sys

LIGHT_MODULES = [
    "approxhls",
    "approxhls.host",
    "approxhls.fixedpoint",
    "approxhls.models.datasets",
    "approxhls.models.schemes",
    "approxhls.sim.csimlib",
    "approxhls.cli",
]


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
