"""Checks ONNX files with the reference tools: `onnx.checker.check_model(full_check=True)`, then
(given inputs) onnxruntime on `.npy` inputs, compared with reference `.npy` outputs or with
onnxruntime running another ONNX file (the model an export came from) on the same inputs.

    check_onnx.py MODEL [--input [NAME=]FILE ...] [--output [NAME=]FILE ...] [--tolerance 1e-4]
                        [--reference ORIGINAL.onnx] [--also [NAME=]FILE ...] [--also-tolerance T]
    check_onnx.py --batch CASES.json

Inputs and outputs are matched to the model's by NAME, else in order. Every output must have the
reference's dtype and shape. A floating output passes when max |onnxruntime - reference| <=
tolerance * max(1, max |finite reference|), where a NaN matches only a NaN and an infinity only the
same infinity (any other NaN or infinity fails); other outputs must be equal. With `--reference`,
the reference outputs are onnxruntime's on ORIGINAL (matched by output name, else in order); when
onnxruntime has no kernel for one of ORIGINAL's old-opset nodes, on ORIGINAL upgraded to opset 13
by `onnx.version_converter`; when neither runs and ORIGINAL is one node in a form onnxruntime lost
(Add-6 with `broadcast`/`axis`, Cast-5 with a type name), NumPy computes that node as the ONNX
operator spec defines it; else the check fails. `--also` gives more outputs (another runtime's,
e.g. Ascent's) to compare with the same reference, within `--also-tolerance` (default: the
tolerance). Prints one JSON line:
{"ok", "checker", "opset", "ir_version", "producer", "inputs", "outputs" (name, shape, dtype,
reference_dtype, max_abs_diff, limit, ok), "also" (the same for the --also files), "reference"
("files", "onnxruntime", "onnxruntime after onnx.version_converter", or "numpy: <op>-<opset> per
the ONNX spec"), "ops"
(count per op type), "transpose_chains" (Transpose nodes reading another Transpose's output),
"node_names", "error"}; exits 0 when everything passes, 1 otherwise, 2 on bad usage. `--batch` takes
a JSON list of {"model", "inputs": [...], "outputs": [...], "reference"?, "also"?, "tolerance"?,
"also_tolerance"?, "optimizations"?} ("optimizations": "off" runs both files with onnxruntime's
graph optimizations off)
(same argument forms) and prints {"ok", "results": [one object as above per case, plus "model"]}.
Used by the ONNX export tests (Tests/AscentONNXTests/ONNXExportTests.swift,
Tests/IntegrationTests/ONNXExportRoundTripTests.swift).
"""
import argparse
import collections
import json
import sys

import numpy as np
import onnx


class Usage(Exception):
    pass


def pairs(items, names, what):
    """[NAME=]FILE arguments matched to `names`: by name when given, else in order."""
    out = {}
    for i, item in enumerate(items):
        name, sep, path = item.partition("=")
        if not sep or name not in names:
            if i >= len(names):
                raise Usage(f"{len(items)} {what} files for {len(names)} {what}s")
            name, path = names[i], item
        out[name] = path
    return out


def compare(ours, reference, tolerance):
    if isinstance(ours, list) or isinstance(reference, list):  # sequence values: tensor by tensor
        if not (isinstance(ours, list) and isinstance(reference, list)) or len(ours) != len(reference):
            return {"sequence": True, "ok": False, "length": len(ours) if isinstance(ours, list) else None}
        entries = [compare(a, b, tolerance) for a, b in zip(ours, reference)]
        return {"sequence": True, "length": len(ours), "ok": all(e["ok"] for e in entries),
                "max_abs_diff": max([e.get("max_abs_diff", 0.0) for e in entries], default=0.0)}
    entry = {"shape": list(ours.shape), "dtype": str(ours.dtype), "reference_dtype": str(reference.dtype)}
    if ours.dtype != reference.dtype:
        entry.update(ok=False)
    elif ours.shape != reference.shape:
        entry.update(ok=False, reference_shape=list(reference.shape))
    elif np.issubdtype(reference.dtype, np.floating):
        a, b = ours.astype(np.float64), reference.astype(np.float64)
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        finite = np.isfinite(a) & np.isfinite(b)
        diff = np.where(same, 0.0, np.where(finite, np.abs(a - b), np.inf))
        worst = float(np.max(diff)) if diff.size else 0.0
        finite = np.abs(b[np.isfinite(b)])
        limit = tolerance * max(1.0, float(np.max(finite)) if finite.size else 1.0)
        entry.update(max_abs_diff=worst, limit=limit, ok=bool(worst <= limit))
    else:
        entry.update(ok=bool(np.array_equal(ours, reference)))
    return entry


def session(model, optimize=True):
    """An onnxruntime CPU session for a path or a ModelProto; `optimize` False turns its graph
    optimizations off (ORT_DISABLE_ALL: the file's ops as written, e.g. QDQ pairs not fused)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    source = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def run_reference(original, feeds, optimize=True):
    """onnxruntime's outputs of ORIGINAL by output name, and how they were made; (None, why) when
    neither ORIGINAL nor its opset-13 upgrade runs."""
    try:
        s = session(original, optimize)
        how = "onnxruntime"
    except Exception as first:
        try:
            from onnx import version_converter

            s = session(version_converter.convert_version(onnx.load(original), 13))
            how = "onnxruntime after onnx.version_converter"
        except Exception as second:
            return None, f"{type(first).__name__}: {first}; upgrading: {type(second).__name__}: {second}"
    names = [o.name for o in s.get_outputs()]
    wanted = {i.name for i in s.get_inputs()}
    values = s.run(names, {k: v for k, v in feeds.items() if k in wanted})
    return dict(zip(names, values)), how


def legacy_reference(original, feeds):
    """ORIGINAL's output computed by NumPy as the ONNX operator spec defines the old form of its
    one node, for forms onnxruntime and onnx.version_converter no longer handle; (None, why) else."""
    model = onnx.load(original)
    opset = {(o.domain or "ai.onnx"): o.version for o in model.opset_import}.get("ai.onnx", 0)
    if len(model.graph.node) != 1:
        return None, "not a one-node graph"
    node = model.graph.node[0]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Add" and opset < 7:
        # Add-1/6: with broadcast=1, B's shape matches a contiguous run of A's axes starting at
        # `axis` (default: the trailing axes).
        a, b = feeds[node.input[0]], feeds[node.input[1]]
        if attributes.get("broadcast", 0):
            axis = attributes.get("axis", a.ndim - b.ndim)
            b = b.reshape((1,) * axis + b.shape + (1,) * (a.ndim - axis - b.ndim))
        out = a + b
    elif node.op_type == "Cast" and opset < 6:
        # Cast-1/5: `to` names the type ("FLOAT") instead of numbering it.
        to = attributes["to"]
        to = to.decode() if isinstance(to, bytes) else to
        code = onnx.TensorProto.DataType.Value(to) if isinstance(to, str) else to
        out = feeds[node.input[0]].astype(onnx.helper.tensor_dtype_to_np_dtype(code))
    else:
        return None, f"no NumPy form of {node.op_type}-{opset}"
    return {node.output[0]: out}, f"numpy: {node.op_type}-{opset} per the ONNX spec"


def check(path, inputs, outputs, tolerance, reference=None, also=(), also_tolerance=None, optimize=True):
    result = {"ok": False, "checker": None}
    try:
        model = onnx.load(path)
        result["opset"] = {(o.domain or "ai.onnx"): o.version for o in model.opset_import}.get("ai.onnx")
        result["ir_version"] = model.ir_version
        result["producer"] = model.producer_name
        result["ops"] = dict(collections.Counter(n.op_type for n in model.graph.node))
        result["node_names"] = [n.name for n in model.graph.node]
        made_by = {o: n for n in model.graph.node for o in n.output}
        result["transpose_chains"] = sum(
            1 for n in model.graph.node
            if n.op_type == "Transpose" and n.input and n.input[0] in made_by
            and made_by[n.input[0]].op_type == "Transpose")
        result["inputs"] = [i.name for i in model.graph.input]
        onnx.checker.check_model(model, full_check=True)
        result["checker"] = "passed"
    except Exception as e:  # the loader's and the checker's errors alike
        result["checker"] = "failed"
        result["error"] = f"{type(e).__name__}: {e}"
        return result

    ok = True
    if inputs or outputs or reference:
        try:
            s = session(path, optimize)
            input_names = [i.name for i in s.get_inputs()]
            output_names = [o.name for o in s.get_outputs()]
            feeds = {name: np.load(p) for name, p in pairs(inputs, input_names, "input").items()}
            values = dict(zip(output_names, s.run(output_names, feeds)))
            extra = {name: np.load(p) for name, p in pairs(list(also), output_names, "also").items()}
            if reference:
                ref, how = run_reference(reference, feeds, optimize)
                if ref is None:
                    ref, legacy = legacy_reference(reference, feeds)
                    if ref is None:
                        result["error"] = f"no reference for {reference}: {how}; {legacy}"
                        return result
                    how = legacy
                result["reference"] = how
                ordered = list(ref.values())
                references = {name: ref[name] if name in ref else ordered[i] for i, name in enumerate(output_names)}
            else:
                result["reference"] = "files"
                references = {name: np.load(p) for name, p in pairs(outputs, output_names, "output").items()}
        except Usage:
            raise
        except Exception as e:
            result["error"] = f"onnxruntime: {type(e).__name__}: {e}"
            return result
        result["outputs"] = []
        for name, value in references.items():
            entry = {"name": name, **compare(values[name], value, tolerance)}
            ok = ok and entry["ok"]
            result["outputs"].append(entry)
        if extra:
            result["also"] = []
            for name, value in extra.items():
                entry = {"name": name, **compare(value, references[name], also_tolerance or tolerance)}
                ok = ok and entry["ok"]
                result["also"].append(entry)
        if reference:
            ok = ok and bool(references)
    result["ok"] = ok
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--output", action="append", default=[])
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--reference")
    parser.add_argument("--also", action="append", default=[])
    parser.add_argument("--also-tolerance", type=float)
    parser.add_argument("--batch")
    args = parser.parse_args()
    if (args.model is None) == (args.batch is None):
        parser.error("give a MODEL or --batch CASES.json")
    try:
        if args.batch:
            with open(args.batch) as f:
                cases = json.load(f)
            results = []
            for case in cases:
                r = check(case["model"], case.get("inputs", []), case.get("outputs", []),
                          case.get("tolerance", args.tolerance), case.get("reference"), case.get("also", []),
                          case.get("also_tolerance", args.also_tolerance), case.get("optimizations", "on") != "off")
                results.append({"model": case["model"], **r})
            result = {"ok": all(r["ok"] for r in results), "results": results}
        else:
            result = check(args.model, args.input, args.output, args.tolerance, args.reference, args.also,
                           args.also_tolerance)
    except Usage as e:
        print(f"check_onnx: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
