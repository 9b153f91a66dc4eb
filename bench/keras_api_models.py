"""The models of hls4ml's test_keras_api.py that have csynth baselines, built as the tests build them (TensorFlow
only: bench/estimate.py converts them with hls4ml, bench/rule4ml_predict.py hands them to rule4ml)."""

ACTIVATIONS = ["relu", "leaky_relu", "elu", "prelu", "sigmoid"]
POOLING = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"]


def _activation_layer(name):
    from tensorflow.keras.layers import ELU, Activation, LeakyReLU, PReLU

    return {"relu": lambda: Activation(activation="relu", name="relu"), "leaky_relu": lambda: LeakyReLU(alpha=1.0),
            "elu": lambda: ELU(alpha=1.0), "prelu": lambda: PReLU(alpha_initializer="zeros"),
            "sigmoid": lambda: Activation(activation="sigmoid", name="sigmoid")}[name]()


def model_cases() -> list[dict]:
    """(case name, builder, hls4ml config changes, io_type) of every test_keras_api model with a synthesis baseline."""
    cases = [{"case": f"dense_{io}", "build": "dense", "io_type": io, "file": f"dense_{io}"} for io in ("io_parallel", "io_stream")]
    cases += [{"case": f"activations_{io}-{a}", "build": "activation", "act": a, "io_type": io,
               "file": f"activations_{io}-{{tool}}-{a}"} for io in ("io_parallel", "io_stream") for a in ACTIVATIONS]
    cases.append({"case": "conv2d_io_parallel-Resource-same", "build": "conv2d", "io_type": "io_parallel",
                  "strategy": "Resource", "file": "conv2d_io_parallel-{tool}-Resource-same-channels_last"})
    cases += [{"case": f"depthwise{d}_io_stream", "build": f"depthwise{d}", "io_type": "io_stream",
               "file": f"depthwise{d}_io_stream"} for d in ("1d", "2d")]
    cases += [{"case": f"pooling-{pad}-{p}", "build": "pooling", "pool": p, "padding": pad, "io_type": "io_parallel",
               "file": f"pooling_{{tool}}-channels_last-{pad}-{p}"} for pad in ("same", "valid") for p in POOLING]
    return cases


def keras_model(case: dict, seed: int = 0):
    """(Keras model, config_from_keras_model keywords) of a case, as test_keras_api.py makes them (seeded)."""
    import tensorflow as tf
    from tensorflow.keras import layers as L

    tf.keras.utils.set_random_seed(seed)
    m = tf.keras.models.Sequential()
    kind = case["build"]
    cfg_kw = {}
    # an Input first, then the tests' layers (the same model; rule4ml under Keras 3 needs the input declared)
    if kind == "dense":
        m.add(tf.keras.Input(shape=(1,)))
        m.add(L.Dense(2, name="Dense", kernel_initializer=tf.keras.initializers.RandomUniform(1, 10)))
        m.add(L.Activation(activation="elu", name="Activation"))
    elif kind == "activation":
        m.add(tf.keras.Input(shape=(1,)))
        m.add(L.Dense(64, name="Dense", kernel_initializer="lecun_uniform"))
        m.add(_activation_layer(case["act"]))
    elif kind == "conv2d":
        m.add(tf.keras.Input(shape=(28, 28, 3)))
        m.add(L.Conv2D(32, (4, 4), strides=(4, 4), padding="same", kernel_initializer="normal", use_bias=False))
    elif kind == "depthwise2d":
        m.add(tf.keras.Input(shape=(32, 32, 3)))
        m.add(L.DepthwiseConv2D(kernel_size=(3, 3)))
        cfg_kw = {"granularity": "name", "default_precision": "fixed<32,12>"}
    elif kind == "depthwise1d":
        m.add(tf.keras.Input(shape=(32, 3)))
        m.add(L.DepthwiseConv1D(kernel_size=3))
        cfg_kw = {"granularity": "name"}
    else:  # the tests' pooling layers take Keras 2's default pool size, 2
        m.add(tf.keras.Input(shape=(18, 15, 3) if "2D" in case["pool"] else (121, 3)))
        m.add(getattr(L, case["pool"])(pool_size=2, padding=case["padding"]))
    m.compile(optimizer="adam", loss="mse")
    return m, cfg_kw
