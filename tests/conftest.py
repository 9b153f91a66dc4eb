import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# C-simulations build at -O1 in tests: ap_fixed's integer results do not depend on the level (test_csimlib proves
# it on every element), and the builds take a fraction of hls4ml's -O3
os.environ.setdefault("APPROXHLS_CSIM_OPT", "-O1")

import numpy as np
import pytest


def randomize_weights(model, seed=0, low=-1.0, high=1.0):
    """Uniform weights over the quantizers' whole range (drives accumulators and ReLUs into saturation);
    batch-norm statistics stay positive so the folded layers stay finite."""
    from approxhls.models.corpus import randomize

    return randomize(model, seed, low, high)
    return model


def on_grid_inputs(shape, n, seed=0, bits=8):
    """Random inputs on ap_ufixed<bits,0>, plus the all-max and all-zero corner samples."""
    rng = np.random.default_rng(seed)
    x = np.floor(rng.uniform(0, 1, (n,) + tuple(shape)) * 2**bits) / 2**bits
    x[0] = (2**bits - 1) / 2**bits
    x[1] = 0.0
    return x.astype(np.float32)


def tiny_dense_ir(n_in=6, n_out=4, seed=0):
    """input ap_ufixed<8,0> (n_in) -> Dense (8-bit weights) -> n_out outputs: an IR built without hls4ml."""
    from approxhls.sim.ir import IR, Node

    rng = np.random.default_rng(seed)
    t = {"result": "ap_ufixed<8,0>"}
    inp = Node("x_in", "input", [], ["x_in"], [n_in], t)
    dense = Node("fc", "dense", ["x_in"], ["fc"], [n_out],
                 {"weight": "ap_fixed<8,1>", "bias": "ap_fixed<8,1>", "accum": "ap_fixed<24,12>",
                  "result": "ap_fixed<24,12>"}, {"n_in": n_in, "n_out": n_out},
                 {"weight": rng.integers(-128, 128, (n_in, n_out)), "bias": rng.integers(-128, 128, n_out)})
    return IR([inp, dense], "ap_ufixed<8,0>", "fc")


@pytest.fixture(scope="session")
def digits():
    from approxhls.models.datasets import load_dataset

    return load_dataset("digits")


@pytest.fixture(scope="session")
def _shared_build_cache(tmp_path_factory):
    """Compiled helpers and tables are keyed by digests of what they are made from: all tests share them."""
    return tmp_path_factory.getbasetemp().parent / "approxhls-build-cache"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch, _shared_build_cache):
    """User-added multipliers and catalogs go to a per-test directory, never to ~/.approxhls; the build cache is
    shared by every test of the session (and its xdist workers)."""
    monkeypatch.setenv("APPROXHLS_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("APPROXHLS_CACHE", str(_shared_build_cache))


def mlp_project(dest, seed=4, plan=None):
    """A small converted project (mlp 64-32-10 on 8x8 inputs, w8a8, seeded uniform weights in [-0.5, 0.5))."""
    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.models.zoo import build_model

    m = build_model("mlp", (8, 8, 1), 10, "fixed-w8a8", width=0.5)
    randomize_weights(m, seed=seed, low=-0.5, high=0.5)
    convert_model(m, dest, ConvertOptions(), plan=plan)
    return dest


def needs(*tools):
    """Tools `make test` installs (tools/sysdeps.sh): a missing one is a broken setup, so the test fails and says
    how to install it instead of skipping silently."""
    import functools
    import shutil

    import pytest

    packages = {"tclsh": "tcl"}

    def deco(fn):
        missing = [t for t in tools if shutil.which(t) is None]
        if not missing:
            return fn

        @functools.wraps(fn)
        def failing(*args, **kwargs):
            pkgs = " ".join(packages.get(t, t) for t in missing)
            pytest.fail(f"{', '.join(missing)} not installed: `make test` installs it as root (tools/sysdeps.sh); "
                        f"otherwise: sudo apt-get install {pkgs}")

        return failing

    return deco
