"""Runs ONNX models in onnxruntime (CPU) on `.npy` inputs and writes every output as `.npy`, so a test can
compare Ascent's outputs with onnxruntime's, live.

    run_onnxruntime.py MODEL OUT_DIR [[NAME=]X.npy ...]
    run_onnxruntime.py --batch CASES.json

Inputs are matched to the model's by NAME, else in order; graph inputs that are also initializers may be
left out (onnxruntime uses the initializer). Outputs go to OUT_DIR/output_<j>.npy in the order of the
graph's outputs. `--batch` takes a JSON list of {"model", "inputs": ["[NAME=]FILE", ...], "output_dir"}
and runs them in one process. Prints one JSON line: {"ok", "results": [{"model", "ok", "outputs": [names],
"error"}]}. Exit 0 when every model ran, 1 when some did not, 2 on bad usage.
Used by Tests/IntegrationTests/ONNXRuntimeCrossCheckTests.swift.
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort

from check_onnx import pairs  # [NAME=]FILE arguments matched by name, else in order


def run(model, inputs, output_dir):
    result = {"model": model, "ok": False, "outputs": [], "error": None}
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        feeds = {name: np.load(path, allow_pickle=False) for name, path in pairs(inputs, names, "input").items()}
        outputs = session.run(None, feeds)
        os.makedirs(output_dir, exist_ok=True)
        for j, value in enumerate(outputs):
            np.save(os.path.join(output_dir, f"output_{j}.npy"), np.asarray(value))
        result.update(ok=True, outputs=[o.name for o in session.get_outputs()])
    except Exception as e:  # reported per model; the caller decides what is expected
        result["error"] = f"{type(e).__name__}: {e}".splitlines()[0][:400]
    return result


def main(argv):
    if len(argv) == 2 and argv[0] == "--batch":
        with open(argv[1]) as f:
            cases = json.load(f)
        results = [run(c["model"], c.get("inputs", []), c["output_dir"]) for c in cases]
    elif len(argv) >= 2 and not argv[0].startswith("-"):
        results = [run(argv[0], argv[2:], argv[1])]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    ok = all(r["ok"] for r in results)
    print(json.dumps({"ok": ok, "results": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    ort.set_default_logger_severity(3)
    sys.exit(main(sys.argv[1:]))
