"""LSQ / LSQ+ learned-step schemes: they learn, they save and load, and where the learned steps are powers of
two their converted C-simulation equals the trained Keras model bit for bit."""

import numpy as np
import pytest
from conftest import on_grid_inputs, randomize_weights

from approxhls.models.lsq import deploy
from approxhls.models.zoo import build_model


def _set_steps(model, weight_exps=(-7, -4), act_step=2.0 ** -5, offset=0.0, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for w in layer.weights:
            if "log2_kernel_step" in w.name:
                w.assign(rng.integers(*weight_exps, w.shape).astype(np.float32))
            elif w.name.endswith("/log2_step:0"):
                w.assign(np.log2(act_step))
            elif "offset" in w.name:
                w.assign(offset if "relu1" in w.name else 0.0)


@pytest.mark.parametrize("scheme", ["lsq-w8a8", "lsq+-w4a4"])
def test_steps_and_offsets_learn(digits, scheme):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    m = build_model("mlp", digits.sample_shape, digits.n_classes, scheme, width=0.5)
    m.compile(tf.keras.optimizers.Adam(3e-3), tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    learned = [w for w in m.trainable_weights if "step" in w.name or "offset" in w.name]
    assert {w.name.split("/")[-1] for w in learned} == ({"log2_kernel_step:0", "log2_step:0"} | ({"offset:0"} if "+" in scheme else set()))
    before = [w.numpy().copy() for w in learned]
    m.fit(digits.x_train[:512].reshape(512, -1), digits.y_train[:512], epochs=2, batch_size=64, verbose=0)
    for w, b in zip(learned, before):
        assert not np.array_equal(w.numpy(), b), f"{w.name} did not change in training"


def test_lsq_model_saves_and_loads(tmp_path):
    from approxhls.models.modelio import load_model

    m = build_model("cnn", (8, 8, 1), 10, "lsq+-w8a8", width=0.5)
    randomize_weights(m, seed=2, low=-0.5, high=0.5)
    _set_steps(m, offset=-0.25)
    m.save(tmp_path / "m.h5")
    m2 = load_model(tmp_path / "m.h5")
    x = on_grid_inputs((8, 8, 1), 16)
    assert np.array_equal(m.predict(x, verbose=0), m2.predict(x, verbose=0))


@pytest.mark.parametrize("scheme, model, io_type, act_step, offset", [
    ("lsq-w8a8", "mlp", "io_parallel", 2.0 ** -5, 0.0),
    ("lsq+-w8a8", "mlp", "io_parallel", 2.0 ** -5, -3 * 2.0 ** -5),   # offset folded into Dense biases: exact
    ("lsqt-w4a4", "cnn", "io_stream", 2.0 ** -3, 0.0),
])
def test_power_of_two_steps_convert_bit_exactly(tmp_path, scheme, model, io_type, act_step, offset):
    from approxhls.hls.convert import ConvertOptions, convert_model
    from approxhls.sim.csimlib import CSimLibrary

    m = build_model(model, (8, 8, 1), 10, scheme, width=0.5)
    randomize_weights(m, seed=1, low=-0.5, high=0.5)
    _set_steps(m, act_step=act_step, offset=offset)
    x = on_grid_inputs(m.input_shape[1:], 300)
    y_keras = m.predict(x, verbose=0)  # the trained (LSQ) model itself, not its deployed copy
    convert_model(m, tmp_path / "prj", ConvertOptions(io_type=io_type))
    y_csim = CSimLibrary(tmp_path / "prj").predict(x).reshape(y_keras.shape)
    assert np.array_equal(y_csim, y_keras), f"{int(np.sum(y_csim != y_keras))} outputs differ"
    assert len(np.unique(y_keras)) > 50  # not a degenerate all-saturated network


def test_deploy_says_where_it_is_not_exact():
    m = build_model("cnn", (8, 8, 1), 10, "lsq+-w8a8", width=0.5)
    randomize_weights(m, seed=3, low=-0.5, high=0.5)
    _set_steps(m, weight_exps=(-6, -5), offset=-0.125)
    conv1 = m.get_layer("conv1")  # a dead channel: zero weights, its step collapsed to 2^-24
    conv1.kernel.assign(conv1.kernel.numpy() * (np.arange(conv1.filters) != 0))
    conv1.log2_kernel_step.assign(np.where(np.arange(conv1.filters) == 0, -24, -6).astype(np.float32))
    deployed, notes = deploy(m)
    assert any("relu1: LSQ+ offset -0.125 folded" in n and "zero-padded border" in n for n in notes)
    assert all(type(layer).__name__.startswith(("Q", "Input", "MaxPool", "Flatten", "Average")) for layer in deployed.layers)
    assert deployed.get_layer("conv1").kernel_quantizer_internal.bits == 8  # the dead step does not widen it
