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


def test_rank_sweep_is_rendered_from_its_rows():
    """The sweep's table orders the model's exact, low-rank and sweep rows by the rank their methods name, and the
    sentence on where the emulator meets Keras is computed from the ratios, not written."""
    sys.path.insert(0, str(ROOT / "bench"))
    import render_results

    def row(mult, kind, methods, ratio):  # the worst of three alternations at ``ratio``; the best Keras elsewhere
        return {"model": "resnet8", "multiplier": mult, "kind": kind, "methods": methods, "engines": "conv2d-int8",
                "emulator_img_s": 1000.0, "keras_best_img_s": 2000.0, "emu_vs_keras": round(ratio, 2),
                "pair_seconds": [[2.0, 1.0], [1.0 * ratio, 1.0], [3.0, 2.0]], "emulator_equals_csim": True}

    d = {"rows": [row("tam_u8_k7", "low-rank", "gemm,low-rank r=6,lut", 0.6), row("exact", "exact", "gemm", 1.5),
                  row("drum_u8_k4", "separable", "gemm,separable", 1.2)],
         "rank_sweep": [row("tam_u8_k9", "rank sweep", "gemm,low-rank r=4", 0.9),
                        row("tam_u8_k10", "rank sweep", "low-rank r=3,gemm", 1.1)]}
    text = render_results.rank_sweep(d)
    order = [line.split("|")[2].strip() for line in text.splitlines() if line.startswith("| resnet8")]
    assert order == ["exact", "tam_u8_k10", "tam_u8_k9", "tam_u8_k7"]  # the separable row is not a rank point
    assert "at least as fast as Keras at rank 0, 3." in text
    d["rank_sweep"][1]["pair_seconds"][1] = [0.996, 1.0]  # rounded to 1.00 in the JSON's emu_vs_keras
    text = render_results.rank_sweep(d)
    assert "at least as fast as Keras at rank 0." in text  # 0.996 does not reach Keras
    assert "rank 3 (tam_u8_k10): 0.996;" in text and "| 0.996 |" in text  # 3 decimals where 2 would cross 1
    assert render_results.ratio_text(0.996, 0.5) == "1.00" and render_results.ratio_text(1.004, 1.0) == "1.00"
    assert render_results.decomposition_rank("gemm,lut") == 0


def test_emulator_rows_are_judged_on_their_worst_alternation():
    """Keras / emulator seconds of adjacent timings (one alternation) share the machine's speed of the moment; the
    goal holds only if every alternation meets it. The emulator's best against the fastest Keras of another row (a
    different moment) is shown, not judged."""
    sys.path.insert(0, str(ROOT / "bench"))
    import render_results

    goals = {"emu_vs_keras": {"low-rank": 1.0}, "emu_vs_csim": 100}
    r = {"kind": "low-rank", "emulator_img_s": 900.0, "keras_best_img_s": 1000.0, "emu_vs_csim": 500.0,
         "pair_seconds": [[3.0, 2.0], [1.5, 1.4], [2.2, 1.1]]}
    assert render_results.speed_ratio(r) == 1.5 / 1.4 and render_results.cross_row_ratio(r) == 0.9
    assert render_results.meets_goal(r, goals)
    r["pair_seconds"][0] = [1.9, 2.0]  # one alternation slower than Keras fails the row
    assert render_results.speed_ratio(r) == 0.95 and not render_results.meets_goal(r, goals)
    r["pair_seconds"][0] = [2.0, 2.0]  # every alternation at least as fast: met, whatever the cross-row ratio
    assert render_results.meets_goal(r, goals) and render_results.cross_row_ratio(r) < 1.0
    r["emu_vs_csim"] = 99.0  # the C-simulation goal still counts
    assert not render_results.meets_goal(r, goals)


def test_quick_runs_never_replace_the_rendered_data():
    """A --quick smoke run writes under bench/results/quick/, which RESULTS.md does not render; every benchmark that
    offers --quick takes its default output from the one function that says so."""
    sys.path.insert(0, str(ROOT / "bench"))
    import render_results

    real, quick = render_results.results_path("emulator"), render_results.results_path("emulator", quick=True)
    assert real == render_results.RESULTS / "emulator.json"
    assert quick.parent == render_results.RESULTS / "quick" and quick != real
    offering = [p for p in (ROOT / "bench").glob("*.py") if '"--quick"' in p.read_text()]
    assert {p.stem for p in offering} >= {"alwann", "emulator", "import_library"}
    for p in offering:
        assert "results_path(" in p.read_text(), f"{p.name} offers --quick without results_path"


def test_alwann_table_shows_a_column_only_when_some_row_has_its_field():
    sys.path.insert(0, str(ROOT / "bench"))
    import render_results

    bare = {"model": "mlp", "accelerator": "dataflow", "tuned": False, "exact_test_acc": 0.9, "evaluations": 10,
            "wall_s": 1.0}
    always = ["model", "acc", "obj", "tuned", "exact", "save", "test", "loss", "evals", "wall"]

    def keys(*rows):
        return [k for _, k in render_results._alwann_columns(list(rows))]

    assert keys(bare) == always
    row = render_results._alwann_row(bare)
    assert [row[k] for k in ("comp", "save", "loss", "vloss", "maxloss", "stopped", "search", "code", "dfl")] == \
        ["no", "", "", "", "", "", "", "", ""]
    assert set(keys(bare, bare | {"max_loss_pp": 1.0})) - set(always) == {"maxloss", "stopped"}
    assert set(keys(bare | {"sizes": "1/2/3"})) - set(always) == {"sizes", "ci"}
    assert set(keys(bare | {"compensated": True})) - set(always) == {"comp"}
    assert set(keys(bare | {"compensated": False, "code": "", "sizes": ""})) - set(always) == {"code"}
    for field, key in (("val_loss_pp", "vloss"), ("pop", "search"), ("evals_per_s", "rate"), ("prefix_reuse", "reuse"),
                       ("dataflow_luts", "dfl"), ("tiles_luts", "til")):
        assert set(keys(bare | {field: 0})) - set(always) == {key}, field
    full = render_results._alwann_row(bare | {"max_loss_pp": 0.5, "stopped_infeasible": 3, "pop": 8, "gens": 4,
                                              "energy_saving_%": 12.345, "loss_pp": 0.5, "compensated": True})
    assert (full["maxloss"], full["stopped"], full["search"], full["save"], full["loss"], full["comp"]) == \
        ("0.5", 3, "8 x 4", "12.3%", "0.50", "yes")


def test_alwann_findings_are_what_its_rows_say():
    """The findings bench/alwann.py wrote are recomputed from the rows it wrote beside them."""
    import json

    sys.path.insert(0, str(ROOT / "bench"))
    import alwann

    d = json.loads((ROOT / "bench" / "results" / "alwann.json").read_text())
    assert alwann.findings(d["rows"]) == d["findings"]
    shorter = [r for r in d["rows"] if not alwann.is_full_scale(r)]  # no measured run: the short ones extrapolate
    assert sum("would take about" in line for line in alwann.findings(shorter)) == \
        sum(r["model"] == "resnet8" and r.get("objective", "energy") == "energy" for r in shorter)  # the goal's rows


def test_rule4ml_comparison_is_what_the_estimate_rows_say():
    """bench/estimate.py's comparison with rule4ml is recomputed from its rows and rule4ml's predictions."""
    import copy
    import json

    sys.path.insert(0, str(ROOT / "bench"))
    import estimate

    d = json.loads((ROOT / "bench" / "results" / "estimate.json").read_text())
    rows = copy.deepcopy(d["rows"])
    for r in rows:
        r.pop("rule4ml", None)
    assert estimate.compare_rule4ml(rows, d["tools"][0]) == d["rule4ml"]
    assert rows == d["rows"]  # the predictions written back beside each covered row's estimate
