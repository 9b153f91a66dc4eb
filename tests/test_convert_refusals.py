import numpy as np
import pytest
from tensorflow import keras

from approxhls.errors import (
    InvalidNameError,
    ModelError,
    ProjectError,
    UnsupportedLayerError,
)
from approxhls.hls.convert import ConvertOptions, check_layers, convert, convert_model
from approxhls.models.modelio import load_model
from approxhls.models.zoo import build_model


def test_unsupported_layer_is_named():
    inp = keras.layers.Input((8, 4), name="x_in")
    out = keras.layers.LSTM(3, name="my_lstm")(inp)
    with pytest.raises(UnsupportedLayerError) as e:
        check_layers(keras.Model(inp, out))
    assert "my_lstm" in str(e.value) and "LSTM" in str(e.value)


def test_unsupported_activation_is_named():
    inp = keras.layers.Input((4,), name="x_in")
    out = keras.layers.Activation("elu", name="act_elu")(inp)
    with pytest.raises(UnsupportedLayerError, match="act_elu.*'elu'.*use relu"):
        check_layers(keras.Model(inp, out))


def test_reserved_input_name():
    inp = keras.layers.Input((4,), name="input")
    out = keras.layers.Dense(2, name="d")(inp)
    with pytest.raises(ModelError, match="reserves"):
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


@pytest.mark.parametrize("out", ["with space/prj", "a;b", "x/../y", "q'uote"])
def test_bad_project_paths(tmp_path, saved_model, out, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidNameError):
        convert(saved_model, out)


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "model.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(ModelError) as e:
        load_model(bad)
    assert str(bad) in str(e.value)
    with pytest.raises(ModelError, match="no Keras model"):
        load_model(tmp_path / "absent.h5")


def test_existing_project_needs_force_and_failure_leaves_nothing(tmp_path, saved_model, monkeypatch):
    out = tmp_path / "prj"
    out.mkdir()
    with pytest.raises(ProjectError, match="--force"):
        convert(saved_model, out)
    # a conversion that fails half-way leaves no directory behind
    import approxhls.hls.convert as conv

    def boom(*a, **k):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(conv, "convert_model", boom)
    with pytest.raises(RuntimeError):
        convert(saved_model, out, overwrite=True)
    assert not out.exists()


def test_metadata_records_types(tmp_path, saved_model):
    from approxhls.sim.project import load_project

    convert(saved_model, tmp_path / "prj")
    meta = load_project(tmp_path / "prj")
    assert meta["input_precision"] == "ap_ufixed<8,0>"
    assert meta["bit_exact_derived"] is True and meta["bit_exact"] is None  # not verified: no claim
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
