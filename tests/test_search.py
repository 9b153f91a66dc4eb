"""ALWANN search: cost arithmetic, encodings, weight tuning, NSGA-II, parallel evaluation, end to end."""

import json

import numpy as np
import pytest

from approxhls.pareto import pareto_mask
from approxhls.search.accelerators import DataflowAccelerator, TiledAccelerator
from approxhls.search.costmodel import CostModel, LayerCost

CATALOG = {"exact_u8": {"toggles_per_op": 40.0, "luts": 114}, "exact_s8": {"toggles_per_op": 50.0, "luts": 120},
           "cheap": {"toggles_per_op": 10.0, "luts": 57}, "mid": {"toggles_per_op": 20.0, "luts": 80},
           "signed_cheap": {"toggles_per_op": 25.0, "luts": 60, "signed": True}}


def test_energy_and_lut_arithmetic():
    # a: dense, 1000 weights used once; b: conv, 30 weights used 100 times (3000 MACs)
    cost = CostModel([LayerCost("a", 1000, 1000), LayerCost("b", 3000, 30, signed=True)], CATALOG, reuse_factor=4,
                     tile_size=8)
    assert cost.relative_energy({}) == 1.0
    # energies relative to the exact design of the same signedness: cheap 10/40, signed_cheap 25/50
    assert cost.relative_energy({"a": "cheap"}) == pytest.approx((1000 * 0.25 + 3000) / 4000)
    assert cost.relative_energy({"a": "cheap", "b": "signed_cheap"}) == pytest.approx((250 + 1500) / 4000)
    # multipliers: ceil(weights / reuse) as `approxhls cost` counts them, not MACs: a 250, b ceil(30/4) = 8
    assert cost.instances == {"a": 250, "b": 8}
    # LUTs: a on unsigned inputs (cheap = 0.5 x exact_u8), b signed (exact_s8)
    assert cost.dataflow_luts({"a": "cheap"}) == 250 * 57 + 8 * 120
    assert cost.tiled_luts(["cheap", "mid"]) == 8 * 57 + 8 * 80
    assert CostModel([LayerCost("a", 1000, 1000), LayerCost("b", 3000, 30)], CATALOG).tile_size == 1000


def test_search_and_cost_command_count_the_same_multipliers(prepared):
    """One counter: the search's multipliers per layer are the cost report's (``approxhls cost``)."""
    from approxhls.cost.count import count_ir
    from approxhls.cost.estimate import multiplier_instances

    ir, layers, *_ = prepared
    cost = CostModel(layers, CATALOG, reuse_factor=3)
    counts = {c.name: c for c in count_ir(ir)}
    for layer in layers:
        assert layer.macs == counts[layer.name].macs and layer.weights == counts[layer.name].weights
        assert cost.instances[layer.name] == multiplier_instances(counts[layer.name].weights, 3)


def test_tile_mapping():
    acc = TiledAccelerator(["l1", "l2", "l3"], ["exact", "cheap", "mid"], n_tiles=2, fixed_exact=["l4"])
    d = acc.decode([1, 2, 0, 1, 1])
    assert d.tiles == ["cheap", "mid"] and d.tile_map == {"l1": 0, "l2": 1, "l3": 1}
    assert d.assignment == {"l1": "cheap", "l2": "mid", "l3": "mid", "l4": "exact"}
    lo, hi = acc.bounds()
    assert lo.tolist() == [0] * 5 and hi.tolist() == [2, 2, 1, 1, 1]
    assert all(m == "exact" for m in acc.decode(acc.exact_genes()).assignment.values())
    from approxhls.errors import ApproxHLSError

    with pytest.raises(ApproxHLSError, match="fewer tiles than layers"):
        TiledAccelerator(["l1", "l2"], ["exact"], n_tiles=2)
    df = DataflowAccelerator(["l1", "l2"], {"l1": ["exact", "a"], "l2": ["exact", "b", "c"]})
    assert df.decode([1, 2]).assignment == {"l1": "a", "l2": "c"}


def test_weight_tuning_reduces_the_multipliers_mean_error():
    from approxhls.fixedpoint import FixedType
    from approxhls.multipliers.registry import get_design
    from approxhls.search.tuning import mean_abs_error, tuned_codes
    from approxhls.sim.assignment import Assignment

    x_t, w_t = FixedType.parse("ap_ufixed<8,2>"), FixedType.parse("ap_fixed<8,1>")
    for name in ("tam_u8_k8", "bam_u8_h2_v8", "mitchell_u8_w4"):
        a = Assignment("l", name, "t", x_t, w_t, get_design(name))
        x, w = a.codes()
        weights = np.random.default_rng(0).integers(-100, 100, 500)
        p = np.exp(-x / 40.0)  # a ReLU-like input distribution
        mapping = tuned_codes(a.table(), x, w, p, weights)
        before = mean_abs_error(a.table(), x, w, p, weights)
        after = mean_abs_error(a.table(), x, w, p, weights, mapping)
        assert after < before, name
    exact = Assignment("l", "exact", "t", x_t, w_t)
    m = tuned_codes(exact.table(), *exact.codes(), None, np.arange(-128, 128))
    assert all(k == v for k, v in m.items())  # nothing to tune on an exact multiplier


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory):
    """The committed digits mlp (`approxhls train --model mlp --epochs 8 --width 0.5`), copied: tests write beside
    it."""
    import shutil

    from search_golden import MODEL

    d = tmp_path_factory.mktemp("mlp") / "model"
    shutil.copytree(MODEL, d)
    return d


@pytest.fixture(scope="module")
def prepared(trained_mlp):
    from approxhls.models.datasets import load_dataset
    from approxhls.models.modelio import load_model
    from approxhls.search.network import prepare

    return prepare(load_model(trained_mlp), load_dataset("digits"), calib=200)


def test_nsga2_returns_a_non_dominated_set(prepared):
    from approxhls.search.evaluator import Evaluator, Fitness
    from approxhls.search.nsga import run_nsga2
    from approxhls.search.pool import Pool
    from approxhls.search.problem import AlwannProblem

    ir, layers, candidates, catalog, data, _ = prepared
    accel = DataflowAccelerator([layer.name for layer in layers], candidates)
    ev = Evaluator(ir, data)
    fitness = Fitness(Pool(ev))
    X, _ = run_nsga2(AlwannProblem(accel, CostModel(layers, catalog), fitness, ev.accuracy({})), pop=10, gens=3,
                     progress=False)
    assert len(X) >= 1 and fitness.evaluations >= 10
    F = []
    for genes in X:
        d = accel.decode(genes)
        F.append([1 - fitness.get(d.assignment), CostModel(layers, catalog).relative_energy(d.assignment)])
    assert pareto_mask(np.array(F)).all()


def test_dask_and_process_pools_agree_with_in_process(prepared):
    from distributed import Client, LocalCluster

    from approxhls.search.evaluator import Evaluator
    from approxhls.search.pool import Pool

    ir, layers, candidates, catalog, data, _ = prepared
    ev = Evaluator(ir, data)
    names = [layer.name for layer in layers]
    jobs = [({n: "exact" for n in names}, False), ({names[0]: "drum_u8_k4", names[1]: "tam_u8_k8"}, False),
            ({n: "mitchell_u8_w5" for n in names}, False)]
    jobs += [({names[0]: m, names[-1]: "drum_u8_k4"}, tuned) for m in ("tam_u8_k8", "exact") for tuned in (False, True)]
    local = Pool(ev).map(jobs)
    procs = Pool(ev, jobs=2)
    try:
        assert procs.map(jobs) == local
    finally:
        procs.close()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert Pool(ev, client=client).map(jobs) == local
    assert local[0] > local[2] - 0.2  # sane accuracies


def test_search_end_to_end_and_front_point_converts_bit_exact(trained_mlp, tmp_path):
    """A tuned, compensated search's front point converts into a project whose C-simulation equals the emulator, and
    whose test outcomes, computed here from that project and the exact network, give the accuracy, the Wilson
    interval and the paired loss interval pareto.json reports for it."""
    from scipy.stats import binomtest

    from approxhls.hls.convert import ConvertOptions, build_graph, convert
    from approxhls.models.datasets import load_dataset
    from approxhls.models.modelio import load_model
    from approxhls.search.run import SearchOptions, run_search
    from approxhls.sim.assignment import project_assignments
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR

    r = run_search(trained_mlp, tmp_path / "s", SearchOptions(pop=8, gens=2, tune=True, compensate=True, calib=200,
                                                              val=100, progress=False))
    assert (tmp_path / "s" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "s" / "pareto.json").read_text())
    assert saved == json.loads(json.dumps(r)) and saved["points"] and saved["exact"]["test_accuracy"] > 0.8
    proto = saved["protocol"]
    assert (proto["calibration"], proto["validation"], proto["test"]) == (200, 100, 450)
    assert "never used" in proto["validation_source"]
    for p in saved["points"]:
        assert {"plan", "val_accuracy", "test_accuracy", "val_accuracy_untuned", "val_accuracy_uncompensated",
                "relative_energy", "luts", "plan_file"} <= set(p)
    approx = [p for p in r["points"] if any(m != "exact" for m in p["plan"].values())]
    point = approx[-1] if approx else r["points"][0]  # the approximate point that loses least
    plan_file = tmp_path / "s" / point["plan_file"]
    if approx:
        assert json.loads(plan_file.read_text()).get("bias_offsets"), "a compensated plan carries its bias offsets"
    convert(trained_mlp, tmp_path / "prj", ConvertOptions(), plan=plan_file)
    ds = load_dataset("digits")
    x = ds.x_test[:200].reshape(200, -1)
    y_csim = CSimLibrary(tmp_path / "prj").predict(x)
    y_emu = Emulator(IR.load(tmp_path / "prj"), project_assignments(tmp_path / "prj")).predict(x)
    assert np.array_equal(y_csim, y_emu)

    full = ds.x_test.reshape(len(ds.x_test), -1)
    planned = np.argmax(Emulator(IR.load(tmp_path / "prj"), project_assignments(tmp_path / "prj")).predict(full),
                        1) == ds.y_test
    exact_ir = build_graph(load_model(trained_mlp), ConvertOptions(input_precision="ap_ufixed<8,0>")).ir
    exact = np.argmax(Emulator(exact_ir).predict(full), 1) == ds.y_test
    n = len(ds.y_test)
    # the tuned weights and bias offsets went into the project: it scores what the search reported, image for image
    assert point["test_accuracy"] == planned.mean() and saved["exact"]["test_accuracy"] == exact.mean()
    assert point["test_accuracy_ci95"] == pytest.approx(
        list(binomtest(int(planned.sum()), n).proportion_ci(method="wilson")), abs=1e-5)  # scipy: z = 1.95996...
    d = exact.astype(float) - planned
    half = 1.96 * np.sqrt(np.sum((d - d.mean()) ** 2) / (n - 1) / n)  # paired: per-image differences
    assert point["test_loss_ci95"] == pytest.approx([d.mean() - half, d.mean() + half], abs=1e-12)
    assert half > 0 and (d != 0).any(), "the plan changes some answers, else the interval says nothing"


def test_tuned_and_compensated_conv_plan_converts_bit_exact(tmp_path):
    """The convolutional twin of the digits-mlp check above: a plan with tuned weight codes and bias offsets on every
    layer of a small cnn, made by the search's own plan_of, converts into a project whose C-simulation equals the
    emulator on every element, and which computes what the search evaluated for that plan."""
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import randomize_weights

    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.models.datasets import load_dataset
    from approxhls.models.zoo import build_model
    from approxhls.search.evaluator import Evaluator
    from approxhls.search.front import plan_of
    from approxhls.search.network import prepare
    from approxhls.sim.assignment import project_assignments
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR

    ds = load_dataset("digits")
    model = build_model("cnn", (8, 8, 1), 10, "fixed-w8a8", width=0.5)
    randomize_weights(model, seed=4, low=-0.5, high=0.5)
    ir, _, candidates, _, data, _ = prepare(model, ds, calib=200)
    ev = Evaluator(ir, data, Emulator(ir).input_histograms(data.x_calib), compensate=True)
    # truncating (biased) multipliers, whose mean error tuning and compensation both act on
    assignment = {"conv1": "tam_u8_k7", "conv2": "lsbt_u8_ka2_kb2", "logits": "tam_u8_k8"}
    assert all(m in candidates[layer] for layer, m in assignment.items())
    plan = plan_of({"plan": assignment}, ev, SimpleNamespace(tune=True, compensate=True))
    assert {"conv1", "conv2"} <= set(plan.tuned_weights) and {"conv1", "conv2"} <= set(plan.bias_offsets)
    assert all(any(v != 0 for v in plan.bias_offsets[layer]) for layer in ("conv1", "conv2"))

    prj = tmp_path / "prj"
    convert_model(model, prj, ConvertOptions(input_precision=str(ds.grid)), plan=plan.save(tmp_path / "plan.json"))
    x = data.x_test[:150]
    y_csim = CSimLibrary(prj).predict(x)
    y_emu = Emulator(IR.load(prj), project_assignments(prj)).predict(x)
    assert np.array_equal(y_csim, y_emu)
    # the project is the network the search scored: tuned weights and offsets went in, and they change its outputs
    assert np.array_equal(y_emu, Emulator(*ev.network(assignment, tuned=True)).predict(x))
    assert not np.array_equal(y_emu, Emulator(*ev.network(assignment, tuned=False, compensate=False)).predict(x))


def test_bias_compensation_cancels_the_expected_error():
    """Offsets subtract each channel's expected error of a biased (truncating) multiplier, to within the rounding
    to a bias code, on the input distribution they were computed for."""
    from approxhls.fixedpoint import FixedType
    from approxhls.multipliers.registry import get_design
    from approxhls.search.tuning import bias_offsets
    from approxhls.sim.assignment import Assignment

    x_t, w_t = FixedType.parse("ap_ufixed<8,0>"), FixedType.parse("ap_fixed<8,0>")
    a = Assignment("l", "lsbt_u8_ka2_kb2", "test", x_t, w_t, get_design("lsbt_u8_ka2_kb2"))
    x, w = a.codes()
    table = a.table()
    rng = np.random.default_rng(5)
    p = rng.random(len(x)) ** 4  # a skewed input distribution
    W = rng.integers(-128, 128, size=(200, 6))
    shift = 7 - 15  # bias ap_fixed<16,9>: 7 fractional bits; products 8 + 7
    bias = rng.integers(-100, 100, size=6)
    off = bias_offsets(table, x, w, p, W, W, shift, bias, -(1 << 15), (1 << 15) - 1)
    pn = p / p.sum()
    err = np.array([sum(pn @ (table[:, W[k, o] - w[0]] - x * W[k, o]) for k in range(200)) for o in range(6)])
    big = np.abs(err) > 2.0 ** -shift / 2  # errors of at least half a bias code get an offset of opposite sign
    assert big.sum() >= 3 and np.all(np.sign(off[big]) == -np.sign(err[big])) and np.all(off[~big] == 0)
    residual = err + np.ldexp(off.astype(float), -shift)
    assert np.all(np.abs(residual) <= 2.0 ** -shift / 2 + 1e-6)  # within half a bias LSB (in product units)
    clipped = bias_offsets(table, x, w, p, W, W, shift, bias, -128, 127)
    assert (bias + clipped).max() <= 127  # never leaves the bias type


def test_tiled_search_runs(trained_mlp, tmp_path):
    from approxhls.search.run import SearchOptions, run_search

    r = run_search(trained_mlp, tmp_path / "t", SearchOptions(tiles=2, pop=8, gens=2, calib=150, progress=False))
    assert r["accelerator"] == "tiled-2"
    for p in r["points"]:
        assert len(p["tiles"]) == 2 and set(p["tile_map"].values()) <= {0, 1}


@pytest.fixture(scope="module")
def small_resnet():
    """A narrow resnet8 on 12x12 inputs with random weights, as an IR (residual: two live tensors at some cuts)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import randomize_weights

    from approxhls.hls.convert import ConvertOptions, build_graph
    from approxhls.models.zoo import build_model

    model = build_model("resnet8", (12, 12, 1), 4, "fixed-w8a8", width=0.25)
    randomize_weights(model, seed=1, low=-0.5, high=0.5)
    return build_graph(model, ConvertOptions(input_precision="ap_ufixed<8,0>"))


@pytest.mark.parametrize("budget", [1 << 30, 60_000])
def test_prefix_states_give_the_emulators_outputs(small_resnet, budget):
    """Candidates resumed from shared prefixes (residual network: two live tensors at some cuts) equal a full
    emulator run element for element, in sorted and in arbitrary order, with every shared state kept or only as
    many as a small budget holds."""
    from approxhls.search.evaluator import Evaluator
    from approxhls.search.network import SearchData
    from approxhls.search.prefix import PrefixRunner, multiplier_key
    from approxhls.sim.emulator import Emulator

    g = small_resnet
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 12, 12, 1)) / 256
    ev = Evaluator(g.ir, SearchData(x, np.zeros(20, int), x, np.zeros(20, int)))
    layers = [n.name for n in g.ir.plannable_nodes()]
    choices = ["exact", "drum_u8_k4", "tam_u8_k7"]
    jobs = [({layer: choices[rng.integers(3)] for layer in layers}, bool(rng.integers(2))) for _ in range(12)]
    jobs += [(dict(jobs[0][0], **{layers[-1]: "exact"}), jobs[0][1])]  # differs in the last layer only
    runner = PrefixRunner(g.ir, x, batch=8, budget=budget)

    def run(i):
        assignment, tuned = jobs[i]
        ir, asg = ev.network(assignment, tuned)
        em = Emulator(ir, asg, cache=ev._emulator_cache)
        before = runner.nodes_run
        assert np.array_equal(runner.predict(em, multiplier_key(g.ir, assignment), tag=tuned), em.predict(x, 8))
        assert runner.kept_bytes <= budget
        return (runner.nodes_run - before) // 3  # 3 batches of 8 (20 images)

    for order in (ev.prefix_order(jobs), range(len(jobs))):
        for tuned in (False, True):
            runner.expect([multiplier_key(g.ir, a) for a, t in jobs if t == tuned], tag=tuned)
        for i in order:
            run(i)
    assert runner.reuse > 0
    run(0)
    if budget == 1 << 30:  # the last job shares every layer but the last with job 0: it runs from the last cut
        assert run(len(jobs) - 1) == len(g.ir.nodes) - runner.cuts[-1]
    else:
        assert len(runner.states) < sum(len(runner.cuts) - 1 for _ in jobs)  # the budget dropped states


def test_prefix_states_outlive_the_next_candidate_and_only_shared_ones_are_kept(small_resnet):
    """Across generations a candidate resumes from the state of a prefix an earlier, not adjacent, candidate
    computed; a prefix no other candidate shares keeps no state; the least shared states leave first when the
    budget is full; states are kept in the narrowest integer type (ReLU codes of 8 bits: uint8)."""
    from approxhls.search.prefix import PrefixRunner, multiplier_key
    from approxhls.sim.emulator import Emulator

    g = small_resnet
    x = np.random.default_rng(3).integers(0, 256, (16, 12, 12, 1)) / 256
    layers = [n.name for n in g.ir.plannable_nodes()]
    exact = {layer: "exact" for layer in layers}
    a = dict(exact, **{layers[-1]: "drum_u8_k4"})
    b = dict(exact, **{layers[0]: "tam_u8_k7"})  # differs from a in the first layer: shares nothing with it
    c = dict(exact, **{layers[-1]: "tam_u8_k7"})  # shares all but the last layer with a

    def run(runner, assignment):
        em = Emulator(g.ir, {}, cache={}) if assignment == exact else Emulator(*_network(g.ir, assignment))
        before = runner.nodes_run
        assert np.array_equal(runner.predict(em, multiplier_key(g.ir, assignment)), em.predict(x, 8))
        return (runner.nodes_run - before) // 2  # 2 batches of 8

    runner = PrefixRunner(g.ir, x, batch=8)
    runner.expect([multiplier_key(g.ir, k) for k in (a, b, c)])
    run(runner, a)
    kept = set(runner.states)
    assert kept == {(None, multiplier_key(g.ir, a)[:d]) for d in range(1, len(runner.cuts))}  # shared with c
    run(runner, b)
    assert set(runner.states) == kept  # b's prefixes are its own: nothing kept
    assert run(runner, c) == len(g.ir.nodes) - runner.cuts[-1]  # resumed from a's last state, past b
    narrow = [c.dtype for state in runner.states.values() for batch in state for c, t in batch.values()
              if t.code_min == 0 and t.code_max == 255]
    assert narrow and all(dt == np.uint8 for dt in narrow)

    deepest = max(sum(c.nbytes for batch in s for c, _ in batch.values()) for s in runner.states.values())
    small = PrefixRunner(g.ir, x, batch=8, budget=deepest + 1)  # room for about one state
    small.expect([multiplier_key(g.ir, k) for k in (a, c, c, c, b, b)])  # b's prefixes shared by 2, c's by 4
    run(small, c)
    run(small, b)
    assert (None, multiplier_key(g.ir, c)[:-1]) in small.states  # c's last state stayed: b's are less shared
    assert small.kept_bytes <= deepest + 1


def _network(ir, assignment):
    from approxhls.search.evaluator import Evaluator
    from approxhls.search.network import SearchData

    empty = np.zeros((0,))
    return Evaluator(ir, SearchData(empty, empty, empty, empty)).network(assignment, False)


def test_a_dead_worker_is_named_with_the_likely_cause(prepared):
    """A spawned worker that dies (e.g. an unguarded script re-running itself) is reported with the fix."""
    from concurrent.futures.process import BrokenProcessPool

    from approxhls.errors import ApproxHLSError
    from approxhls.search.evaluator import Evaluator
    from approxhls.search.pool import Pool

    ir, layers, _, _, data, _ = prepared
    pool = Pool(Evaluator(ir, data))
    pool.kind = "processes"

    class Dead:  # what ProcessPoolExecutor gives the futures of work in flight when one of its processes dies
        def submit(self, *a):
            from concurrent.futures import Future

            f = Future()
            f.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
            return f

        def shutdown(self):
            pass

    pool._executor = Dead()
    with pytest.raises(ApproxHLSError, match="__name__"):
        pool.map([({layers[0].name: "exact"}, False)])


def test_each_worker_walks_its_share_and_then_helps_the_others():
    """Every job is taken once; a worker's own jobs come in prefix order (front of its share), and one whose share
    is done takes from the back of the largest share left."""
    from approxhls.search.pool import Shares

    shares = Shares(list(range(10)), workers=2, size=2)
    assert shares.take(0) == [0, 1] and shares.next_of(0) == 2
    assert shares.take(1) == [5, 6]
    assert shares.take(0) == [2, 3] and shares.take(0) == [4] and shares.next_of(0) is None
    assert shares.take(0) == [8, 9]  # worker 0 is done: the back of worker 1's share
    assert shares.take(1) == [7] and shares.take(1) == [] and shares.take(0) == []
    one = Shares([3, 1], workers=4)  # fewer jobs than workers: one share per job
    assert sorted(one.take(0) + one.take(1)) == [1, 3] and len(one.shares) == 2


def test_bias_compensation_per_position_distribution():
    """Positions that see different inputs (image borders, channels) get their own expected error; one distribution
    repeated at every position gives the offsets of that distribution."""
    from approxhls.fixedpoint import FixedType
    from approxhls.multipliers.registry import get_design
    from approxhls.search.tuning import bias_offsets
    from approxhls.sim.assignment import Assignment

    x_t, w_t = FixedType.parse("ap_ufixed<8,0>"), FixedType.parse("ap_fixed<8,0>")
    a = Assignment("l", "tam_u8_k7", "test", x_t, w_t, get_design("tam_u8_k7"))
    x, w = a.codes()
    rng = np.random.default_rng(6)
    W = rng.integers(-128, 128, size=(50, 4))
    args = (W, W, -8, np.zeros(4, int), -(1 << 15), (1 << 15) - 1)
    p = rng.random(len(x))
    same = bias_offsets(a.table(), x, w, np.tile(p, (50, 1)), *args)
    assert np.array_equal(same, bias_offsets(a.table(), x, w, p, *args))
    P = np.zeros((50, len(x)))
    P[:, 0] = 1  # every position sees code 0 only (padding): tam's product of 0 is exact, nothing to compensate
    assert not bias_offsets(a.table(), x, w, P, *args).any()


def test_max_wrong_is_the_constraints_own_boundary():
    from approxhls.search.problem import max_wrong

    for n, exact, loss in [(2000, 0.9135, 0.005), (200, 0.9, 0.0), (1000, 0.873, 0.02), (7, 1.0, 0.1), (50, 0.1, 0.5)]:
        w = max_wrong(n, exact, loss)
        feasible = [(exact - (1 - k / n)) - loss <= 0 for k in range(n + 1)]  # the NSGA-II constraint, G <= 0
        assert feasible[: w + 1] == [True] * (w + 1) and not any(feasible[w + 1 :])


def test_infeasible_candidates_stop_early_and_leave_the_prefix_states_intact(small_resnet):
    """With max_wrong set, a candidate stops once its wrong answers pass it (accuracy: an upper bound, the candidate
    infeasible either way); a feasible one is counted on every image; later candidates resuming from the shared
    prefixes still equal full emulator runs."""
    from approxhls.search.evaluator import Evaluator
    from approxhls.search.network import SearchData
    from approxhls.search.prefix import PrefixRunner
    from approxhls.sim.emulator import Emulator

    g = small_resnet
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (40, 12, 12, 1)) / 256
    layers = [n.name for n in g.ir.plannable_nodes()]
    exact = {layer: "exact" for layer in layers}
    y = np.argmax(Emulator(g.ir).predict(x), axis=1)  # labels the exact network gets all right
    y[[0, 1, 2, 3, 4, 5, 30, 31, 32, 33]] += 1  # ... except 6 in the first batch of 8 and 4 in the last ones
    y %= 4
    ev = Evaluator(g.ir, SearchData(x, y, x, y))
    ev._prefix = PrefixRunner(g.ir, x, batch=8)
    ev.max_wrong = 3
    assert ev.accuracy(exact) == 1 - 6 / 40  # stopped after one batch: an upper bound of the true 1 - 10/40
    assert ev.stopped == 1 and ev._prefix.nodes_total == len(g.ir.nodes)  # one batch of nodes run
    ev.max_wrong = 10  # feasible: counted on every image
    assert ev.accuracy(exact) == 1 - 10 / 40 and ev.stopped == 1
    candidate = dict(exact, **{layers[-1]: "tam_u8_k7", layers[0]: "drum_u8_k4"})
    wrong = int((np.argmax(Emulator(*ev.network(candidate, False)).predict(x), axis=1) != y).sum())
    assert wrong > 12
    ev.max_wrong = 12  # infeasible: stopped somewhere after its 13th wrong answer, before the 40th image or at it
    bound = ev.accuracy(candidate)
    assert 1 - wrong / 40 <= bound <= 1 - 13 / 40 and ev.stopped == 2
    ev.max_wrong = 40  # resumed from the prefix states the stopped run left: the same count as a full run
    assert ev.accuracy(candidate) == 1 - wrong / 40 and ev.stopped == 2
