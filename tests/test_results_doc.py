"""docs/RESULTS.md is rendered from bench/results/*.json: the text and the data cannot disagree."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_results_doc_is_what_the_data_renders():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "render_results.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_benchmark_json_has_a_section():
    sys.path.insert(0, str(ROOT / "bench"))
    import render_results

    rendered = {s.__name__ for s in render_results.SECTIONS}
    for p in (ROOT / "bench" / "results").glob("*.json"):
        assert p.stem in rendered, f"{p.name} is not rendered into docs/RESULTS.md"
