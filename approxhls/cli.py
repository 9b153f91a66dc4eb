"""The ``approxhls`` command: each subcommand is a thin shell over the library.

Subcommands register themselves in :data:`COMMANDS` with :func:`command`; errors that approxhls raises
on purpose are printed as one line (``error: ...``) with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Callable

from approxhls.errors import ApproxHLSError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before any TensorFlow import
# Known-harmless chatter of Keras 2.14 when saving QKeras models as HDF5.
warnings.filterwarnings("ignore", message=r".*saving your model as an HDF5 file.*")
warnings.filterwarnings("ignore", message=r".*keras.constraints.serialize.*")

COMMANDS: dict[str, tuple[Callable, Callable, str]] = {}


def command(name: str, help_text: str):
    """Register ``configure(parser)`` under ``name``; the decorated function runs it."""

    def wrap(configure):
        def deco(run):
            COMMANDS[name] = (configure, run, help_text)
            return run

        return deco

    return wrap


def _emit(report: dict, json_path: str | None, title: str) -> None:
    from approxhls.report import format_summary, write_json

    print(f"\n{title}")
    print(format_summary(report))
    if json_path:
        write_json(json_path, report)
        print(f"wrote {json_path}")


# ---- train ----------------------------------------------------------------------------------------

def _train_args(p):
    from approxhls.models.datasets import dataset_names

    p.add_argument("--model", default="mlp", help="zoo model: mlp, cnn, resnet8")
    p.add_argument("--dataset", default="digits", help=f"{', '.join(dataset_names())}, a .npz or an idx directory")
    p.add_argument("--scheme", default="fixed-w8a8", help="quantization scheme, e.g. fixed-w8a8, po2-w4a4")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fuse-bn", action="store_true", help="QConv2DBatchnorm: batch-norm folded into each conv")
    p.add_argument("--width", type=float, default=1.0, help="channel/unit multiplier of the zoo model")
    p.add_argument("--limit-train", type=int, default=None, help="train on the first N samples only")
    p.add_argument("--out", required=True, help="output directory (model.h5, train.json, train.png)")
    p.add_argument("--force", action="store_true", help="replace an existing training directory (once the new one is "
                                                        "complete)")


@command("train", "train a zoo model with a quantization scheme")(_train_args)
def cmd_train(a):
    from approxhls.models.training import TrainOptions, train

    opts = TrainOptions(model=a.model, dataset=a.dataset, scheme=a.scheme, epochs=a.epochs, batch_size=a.batch_size,
                        learning_rate=a.lr, seed=a.seed, fuse_bn=a.fuse_bn, width=a.width, limit_train=a.limit_train)
    rec = train(opts, a.out, overwrite=a.force)
    _emit({k: v for k, v in rec.items() if k != "history"} | {"scheme": rec["scheme"]["name"]},
          None, f"trained {a.model} -> {a.out}/model.h5")


# ---- finetune -------------------------------------------------------------------------------------

def _finetune_args(p):
    p.add_argument("model", help="a trained model (an `approxhls train` directory, or any form `convert` takes)")
    p.add_argument("--weights", default=None, help="weights (.h5) of a model given as JSON")
    p.add_argument("--plan", required=True, help="multiplier plan (JSON/YAML), e.g. a search's plans/point_NN.json")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", default=None, help="default: the dataset it was trained on")
    p.add_argument("--val", type=int, default=None, help="validation samples, from those training held out "
                   "(default: all of them)")
    p.add_argument("--out", default=None, help="output directory (model.h5, train.json, plan.json; default: "
                   "MODEL_finetuned beside the model)")
    p.add_argument("--force", action="store_true", help="replace an existing model directory (once the new one is "
                                                        "complete)")


@command("finetune", "fine-tune a trained model with a plan's approximate multipliers in its forward pass")(
    _finetune_args)
def cmd_finetune(a):
    from approxhls.retrain.finetune import FinetuneOptions, default_out, finetune

    opts = FinetuneOptions(epochs=a.epochs, learning_rate=a.lr, batch_size=a.batch_size, seed=a.seed,
                           dataset=a.dataset, val=a.val)
    out = a.out or default_out(a.model)
    rec = finetune(a.model, a.plan, opts, out, overwrite=a.force, weights=a.weights)
    v = rec["finetune"]["validation"]
    _emit({"epochs": a.epochs, "validation_samples": v["samples"], "val_accuracy_before": v["accuracy_before"],
           "val_accuracy_after": v["accuracy_after"], "seconds": rec["finetune"]["seconds"]},
          None, f"fine-tuned {a.model} -> {out} (model.h5, train.json, plan.json; convert it with --plan {out}/plan.json)")


# ---- convert --------------------------------------------------------------------------------------

def _convert_args(p):
    from approxhls.hls.convert import BACKENDS, DEFAULT_PART, IO_TYPES, STRATEGIES

    p.add_argument("model", help="a model: .h5/.keras, a SavedModel directory, model.json (+ --weights) or a "
                                 "directory written by `approxhls train`")
    p.add_argument("--weights", default=None, help="weights (.h5) of a model given as JSON (default: found beside it)")
    p.add_argument("--out", required=True, help="project directory to create")
    p.add_argument("--io-type", choices=IO_TYPES, default="io_parallel")
    p.add_argument("--strategy", choices=STRATEGIES, default="latency")
    p.add_argument("--reuse-factor", type=int, default=1)
    p.add_argument("--backend", choices=sorted(BACKENDS), default="vitis")
    p.add_argument("--part", default=DEFAULT_PART)
    p.add_argument("--clock-period", type=float, default=10.0, help="ns")
    p.add_argument("--name", default="approxhls_model", help="HLS project name (a C identifier)")
    p.add_argument("--input-precision", default=None, help="e.g. ap_ufixed<8,0> (default: the training grid)")
    p.add_argument("--default-precision", default="ap_fixed<16,6>",
                   help="hls4ml's default type, where float (unquantized) weights and layers without a type of their "
                        "own round (default: hls4ml's ap_fixed<16,6>)")
    p.add_argument("--force", action="store_true", help="replace an existing project directory")
    p.add_argument("--plan", default=None, help="multiplier plan (JSON/YAML): {default: NAME, layers: {LAYER: NAME}}")
    p.add_argument("--softmax", choices=("keep", "argmax", "strip"), default="keep",
                   help="a softmax output: keep hls4ml's (tables), argmax (one-hot, no tables), strip (logits out)")
    p.add_argument("--verify", type=int, default=100, metavar="N",
                   help="compile the C-simulation and compare N samples with Keras before claiming bit-exactness "
                        "(0: do not; the project then makes no claim)")


@command("convert", "convert a Keras/QKeras model into an hls4ml project (bit-exact precisions)")(_convert_args)
def cmd_convert(a):
    from approxhls.hls.convert import ConvertOptions, convert

    opts = ConvertOptions(io_type=a.io_type, strategy=a.strategy, reuse_factor=a.reuse_factor, backend=a.backend,
                          part=a.part, clock_period=a.clock_period, project_name=a.name,
                          input_precision=a.input_precision, softmax=a.softmax,
                          default_precision=a.default_precision)
    convert(a.model, a.out, opts, overwrite=a.force, plan=a.plan, verify=a.verify, weights=a.weights)
    from approxhls.report import format_table
    from approxhls.sim.project import load_project

    meta = load_project(a.out)
    _emit({k: v for k, v in meta.items() if not isinstance(v, (list, dict))}, None, f"converted -> {a.out}")
    print_exactness(meta)
    if meta.get("plan"):
        print("\nmultiplier plan")
        print(format_table([{"layer": k} | v for k, v in meta["plan"].items()]))
    for note in meta["deployment_notes"]:
        print(f"note: {note}")


def _print_second_opinion(op: dict) -> None:
    """hls4ml's bit-exact mode next to approxhls' types (adopted where narrower and proven)."""
    from approxhls.report import format_table

    if not op:
        return
    if op.get("layers"):
        print("\naccumulators: approxhls vs hls4ml 1.3.0 bit_exact=True")
        print(format_table(op["layers"], ["layer", "approxhls", "hls4ml_bit_exact", "adopted", "why"]))
    elif op.get("status") not in (None, "converted", "not asked"):
        print(f"\nsecond opinion: {op['status']}")


def _verification_line(v: dict) -> str:
    found = ("every output element equals Keras" if v["equal"] else
             f"{v['mismatched_samples']} samples differ from Keras (max |diff| {v['max_abs_diff']:.4g}, class "
             f"agreement {v['class_agreement']:.4f}); first layer that differs: {v.get('first_layer_differing')}")
    return f"verified on {v['samples']} samples ({v['inputs']}), {v.get('layers_checked', 0)} layers traced: {found}"


def _exactness_claim(meta: dict, inexact: list, v: dict | None) -> str:
    """What the C-simulation is, as far as the types and the verification prove it."""
    if meta["bit_exact"] is not None:
        return ("bit-exact with Keras (every layer exact by its types, and verified)" if meta["bit_exact"] else
                "NOT bit-exact with Keras" + (" (see above)" if inexact or v else ""))
    if meta["bit_exact_derived"]:
        return "exact by its types, not verified (run with --verify N)"
    return "not guaranteed bit-exact (layers above); " + ("the verified samples did not differ" if v else "not verified")


def print_exactness(meta: dict) -> None:
    """Which layers equal Keras and why the others do not, and what the verification found."""
    from approxhls.report import format_table

    inexact = [r | {"exact": {False: "no", None: "unknown"}[r["exact"]]} for r in meta["exactness"]
               if r["exact"] is not True]
    v = meta.get("verified")
    if inexact:
        print("\nlayers not guaranteed to equal Keras bit for bit:")
        print(format_table(inexact, ["layer", "op", "exact", "reason"]))
    if v:
        print("\n" + _verification_line(v))
    _print_second_opinion(meta.get("second_opinion") or {})
    print(f"C-simulation: {_exactness_claim(meta, inexact, v)}")
    if meta["bit_exact"] is False:
        print("where Keras and the C-simulation part ways, layer by layer: approxhls diff " + meta["dir"])


# ---- csim -----------------------------------------------------------------------------------------

def _csim_args(p):
    p.add_argument("project", help="a directory written by `approxhls convert`")
    p.add_argument("--dataset", default=None, help="default: the dataset the model was trained on")
    p.add_argument("--limit", type=int, default=None, help="first N test samples only")
    p.add_argument("--json", default=None, help="write the report here")
    p.add_argument("--check-reference", action="store_true",
                   help="also run the Python reference evaluator and count its differences from the C-simulation")


@command("csim", "compile (once) and run the C-simulation; compare with Keras")(_csim_args)
def cmd_csim(a):
    from approxhls.hls.csim import run_csim

    report = run_csim(a.project, a.dataset, a.limit, check_reference=a.check_reference)
    _emit(report, a.json, "C-simulation vs Keras")
    if report["not_exact_layers"]:
        print("\nnot bit-exact by construction (differences from Keras expected): " +
              "; ".join(f"{k}: {v}" for k, v in report["not_exact_layers"].items()))
        print(f"class agreement with Keras {report['class_agreement']:.4f}, max |diff| {report['max_abs_diff']:.4g}")


# ---- emulate --------------------------------------------------------------------------------------

def _emulate_args(p):
    p.add_argument("model", help="a trained model (file or `approxhls train` directory) or a converted project")
    p.add_argument("--weights", default=None, help="weights (.h5) of a model given as JSON")
    p.add_argument("--plan", default=None, help="multiplier plan (JSON/YAML); not with a project")
    p.add_argument("--dataset", default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", default=None)


@command("emulate", "bit-exact fast emulation of a planned model: accuracy, method per layer, throughput")(_emulate_args)
def cmd_emulate(a):
    from approxhls.hls.evaluate import run_emulation
    from approxhls.report import format_table

    report = run_emulation(a.model, a.plan, a.dataset, a.limit, weights=a.weights)
    print(format_table(report["layers"]))
    _emit(report, a.json, "emulation")


# ---- search ---------------------------------------------------------------------------------------

def _search_args(p):
    p.add_argument("model", help="a trained model (file or `approxhls train` directory)")
    p.add_argument("--weights", default=None, help="weights (.h5) of a model given as JSON")
    p.add_argument("--dataset", default=None, help="default: the dataset it was trained on")
    p.add_argument("--tiles", type=int, default=None, help="ALWANN's tiled accelerator with N tiles "
                   "(default: hls4ml's dataflow, a multiplier per layer)")
    p.add_argument("--tile-size", type=int, default=None, help="multipliers per tile, with --tiles (default: as "
                   "many as the largest layer mapped onto the tiles instantiates)")
    p.add_argument("--pop", type=int, default=24, help="population size (at least 2)")
    p.add_argument("--gens", type=int, default=12, help="generations (at least 1)")
    p.add_argument("--tune", action="store_true", help="weight tuning without retraining")
    p.add_argument("--uniform-tuning", action="store_true", help="with --tune: tune against uniform inputs "
                   "(original ALWANN)")
    p.add_argument("--calib", type=int, default=None, help="calibration samples, from the training split "
                   "(default: up to 1000)")
    p.add_argument("--val", type=int, default=None, help="validation samples for choosing points, held out from "
                   "training where train.json says which samples were (default: up to 2000)")
    p.add_argument("--compensate", action="store_true", help="bias compensation of each layer's expected "
                   "multiplier error (on top of --tune)")
    p.add_argument("--max-loss", type=float, default=None, help="constraint: accuracy loss, e.g. 0.005 = 0.5 pp")
    p.add_argument("--objective", choices=["energy", "luts"], default="energy",
                   help="the hardware cost traded against accuracy and points are chosen by: multiplication energy "
                        "(gate-toggle proxy, multiplications only) or the arithmetic's LUTs as the architecture builds "
                        "it (constant-weight multipliers in the dataflow), relative to the cheapest exact baseline")
    p.add_argument("--luts", action="store_true", help="with --objective energy: LUTs as built as a third objective")
    p.add_argument("--candidates", default="builtin",
                   help="multipliers to search: builtin, user (added with `multipliers add`), all, or NAME,NAME,...")
    p.add_argument("--jobs", type=int, default=1,
                   help="local worker processes (each keeps prefix states in up to 2 GiB, at most a quarter of the "
                        "available memory shared among them)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (tcp://host:8786), instead of --jobs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--retrain", type=int, default=None, metavar="EPOCHS", help="with --max-loss: fine-tune the point "
                   "chosen on validation and up to 2 cheaper ones through their multipliers for EPOCHS epochs, then "
                   "choose again on validation (retrained models in OUT/retrained/)")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--out", required=True, help="output directory (pareto.json, pareto.png, plans/); while the "
                   "search runs, its state after each generation is saved beside it in OUT.checkpoint")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--force", action="store_true", help="replace an existing --out once the new search is "
                       "complete (and drop an interrupted search's state)")
    again.add_argument("--resume", action="store_true", help="continue the interrupted search of --out, with the "
                       "same options, exactly as it would have run on")


@command("search", "ALWANN: NSGA-II over layer-wise multipliers -> Pareto front of error and energy or LUTs")(_search_args)
def cmd_search(a):
    from approxhls.search.output import summary
    from approxhls.search.run import SearchOptions, run_search

    opts = SearchOptions(dataset=a.dataset, tiles=a.tiles, tile_size=a.tile_size, pop=a.pop, gens=a.gens,
                         tune=a.tune, uniform_tuning=a.uniform_tuning, calib=a.calib, val=a.val,
                         compensate=a.compensate, max_loss=a.max_loss, objective=a.objective, with_luts=a.luts, jobs=a.jobs,
                         scheduler=a.scheduler, seed=a.seed, test_limit=a.test_limit, candidates=a.candidates,
                         weights=a.weights, retrain=a.retrain)
    try:
        r = run_search(a.model, a.out, opts, overwrite=a.force, resume=a.resume)
    except KeyboardInterrupt as e:  # SearchInterrupted says what was saved; the shell's code for Ctrl-C
        print(str(e) or "search interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    print(summary(r, a.out))


# ---- diff -------------------------------------------------------------------------------------------

def _diff_args(p):
    from approxhls.hls.convert import IO_TYPES

    p.add_argument("target", help="a model (any form `convert` takes) or a converted project")
    p.add_argument("--weights", default=None, help="weights (.h5) of a model given as JSON")
    p.add_argument("--dataset", default=None, help="samples from this dataset's test split (default: the model's "
                                                   "dataset, else random codes of the input type)")
    p.add_argument("--limit", type=int, default=100, help="samples")
    p.add_argument("--io-type", choices=IO_TYPES, default="io_parallel", help="for a model (a project keeps its own)")
    p.add_argument("--json", default=None)


@command("diff", "layer by layer: where Keras, the emulator and the C-simulation differ, and by how much")(_diff_args)
def cmd_diff(a):
    from approxhls.hls.convert import ConvertOptions
    from approxhls.hls.diff import run_diff
    from approxhls.report import format_table, write_json

    r = run_diff(a.target, a.dataset, a.limit, a.weights, ConvertOptions(io_type=a.io_type))
    rows = []
    for row in r["layers"]:
        first = row.get("first")
        rows.append({"layer": row["layer"], "op": row["op"], "type": row["type"], "keras": row["keras_layer"] or "-",
                     "exact_by_types": row["exact_by_types"], "keras!=csim": row.get("keras_vs_csim", "-"),
                     "max|diff|": row.get("max_abs_diff"), "emulator!=csim": row.get("emulator_vs_csim", "-"),
                     "first difference (sample, index, keras, c++)": "" if not first else
                     f"{first[0]}, {first[1]}, {first[2]:.6g}, {first[3]:.6g}"})
    print(format_table(rows))
    print(f"\n{r['samples']} samples ({r['inputs']}), {r['io_type']}; elements compared per layer output")
    if r["first_keras_difference"]:
        bad = next(x for x in r["layers"] if x["layer"] == r["first_keras_difference"])
        print(f"Keras and the C-simulation first differ at {bad['layer']} ({bad['op']}: {bad['input_type']} -> "
              f"{bad['type']})")
    else:
        print("Keras and the C-simulation agree at every compared layer")
    print("emulator == C-simulation at every traced layer" if r["emulator_equals_csim"]
          else "the EMULATOR DIFFERS from the C-simulation (a bug in approxhls: please report it)")
    if a.json:
        write_json(a.json, r)
        print(f"wrote {a.json}")


# ---- run (host) -------------------------------------------------------------------------------------

def _run_args(p):
    p.add_argument("target", help="an overlay directory (overlay.json + .bit + .hwh) or a converted project")
    p.add_argument("--dataset", default=None,
                   help="samples to run (default: the overlay's samples.npz, else the project's dataset)")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--backend", choices=("auto", "board", "simulated", "csim"), default="auto",
                   help="board: pynq on the board; simulated: PYNQ's driver on the simulated board (g++ runs the "
                        "wrapper); csim: the project's C-simulation; auto: board when pynq finds one")
    p.add_argument("--self-test", action="store_true",
                   help="first check the board bit for bit against the overlay's golden vectors (golden.npz)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds one batch may take, finite and above 0 (default: 20x the overlay's timing estimate "
                        "or the slowest batch measured)")
    p.add_argument("--runs", type=int, default=100, help="single samples timed for the latency percentiles")
    p.add_argument("--batches", default="1,8,64,256,1024", help="batch sizes of the throughput sweep")
    p.add_argument("--batch-size", type=int, default=None, help="batch size of the accuracy pass")
    p.add_argument("--power", action="store_true", help="measure idle and loaded power on the board's rails")
    p.add_argument("--power-seconds", type=float, default=5.0)
    p.add_argument("--rail", action="append", default=None, help="rail to read (repeatable; default: PL and 12V)")
    p.add_argument("--external-power-w", type=float, default=None, help="loaded power from an external meter (W)")
    p.add_argument("--external-idle-w", type=float, default=None, help="idle power from an external meter (W)")
    p.add_argument("--fault", action="append", default=[], help=argparse.SUPPRESS)  # simulated board only
    p.add_argument("--json", default=None, help="write the report here (and a latency plot beside it)")


@command("run", "run an overlay on the board (or the simulated board, or its C-simulation): self-test, accuracy, "
                "latency, throughput, power")(_run_args)
def cmd_run(a):
    from approxhls.host import Accelerator
    from approxhls.host.benchmark import RunOptions, parse_batches, run_benchmark, write_report

    opts = RunOptions(a.dataset, a.limit, a.batch_size, a.runs, parse_batches(a.batches), a.self_test, a.power,
                      a.power_seconds, a.rail, a.external_power_w, a.external_idle_w).validate()
    with Accelerator.open(a.target, a.backend, timeout_s=a.timeout, faults=a.fault) as acc:
        report = {"target": a.target} | run_benchmark(acc, opts, say=print)
    if a.json:
        print(write_report(report, a.json))


# ---- cost -----------------------------------------------------------------------------------------

def _cost_args(p):
    from approxhls.overlays.boards import BOARDS

    p.add_argument("target", help="a trained model (directory with model.h5, or a .h5) or a converted project")
    p.add_argument("--weights", default=None, help="weights (.h5) of a model given as JSON")
    p.add_argument("--plan", default=None, help="multiplier plan (JSON/YAML); default: the project's own")
    p.add_argument("--board", default="pynq-z2", help=f"board to fit and whose DSPs the DSP48 baseline may use: "
                                                      f"{', '.join(sorted(BOARDS))}")
    p.add_argument("--json", default=None, help="write the report here, and a stacked-bar PNG beside it")


@command("cost", "hardware cost per layer, against the exact baselines, and the whole accelerator's fit on a board")(_cost_args)
def cmd_cost(a):
    from pathlib import Path

    from approxhls.cost import estimate_cost, format_report, plot_cost
    from approxhls.report import write_json

    rep = estimate_cost(a.target, plan=a.plan, weights=a.weights, board=a.board)
    print(format_report(rep))
    if a.json:
        write_json(a.json, rep)
        png = plot_cost(rep, Path(a.json).with_suffix(".png"))
        print(f"wrote {a.json} and {png}")


# ---- overlay --------------------------------------------------------------------------------------

def _overlay_args(p):
    from approxhls.overlays.boards import BOARDS
    from approxhls.overlays.overlay import DEFAULT_BOARD

    p.add_argument("project", help="a directory written by `approxhls convert` (with or without a plan)")
    p.add_argument("--board", default=DEFAULT_BOARD,
                   help=f"one of {', '.join(sorted(BOARDS))} (default {DEFAULT_BOARD}, PYNQ 4.0's reference board; "
                        f"pynq-z2 runs PYNQ 3.x images)")
    p.add_argument("--out", required=True, help="a new directory for the scripts, the wrapper and overlay.json")
    p.add_argument("--clock-mhz", type=float, default=None, help="PL clock (default: the board's, 100 MHz)")
    p.add_argument("--batch", type=int, default=1024, help="largest batch of one DMA transfer (sizes the DMA)")
    p.add_argument("--word-bits", type=int, default=64, help="AXI-Stream word width: 8, 16, 32 or 64")
    p.add_argument("--check", type=int, default=0, metavar="N",
                   help="C-simulate the stream wrapper (g++) on N random samples and compare with the project")
    p.add_argument("--golden", type=int, default=64, metavar="N",
                   help="golden vectors for `run --self-test`: N samples through the wrapper's C-simulation (0: none)")
    p.add_argument("--build", action="store_true",
                   help="run Vitis HLS (vitis_hls, or vitis-run on 2025.x) and Vivado (must be on PATH)")
    p.add_argument("--jobs", type=int, default=None, help="Vivado implementation jobs with --build")
    p.add_argument("--force", action="store_true", help="replace an existing overlay directory")


@command("overlay", "write (and with --build, run) the Vitis HLS / Vivado scripts of a PYNQ overlay")(_overlay_args)
def cmd_overlay(a):
    from approxhls.overlays import OverlayOptions
    from approxhls.overlays.workflow import create_overlay, summary_row

    opts = OverlayOptions(a.board, a.clock_mhz, a.batch, a.word_bits)
    res = create_overlay(a.project, a.out, opts, golden=a.golden, check=a.check, build=a.build, jobs=a.jobs,
                         force=a.force, say=print)
    spec = res["spec"]
    _emit(summary_row(spec), None, f"overlay scripts -> {a.out} (build_ip.tcl, build_overlay.tcl, Makefile, overlay.json)")
    if "build" in res:
        summary = res["build"]
        _emit({k: v for k, v in summary.items() if not isinstance(v, (list, dict))}, None, "build")
        for part in ("hls", "utilization", "timing"):
            if part in summary:
                print(f"{part}: " + ", ".join(f"{k}={v}" for k, v in summary[part].items()))
        print(f"wrote {a.out}/build.json")
    else:
        print(f"build on a machine with Vitis HLS and Vivado {spec['tools']['oldest']} to {spec['tools']['newest']}: "
              f"make -C {a.out} (or rerun with --build)")


# ---- demo -----------------------------------------------------------------------------------------

def _demo_args(p):
    p.add_argument("--out", default="demo-out", help="directory for everything the demo writes")
    p.add_argument("--epochs", type=int, default=30)


@command("demo", "the main job end to end on the embedded default (digits)")(_demo_args)
def cmd_demo(a):
    from approxhls.demo import run_demo

    run_demo(a.out, epochs=a.epochs)


# ---- multipliers -----------------------------------------------------------------------------------

def _mult_args(p):
    sub = p.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="table of every design (with cached characterization)")
    ls.add_argument("--family", default=None)
    sh = sub.add_parser("show", help="metrics of one design and its error heat map (PNG)")
    sh.add_argument("name")
    sh.add_argument("--out", default=".", help="directory for NAME_error.png")
    ch = sub.add_parser("characterize", help="error metrics + Yosys LUTs + energy proxy (cached)")
    ch.add_argument("--json", default=None, help="write every entry here (and a PNG beside it)")
    ch.add_argument("--only", nargs="*", default=None, help="names of designs (default: all)")
    ch.add_argument("--force", action="store_true", help="ignore cached results")
    ch.add_argument("--jobs", type=_jobs, default=2)
    ad = sub.add_parser("add", help="add C models (any integer signature), Verilog circuits or 256x256 tables: "
                                     "a file, several, or a library directory")
    ad.add_argument("files", nargs="+", help="a .c/.h model, a .v circuit, a .npy/.csv table, or directories of them "
                                            "(X.c with X.v beside it is one design with its circuit)")
    ad.add_argument("--name", default=None, help="design name for a single file (default: the C function's name)")
    ad.add_argument("--verilog", default=None, help="the circuit of a single C model or table (checked against it)")
    sg = ad.add_mutually_exclusive_group()
    sg.add_argument("--signed", dest="signed", action="store_const", const=True, default=None,
                    help="operands are two's complement (default: inferred from the types or the name, and stated)")
    sg.add_argument("--unsigned", dest="signed", action="store_const", const=False)
    ad.add_argument("--function", default=None, help="the C function, where a file defines several")
    ad.add_argument("--a-param", default=None, help="the C parameter that takes the activation (default: A by name, "
                                                    "else the first)")
    ad.add_argument("--jobs", type=_jobs, default=2, help="parallel imports and characterizations")
    ad.add_argument("--force", action="store_true", help="replace user designs of the same name")
    ad.add_argument("--json", default=None, help="write the import report here and the front plot (PNG) beside it")
    rm = sub.add_parser("remove", help="remove a user-added design")
    rm.add_argument("name")


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 256:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of parallel jobs from 1 to 256")
    return n


def _mult_add(a):
    from pathlib import Path

    from approxhls.multipliers import library, report

    if len(a.files) == 1 and Path(a.files[0]).is_file():
        if a.json:
            raise ApproxHLSError("--json writes the report of a library import (a directory or several files); "
                                 "a single design is printed")
        d = library.add_multiplier(a.files[0], a.name, signed=a.signed, function=a.function, verilog=a.verilog,
                                   a_param=a.a_param, force=a.force)
        print(report.added(d))
        return
    if a.name or a.verilog or a.function or a.a_param:
        raise ApproxHLSError("--name, --verilog, --function and --a-param apply to a single file; a library directory "
                             "pairs X.c with X.v and names designs after their functions")
    items = library.import_library(a.files, signed=a.signed, jobs=a.jobs, force=a.force)
    print(report.imported(items, a.json))


def _mult_remove(a):
    from approxhls.multipliers.library import remove_multiplier

    print(f"removed {a.name} ({remove_multiplier(a.name)})")


def _mult_report(a):
    from approxhls.multipliers import report

    shown = {"list": lambda: report.listing(a.family), "show": lambda: report.show(a.name, a.out),
             "characterize": lambda: report.characterization(a.only, a.force, a.jobs, a.json)}
    print(shown[a.action]())


MULT_ACTIONS = {"list": _mult_report, "show": _mult_report, "characterize": _mult_report, "add": _mult_add,
                "remove": _mult_remove}


@command("multipliers", "the multiplier library: list, show, characterize, add, remove")(_mult_args)
def cmd_multipliers(a):
    MULT_ACTIONS[a.action](a)


# ---- info -----------------------------------------------------------------------------------------

@command("info", "list zoo models, datasets and quantization schemes")(lambda p: None)
def cmd_info(a):
    from approxhls.models.datasets import dataset_names
    from approxhls.models.schemes import FAMILIES
    from approxhls.models.zoo import DEFAULT_DATASET, MODELS

    print("models:   " + ", ".join(f"{m} (for {DEFAULT_DATASET[m]})" for m in MODELS))
    print("datasets: " + ", ".join(dataset_names()) + ", PATH.npz, idx directory")
    print("schemes:  FAMILY-wWaA with FAMILY one of:")
    for f in FAMILIES.values():
        exactness = ("" if f.bit_exact else " (hls4ml: steps rounded to powers of two, exact when they are)"
                     if f.learned else " (not bit-exact in hls4ml)")
        print(f"  {f.name:8s} {f.description}{exactness}")
    from approxhls.hls.keras_layers import (
        ACTIVATIONS,
        QUANTIZED_ACTIVATIONS,
        SUPPORTED_LAYERS,
    )

    print("convertible Keras/QKeras layers (any model form: .h5/.keras, SavedModel, JSON + weights):")
    print("  " + ", ".join(sorted(SUPPORTED_LAYERS)))
    print("  activations: " + ", ".join(sorted(ACTIVATIONS)) + "; QActivation quantizers: " +
          ", ".join(sorted(QUANTIZED_ACTIVATIONS)))
    print("  weights: quantized_bits (alpha 1, None, auto_po2, float), quantized_po2, binary, ternary, float")


def build_parser() -> argparse.ArgumentParser:
    from approxhls import __version__

    parser = argparse.ArgumentParser(prog="approxhls", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"approxhls {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (configure, run, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(func=run)
    return parser


def _input_paths(args) -> list[str]:
    """The existing files and directories a command was given to read (positional arguments and options such as
    --plan or --weights): a report must not replace them."""
    values = [v for k, v in vars(args).items() if k not in ("json", "out")]
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    return [x for x in flat if isinstance(x, str) and x and os.path.exists(x)]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "json", None):  # refused before the work, not after it
            from approxhls.report import check_json_path

            check_json_path(args.json, _input_paths(args))
        args.func(args)
    except ApproxHLSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # outputs are written beside their destination: nothing half-written remains
        print(f"interrupted{': ' + str(e) if str(e) else ''} (nothing half-written was left)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
