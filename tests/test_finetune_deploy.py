"""Retrained weights deploy bit-exactly: a convolutional model fine-tuned through its plan's approximate products,
converted with the same plan, gives a C-simulation equal to the emulator on every element, with the retrained
weights (not the old ones) in the project."""

import numpy as np
from conftest import on_grid_inputs

PLAN = {"default": "exact", "layers": {"conv1": "etm_u8_m3", "conv2": "mitchell_u8_w5", "logits": "tam_u8_k7"}}


def test_a_fine_tuned_conv_model_converts_with_its_plan_bit_exactly(tmp_path, digits):
    from approxhls.hls.convert import ConvertOptions, convert
    from approxhls.models.modelio import load_model
    from approxhls.models.training import TrainOptions, train
    from approxhls.retrain.finetune import FinetuneOptions, finetune
    from approxhls.sim.assignment import project_assignments
    from approxhls.sim.csimlib import CSimLibrary
    from approxhls.sim.emulator import Emulator
    from approxhls.sim.ir import IR

    train(TrainOptions(model="cnn", width=0.25, epochs=1, limit_train=600), tmp_path / "cnn", ds=digits)
    rec = finetune(tmp_path / "cnn", PLAN, FinetuneOptions(epochs=1, val=60, progress=False), tmp_path / "ft",
                   ds=digits)
    assert [row["factors"] for row in rec["finetune"]["layers"]] == ["low-rank r=10", "table", "low-rank r=7"]
    convert(tmp_path / "ft", tmp_path / "prj", ConvertOptions(), plan=tmp_path / "ft" / "plan.json")
    prj = tmp_path / "prj"
    ir = IR.load(prj)
    old, new = load_model(tmp_path / "cnn"), load_model(tmp_path / "ft")
    for name in PLAN["layers"]:
        codes = new.get_layer(name).kernel.numpy() * 2**7  # the snapped kernel: ap_fixed<8,1> codes
        assert np.array_equal(ir.node(name).weights["weight"], codes.reshape(ir.node(name).weights["weight"].shape))
        assert not np.array_equal(new.get_layer(name).kernel.numpy(), old.get_layer(name).kernel.numpy())
    x = np.concatenate([on_grid_inputs((8, 8, 1), 100, seed=2), digits.x_test[:100]])
    y_csim = CSimLibrary(prj).predict(x)
    y_emu = Emulator(ir, project_assignments(prj)).predict(x)
    assert np.array_equal(y_csim.reshape(y_emu.shape), y_emu)
    assert np.unique(y_emu, axis=0).shape[0] > 50
