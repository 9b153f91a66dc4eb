import numpy as np
import pytest
from tensorflow import keras

from approxhls.errors import (
    InvalidNameError,
    ModelError,
    UnsupportedLayerError,
)
from approxhls.fixedpoint import FixedType
from approxhls.hls.convert import ConvertOptions, check_layers, convert, convert_model
from approxhls.models.modelio import load_model
from approxhls.models.zoo import build_model


def test_unsupported_layer_is_named():
    inp = keras.layers.Input((8, 4), name="x_in")
    out = keras.layers.GRU(3, name="my_gru")(inp)
    with pytest.raises(UnsupportedLayerError) as e:
        check_layers(keras.Model(inp, out))
    assert "my_gru" in str(e.value) and "GRU" in str(e.value)


def test_unsupported_activation_is_named():
    inp = keras.layers.Input((4,), name="x_in")
    out = keras.layers.Activation("swish", name="act_swish")(inp)
    with pytest.raises(UnsupportedLayerError, match="act_swish.*'swish'.*use relu"):
        check_layers(keras.Model(inp, out))


def test_fused_strided_pointwise_conv_in_stream_is_refused():
    from qkeras import QConv2DBatchnorm, quantized_bits

    inp = keras.layers.Input((8, 8, 2), name="x_in")
    out = QConv2DBatchnorm(4, 1, strides=2, kernel_quantizer=quantized_bits(8, 0, alpha=1), name="sc")(inp)
    m = keras.Model(inp, out)
    with pytest.raises(UnsupportedLayerError, match="io_stream"):
        check_layers(m, "io_stream")
    check_layers(m, "io_parallel")  # fine there


@pytest.mark.parametrize(
    "opts",
    [
        ConvertOptions(project_name="my project"),
        ConvertOptions(project_name='a"b'),
        ConvertOptions(project_name="x;rm"),
    ],
)
def test_bad_project_names(tmp_path, opts):
    m = build_model("mlp", (8, 8, 1), 10)
    with pytest.raises(InvalidNameError):
        convert_model(m, tmp_path / "p", opts)
    with pytest.raises(InvalidNameError):
        opts.validate()


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    build_model("mlp", (8, 8, 1), 10).save(d / "model.h5")
    return d


@pytest.mark.parametrize("out", [".", "..", "sub/.."])
def test_the_working_directory_and_its_parents_are_never_an_output(tmp_path, saved_model, out, monkeypatch):
    from approxhls.fsutil import OutputError

    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    with pytest.raises(OutputError, match="working directory"):
        convert(saved_model, out, overwrite=True)
    assert (work / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("field, value, needle", [
    ("io_type", "io_serial", "io_type must be one of io_parallel, io_stream, got 'io_serial'"),
    ("strategy", "fast", "strategy must be one of latency, resource"),
    ("backend", "quartus", "backend must be one of vitis, vivado"),
    ("softmax", "drop", "softmax must be one of keep, argmax, strip"),
    ("reuse_factor", 0, "reuse factor must be an integer from 1 to"), ("reuse_factor", True, "reuse factor"),
    ("reuse_factor", 2.0, "reuse factor"), ("reuse_factor", (1 << 20) + 1, "reuse factor"),
    ("clock_period", 0, "clock period must be a number of ns above 0 and at most 1000, got 0"),
    ("clock_period", float("nan"), "clock period"), ("clock_period", 1000.5, "clock period"),
    ("clock_period", "5", "clock period"),
    ("part", "", "FPGA part '' has characters"), ("part", "xc7z020;clg400", "FPGA part"),
])
def test_convert_options_refuse_each_bad_value_by_name(field, value, needle):
    import re

    with pytest.raises(ModelError, match=re.escape(needle)):
        ConvertOptions(**{field: value}).validate()


def test_convert_options_accept_the_edges():
    opts = ConvertOptions(reuse_factor=1 << 20, clock_period=1000, part="xc7z020clg400-1", io_type="io_stream",
                          strategy="resource", backend="vivado", softmax="strip")
    assert opts.validate() is opts
    assert ConvertOptions(reuse_factor=1, clock_period=0.001).validate().hls_backend == "Vitis"


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "model.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(ModelError) as e:
        load_model(bad)
    assert str(bad) in str(e.value)
    with pytest.raises(ModelError, match="no Keras model"):
        load_model(tmp_path / "absent.h5")


def test_existing_outputs_need_force_and_a_failure_loses_nothing(tmp_path, saved_model, monkeypatch):
    from approxhls.fsutil import OutputError

    out = tmp_path / "prj"
    out.mkdir()
    with pytest.raises(OutputError, match="--force"):
        convert(saved_model, out)
    (out / "notes.txt").write_text("mine")  # not a project: never replaced, even with --force
    with pytest.raises(OutputError, match="not an approxhls project"):
        convert(saved_model, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    # an old project survives a conversion that fails half-way (or is interrupted), and no temporary is left
    (out / "notes.txt").unlink()
    convert(saved_model, out, overwrite=True)  # an empty directory may be filled
    (out / "notes.txt").write_text("mine")
    import approxhls.hls.convert as conv

    real = conv.convert_model

    def interrupted(model, tmp, *a, **k):
        real(model, tmp, *a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(conv, "convert_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert(saved_model, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "approxhls.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prj"]
    # a plan file inside the project it replaces is read before anything changes
    monkeypatch.setattr(conv, "convert_model", real)
    (out / "my_plan.json").write_text('{"default": "tam_u8_k7"}')
    convert(saved_model, out, overwrite=True, plan=out / "my_plan.json")
    assert not (out / "notes.txt").exists() and (out / "plan.json").is_file()


def test_metadata_records_types(tmp_path, saved_model):
    from approxhls.sim.project import load_project

    convert(saved_model, tmp_path / "prj")
    meta = load_project(tmp_path / "prj")
    assert meta["input_precision"] == "ap_ufixed<8,0>"
    assert meta["bit_exact_derived"] is True and meta["bit_exact"] is None  # not verified: no claim
    assert [(p["direction"], p["ctype"], p["precision"]) for p in meta["ports"]] == \
        [("in", "input_t", "ap_ufixed<8,0>"),
         ("out", "result_t", str(FixedType.parse(meta["layers"][-1]["types"]["result_t"])))]
    assert all(row["exact"] for row in meta["exactness"])
    names = [row["name"] for row in meta["layers"]]
    assert "fc1" in names and "logits" in names
    assert np.prod(meta["output_shape"]) == 10


def test_vivado_backend_resource_strategy_and_part(tmp_path, saved_model):
    from approxhls.sim.project import load_project

    convert(saved_model, tmp_path / "v", ConvertOptions(backend="vivado", strategy="resource", reuse_factor=4,
                                                          part="xczu7ev-ffvc1156-2-e"))
    meta = load_project(tmp_path / "v")
    assert (meta["backend"], meta["strategy"], meta["reuse_factor"], meta["part"]) == \
        ("vivado", "resource", 4, "xczu7ev-ffvc1156-2-e")
    assert "xczu7ev" in (tmp_path / "v" / "project.tcl").read_text()
