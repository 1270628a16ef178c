"""Checks ONNX models that `ascent convert` re-exported from the ONNX backend node tests.

    export_conformance.py CASES.json RESULTS.json

CASES.json is a list of {"name", "original", "converted", "data"}: the node test's model, Ascent's
export of it (same opset), and the test's folder of input_N.pb / output_N.pb. For each case:
1. `onnx.checker.check_model(converted, full_check=True)`;
2. onnxruntime runs the converted model on the test's inputs;
3. its outputs must equal onnxruntime's outputs on the original model (or, where onnxruntime cannot
   run the original, the test's reference outputs): same dtype and shape, floats within rtol 1e-3 and
   atol 1e-7 of the reference (the conformance suite's tolerance), NaN only where the reference has
   NaN, integers, booleans and strings exactly.
Writes RESULTS.json: {"results": [{"name", "ok", "reference", "error"}]}; exit 0.
Used by Tests/IntegrationTests/ONNXExportConformanceTests.swift.
"""
import glob
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

RTOL, ATOL = 1e-3, 1e-7


def tensors(folder, prefix, types=()):
    """The test's values: a TensorProto, or by the declared type (`types`, TypeProtos in order) a
    SequenceProto (a list of arrays) or an OptionalProto (its value, or None)."""
    files = sorted(glob.glob(os.path.join(folder, f"{prefix}_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
    out = []
    for j, path in enumerate(files):
        with open(path, "rb") as f:
            data = f.read()
        kind = types[j].WhichOneof("value") if j < len(types) else "tensor_type"
        if kind == "sequence_type":
            p = onnx.SequenceProto()
            p.ParseFromString(data)
            out.append(numpy_helper.to_list(p))
        elif kind == "optional_type":
            p = onnx.OptionalProto()
            p.ParseFromString(data)
            out.append(numpy_helper.to_optional(p))
        else:
            t = onnx.TensorProto()
            t.ParseFromString(data)
            out.append(numpy_helper.to_array(t))
    return out


def session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run(path, inputs):
    s = session(path)
    names = [i.name for i in s.get_inputs()]
    return s.run(None, dict(zip(names, inputs)))


def close(actual, expected):
    if isinstance(actual, list) or isinstance(expected, list):
        if not (isinstance(actual, list) and isinstance(expected, list)):
            return f"a sequence and a {type(actual if isinstance(expected, list) else expected).__name__}"
        if len(actual) != len(expected):
            return f"{len(actual)} tensors in the sequence, expected {len(expected)}"
        for k, (a, e) in enumerate(zip(actual, expected)):
            problem = close(a, e)
            if problem:
                return f"[{k}] {problem}"
        return None
    if actual is None or expected is None:
        return None if actual is None and expected is None else "an empty optional and a value"
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.dtype != expected.dtype:
        return f"dtype {actual.dtype} != {expected.dtype}"
    if actual.shape != expected.shape:
        return f"shape {actual.shape} != {expected.shape}"
    if actual.dtype.kind in "fc":
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        nan = np.isnan(e)
        if not np.array_equal(np.isnan(a), nan):
            return "NaN in different places"
        a, e = a[~nan], e[~nan]
        inf = np.isinf(e)
        if not np.array_equal(a[inf], e[inf]) or np.isinf(a[~inf]).any():
            return "infinities differ"
        a, e = a[~inf], e[~inf]
        if a.size and not np.all(np.abs(a - e) <= ATOL + RTOL * np.abs(e)):
            worst = int(np.argmax(np.abs(a - e) - RTOL * np.abs(e)))
            return f"values differ: {a[worst]!r} vs {e[worst]!r}"
        return None
    if not np.array_equal(actual, expected):
        return "values differ"
    return None


def check(case):
    result = {"name": case["name"], "ok": False, "reference": None, "error": None}
    try:
        onnx.checker.check_model(onnx.load(case["converted"]), full_check=True)
    except Exception as e:
        result["error"] = f"checker: {type(e).__name__}: {e}".splitlines()[0][:300]
        return result
    graph = onnx.load(case["original"]).graph
    inputs = tensors(case["data"], "input", [i.type for i in graph.input])
    try:
        expected = run(case["original"], inputs)
        result["reference"] = "onnxruntime"
    except Exception:
        expected = tensors(case["data"], "output", [o.type for o in graph.output])
        result["reference"] = "test outputs"
    try:
        actual = run(case["converted"], inputs)
    except Exception as e:
        result["error"] = f"onnxruntime: {type(e).__name__}: {e}".splitlines()[0][:300]
        return result
    if len(actual) != len(expected):
        result["error"] = f"{len(actual)} outputs, expected {len(expected)}"
        return result
    for j, (a, e) in enumerate(zip(actual, expected)):
        problem = close(a, e)
        if problem:
            result["error"] = f"output {j}: {problem}"
            return result
    result["ok"] = True
    return result


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = [check(c) for c in cases]
    with open(sys.argv[2], "w") as f:
        json.dump({"results": results}, f)


if __name__ == "__main__":
    main()
