"""Checks ONNX files with the reference tools: `onnx.checker.check_model(full_check=True)`, then
(given inputs) onnxruntime on `.npy` inputs, compared with reference `.npy` outputs.

    check_onnx.py MODEL [--input [NAME=]FILE ...] [--output [NAME=]FILE ...] [--tolerance 1e-4]
    check_onnx.py --batch CASES.json

Inputs and outputs are matched to the model's by NAME, else in order. A floating output passes when
max |onnxruntime - reference| <= tolerance * max(1, max |reference|) (equal values, infinities and
NaNs included, count as no difference); other outputs must be equal. Prints one JSON line:
{"ok", "checker", "opset", "ir_version", "producer", "inputs", "outputs" (name, shape, max_abs_diff,
limit, ok), "ops" (count per op type), "transpose_chains" (Transpose nodes reading another
Transpose's output), "node_names", "error"}; exits 0 when everything passes, 1 otherwise, 2 on bad
usage. `--batch` takes a JSON list of {"model", "inputs": [...], "outputs": [...], "tolerance"?}
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
    entry = {"shape": list(ours.shape)}
    if ours.shape != reference.shape:
        entry.update(ok=False, reference_shape=list(reference.shape))
    elif np.issubdtype(reference.dtype, np.floating):
        a, b = ours.astype(np.float64), reference.astype(np.float64)
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff = np.where(same, 0.0, np.abs(a - b))
        worst = float(np.max(diff)) if diff.size else 0.0
        finite = np.abs(b[np.isfinite(b)])
        limit = tolerance * max(1.0, float(np.max(finite)) if finite.size else 1.0)
        entry.update(max_abs_diff=worst, limit=limit, ok=bool(worst <= limit))
    else:
        entry.update(ok=bool(np.array_equal(ours, reference)), dtype=str(ours.dtype), reference_dtype=str(reference.dtype))
    return entry


def check(path, inputs, outputs, tolerance):
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
    if inputs or outputs:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            input_names = [i.name for i in session.get_inputs()]
            output_names = [o.name for o in session.get_outputs()]
            feeds = {name: np.load(p) for name, p in pairs(inputs, input_names, "input").items()}
            references = pairs(outputs, output_names, "output")
            values = dict(zip(output_names, session.run(output_names, feeds)))
        except Usage:
            raise
        except Exception as e:
            result["error"] = f"onnxruntime: {type(e).__name__}: {e}"
            return result
        result["outputs"] = []
        for name, p in references.items():
            entry = {"name": name, **compare(values[name], np.load(p), tolerance)}
            ok = ok and entry["ok"]
            result["outputs"].append(entry)
    result["ok"] = ok
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--output", action="append", default=[])
    parser.add_argument("--tolerance", type=float, default=1e-4)
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
                          case.get("tolerance", args.tolerance))
                results.append({"model": case["model"], **r})
            result = {"ok": all(r["ok"] for r in results), "results": results}
        else:
            result = check(args.model, args.input, args.output, args.tolerance)
    except Usage as e:
        print(f"check_onnx: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
