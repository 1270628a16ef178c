"""Generates the benchmark-only models into a git-ignored cache folder (default .cache/bench/).

Nothing here is committed: the models are rebuilt from fixed seeds whenever this file changes
(a stamp with this file's hash sits next to them).

- mini_xception: the 46-layer mini-Xception emotion classifier (64x64x1, 7 classes; SeparableConv2D,
  BatchNormalization, residual Adds, MaxPooling, global average pooling, softmax), Keras default
  initializers plus randomized BatchNormalization statistics so activations stay in a sane range.
  Written as .h5, .keras and a tf2onnx .onnx.
- resnet50v2: keras.applications.ResNet50V2(weights=None, input_shape=(180, 180, 3)), the model of the
  Keras example "Visualizing what convnets learn". .h5 and tf2onnx .onnx.
- transformer: one pre-norm transformer encoder block written directly in ONNX (opset 20): LayerNormalization,
  MatMul, Softmax attention with 4 heads, Gelu MLP, residual Adds; sequence 128, width 256.
- mobilenetv2_224: keras.applications.MobileNetV2(weights=None) at 224x224x3 (alpha 1.0), .h5 and tf2onnx .onnx;
  the "under load" section's classifier.
- ocr_rec: a PP-OCR/CRNN-style text recognizer, 3x48x320 NCHW: four Conv+Relu stages and a pool down to a
  40-step sequence of 256 features, two bidirectional LSTM layers (hidden 128), a CTC-style linear head over
  6625 classes and a Softmax.
- gru_seq: a keyword-spotting-style sequence classifier: 100 frames of 40 features (batch-first), two GRU layers
  (hidden 128, linear_before_reset = 1 as PyTorch's GRU), the last layer's final state through a linear head
  to 12 classes.
The recurrent models are written directly in ONNX (opset 17) in the node layout torch.onnx.export gives
nn.LSTM/nn.GRU (time-major X behind a Transpose, weights in ONNX gate order, zero initial states as
initializers, Y's direction axis moved next to the features by Transpose + Reshape), with PyTorch's default
initialization U(-1/sqrt(hidden), 1/sqrt(hidden)) from a fixed seed; onnxruntime runs each once as a check.
"""
import contextlib
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

OPSET = 17


def stamp_of():
    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


@contextlib.contextmanager
def onnx_export_patches():
    # Same substitution as Tools/fixtures/keras_models.py: Keras 3 wraps some convolutions in an
    # XLA-jitted function (a StatefulPartitionedCall tf2onnx cannot convert); tf.nn.convolution is equivalent.
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn as tfnn
    saved = tfnn.conv

    def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
        assert data_format in (None, "channels_last"), data_format
        return tf.nn.convolution(inputs, kernel, strides, padding.upper(), dilations=dilation_rate)

    tfnn.conv = conv
    try:
        yield
    finally:
        tfnn.conv = saved


def to_onnx(model, path, x):
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx
    spec = (tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), tf.float32, name="input"),)
    with onnx_export_patches():
        tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET, output_path=path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    ref = model(x, training=False).numpy()
    err = float(np.max(np.abs(got - ref)) / (np.max(np.abs(ref)) + 1e-12))
    assert err < 1e-3, f"{path}: onnxruntime differs from Keras by {err}"
    return err


def randomize_batchnorm(model, rng):
    import keras
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            n = gamma.shape
            layer.set_weights([rng.uniform(0.7, 1.3, n).astype("float32"), rng.normal(0, 0.1, n).astype("float32"),
                               rng.normal(0, 0.1, n).astype("float32"), rng.uniform(0.5, 1.5, n).astype("float32")])


def mini_xception(num_classes=7, input_shape=(64, 64, 1)):
    """The mini_XCEPTION of Arriaga et al. (2017), 46 Keras layers including the input."""
    import keras
    from keras import layers
    x = inp = keras.Input(input_shape, name="input")
    for i in range(2):
        x = layers.Conv2D(8, 3, use_bias=False, name=f"stem_conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"stem_bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"stem_relu{i + 1}")(x)
    for b, filters in enumerate((16, 32, 64, 128), start=1):
        residual = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=f"b{b}_res_conv")(x)
        residual = layers.BatchNormalization(name=f"b{b}_res_bn")(residual)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"b{b}_sep1")(x)
        x = layers.BatchNormalization(name=f"b{b}_bn1")(x)
        x = layers.Activation("relu", name=f"b{b}_relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"b{b}_sep2")(x)
        x = layers.BatchNormalization(name=f"b{b}_bn2")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"b{b}_pool")(x)
        x = layers.Add(name=f"b{b}_add")([x, residual])
    x = layers.Conv2D(num_classes, 3, padding="same", name="logits_conv")(x)
    x = layers.GlobalAveragePooling2D(name="logits")(x)
    out = layers.Activation("softmax", name="predictions")(x)
    model = keras.Model(inp, out, name="mini_xception")
    assert len(model.layers) == 46, len(model.layers)
    return model


def transformer_onnx(path, seq=128, width=256, heads=4, ff=1024, seed=0):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def w(name, shape, scale):
        inits.append(numpy_helper.from_array(rng.normal(0, scale, shape).astype(np.float32), name))
        return name

    def const(name, values, dtype=np.int64):
        inits.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def n(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    hd = width // heads

    def gamma(name):
        inits.append(numpy_helper.from_array((1 + rng.normal(0, 0.05, (width,))).astype(np.float32), name))
        return name

    h = n("LayerNormalization", ["x", gamma("ln1_gamma"), w("ln1_beta", (width,), 0.05)], "ln1", axis=-1, epsilon=1e-5)
    qkv = n("Add", [n("MatMul", [h, w("w_qkv", (width, 3 * width), width ** -0.5)], "qkv_mm"),
                    w("b_qkv", (3 * width,), 0.02)], "qkv")
    qkv = n("Reshape", [qkv, const("shape_qkv", [1, seq, 3, heads, hd])], "qkv_split")
    qkv = n("Transpose", [qkv], "qkv_t", perm=[2, 0, 3, 1, 4])           # 3, 1, heads, seq, hd
    q, k, v = (n("Gather", [qkv, const(f"idx_{name}", c)], name, axis=0) for c, name in enumerate("qkv"))
    kt = n("Transpose", [k], "k_t", perm=[0, 1, 3, 2])
    scores = n("Mul", [n("MatMul", [q, kt], "qk"), const("scale", np.float32(hd ** -0.5), np.float32)], "scores")
    probs = n("Softmax", [scores], "attn", axis=-1)
    ctx = n("MatMul", [probs, v], "ctx")
    ctx = n("Reshape", [n("Transpose", [ctx], "ctx_t", perm=[0, 2, 1, 3]), const("shape_ctx", [1, seq, width])], "ctx_merged")
    att = n("Add", [n("MatMul", [ctx, w("w_o", (width, width), width ** -0.5)], "o_mm"), w("b_o", (width,), 0.02)], "attn_out")
    x1 = n("Add", ["x", att], "res1")
    h2 = n("LayerNormalization", [x1, gamma("ln2_gamma"), w("ln2_beta", (width,), 0.05)], "ln2", axis=-1, epsilon=1e-5)
    f = n("Add", [n("MatMul", [h2, w("w_ff1", (width, ff), width ** -0.5)], "ff1_mm"), w("b_ff1", (ff,), 0.02)], "ff1")
    f = n("Gelu", [f], "gelu")
    f = n("Add", [n("MatMul", [f, w("w_ff2", (ff, width), ff ** -0.5)], "ff2_mm"), w("b_ff2", (width,), 0.02)], "ff2")
    n("Add", [x1, f], "y")
    graph = helper.make_graph(nodes, "transformer_block",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, width])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, width])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="Tools/bench/models.py")
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": rng.normal(0, 1, (1, seq, width)).astype(np.float32)})[0]
    assert np.all(np.isfinite(y)) and y.std() > 0.1, y.std()


def _onnx_builder(seed):
    from onnx import helper, numpy_helper
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def uniform(name, shape, bound):
        return init(name, rng.uniform(-bound, bound, shape).astype(np.float32))

    def n(op, ins, outs, **attrs):
        outs = [outs] if isinstance(outs, str) else outs
        nodes.append(helper.make_node(op, ins, outs, name=outs[0] or op, **attrs))
        return outs[0] if len(outs) == 1 else outs
    return rng, inits, nodes, init, uniform, n


def _save_checked(path, nodes, inits, inputs, outputs, name):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs],
                              [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="Tools/bench/models.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {k: np.random.default_rng(1).uniform(0, 1, v).astype(np.float32) for k, v in inputs}
    y = sess.run(None, feeds)[0]
    assert np.all(np.isfinite(y)) and y.std() > 0, (path, y.std())


def _recurrent(n, uniform, init, op, x, size, hidden, bidirectional, batch, tag):
    """One nn.LSTM/nn.GRU layer as torch.onnx.export writes it: the node, then Y [T, D, N, H] as [T, N, D*H]."""
    gates = 4 if op == "LSTM" else 3
    d = 2 if bidirectional else 1
    bound = hidden ** -0.5
    ins = [x, uniform(f"{tag}_W", (d, gates * hidden, size), bound), uniform(f"{tag}_R", (d, gates * hidden, hidden), bound),
           uniform(f"{tag}_B", (d, 2 * gates * hidden), bound), "", init(f"{tag}_h0", np.zeros((d, batch, hidden), np.float32))]
    if op == "LSTM":
        ins.append(init(f"{tag}_c0", np.zeros((d, batch, hidden), np.float32)))
    attrs = {"hidden_size": hidden, "direction": "bidirectional" if bidirectional else "forward"}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    outs = [f"{tag}_Y", f"{tag}_Yh"] + ([f"{tag}_Yc"] if op == "LSTM" else [])
    y, yh = n(op, ins, outs, **attrs)[:2]
    y = n("Transpose", [y], f"{tag}_Yt", perm=[0, 2, 1, 3])
    return n("Reshape", [y, init(f"{tag}_shape", np.array([0, 0, -1], np.int64))], f"{tag}_out"), yh


def ocr_recognizer_onnx(path, seed=3):
    rng, inits, nodes, init, uniform, n = _onnx_builder(seed)
    x, c = "x", 3
    for i, (out, stride) in enumerate([(32, (2, 2)), (64, (2, 2)), (128, (2, 1)), (256, (2, 1))]):
        w = uniform(f"conv{i}_w", (out, c, 3, 3), (2 / (9 * c)) ** 0.5)
        b = uniform(f"conv{i}_b", (out,), 0.05)
        x = n("Relu", [n("Conv", [x, w, b], f"conv{i}", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=list(stride))], f"relu{i}")
        c = out
    x = n("MaxPool", [x], "pool", kernel_shape=[3, 2], strides=[3, 2])            # [1, 256, 1, 40]
    x = n("Squeeze", [x, init("squeeze_axes", np.array([2], np.int64))], "squeeze")  # [1, 256, 40]
    x = n("Transpose", [x], "to_time_major", perm=[2, 0, 1])                          # [40, 1, 256]
    x, _ = _recurrent(n, uniform, init, "LSTM", x, 256, 128, True, 1, "lstm0")
    x, _ = _recurrent(n, uniform, init, "LSTM", x, 256, 128, True, 1, "lstm1")
    logits = n("Add", [n("MatMul", [x, uniform("head_w", (256, 6625), 256 ** -0.5)], "head_mm"),
                       uniform("head_b", (6625,), 0.01)], "logits")
    n("Softmax", [logits], "probs", axis=2)
    _save_checked(path, nodes, inits, [("x", [1, 3, 48, 320])], [("probs", [40, 1, 6625])], "ocr_recognizer")


def gru_sequence_onnx(path, seed=4):
    rng, inits, nodes, init, uniform, n = _onnx_builder(seed)
    x = n("Transpose", ["x"], "to_time_major", perm=[1, 0, 2])                      # [100, 1, 40]
    x, _ = _recurrent(n, uniform, init, "GRU", x, 40, 128, False, 1, "gru0")
    _, yh = _recurrent(n, uniform, init, "GRU", x, 128, 128, False, 1, "gru1")
    last = n("Squeeze", [yh, init("squeeze_axes", np.array([0], np.int64))], "last")  # [1, 128]
    n("Add", [n("MatMul", [last, uniform("head_w", (128, 12), 128 ** -0.5)], "head_mm"), uniform("head_b", (12,), 0.01)], "logits")
    _save_checked(path, nodes, inits, [("x", [1, 100, 40])], [("logits", [1, 12])], "gru_sequence")


def main(out):
    os.makedirs(out, exist_ok=True)
    stamp_path = os.path.join(out, "models.stamp")
    stamp = stamp_of()
    if os.path.exists(stamp_path) and open(stamp_path).read().strip() == stamp:
        print(f"models: {out} up to date")
        return
    import keras
    import tensorflow as tf
    meta = {"tensorflow": tf.__version__, "keras": keras.__version__}
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    m = mini_xception()
    randomize_batchnorm(m, rng)
    x = rng.uniform(0, 1, (1, 64, 64, 1)).astype(np.float32)
    m.save(os.path.join(out, "mini_xception.h5"))
    m.save(os.path.join(out, "mini_xception.keras"))
    meta["mini_xception"] = {"layers": len(m.layers), "params": int(m.count_params()),
                             "onnx_rel_err": to_onnx(m, os.path.join(out, "mini_xception.onnx"), x)}
    print(f"models: mini_xception {len(m.layers)} layers, {m.count_params()} parameters")

    keras.utils.set_random_seed(1)
    r = keras.applications.ResNet50V2(weights=None, input_shape=(180, 180, 3))
    x = rng.uniform(-1, 1, (1, 180, 180, 3)).astype(np.float32)
    r.save(os.path.join(out, "resnet50v2.h5"))
    meta["resnet50v2"] = {"layers": len(r.layers), "params": int(r.count_params()),
                          "onnx_rel_err": to_onnx(r, os.path.join(out, "resnet50v2.onnx"), x)}
    print(f"models: resnet50v2 {len(r.layers)} layers, {r.count_params()} parameters")

    keras.utils.set_random_seed(2)
    mb = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    randomize_batchnorm(mb, rng)
    x = rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    mb.save(os.path.join(out, "mobilenetv2_224.h5"))
    meta["mobilenetv2_224"] = {"layers": len(mb.layers), "params": int(mb.count_params()),
                               "onnx_rel_err": to_onnx(mb, os.path.join(out, "mobilenetv2_224.onnx"), x)}
    print(f"models: mobilenetv2_224 {len(mb.layers)} layers, {mb.count_params()} parameters")

    ocr_recognizer_onnx(os.path.join(out, "ocr_rec.onnx"))
    gru_sequence_onnx(os.path.join(out, "gru_seq.onnx"))
    meta["ocr_rec"] = {"input": [1, 3, 48, 320], "lstm": "2 x bidirectional, hidden 128", "classes": 6625}
    meta["gru_seq"] = {"input": [1, 100, 40], "gru": "2 x forward, hidden 128", "classes": 12}
    print("models: ocr_rec, gru_seq written")

    transformer_onnx(os.path.join(out, "transformer.onnx"))
    meta["transformer"] = {"seq": 128, "width": 256, "heads": 4, "ff": 1024, "opset": 20}
    print("models: transformer block written")
    with open(os.path.join(out, "models.json"), "w") as f:
        json.dump(meta, f, indent=1)
    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".cache/bench")
