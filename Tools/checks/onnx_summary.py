"""What the `onnx` package reports about ONNX files, for comparing with `ascent inspect --format json`.

    onnx_summary.py MODEL...

Loads each file with `onnx.load(..., load_external_data=False)` (external data is not needed to count
nodes, and onnx refuses some layouts Ascent accepts) and prints one JSON line, an object keyed by the
paths as given: {"nodes": [op_type per NodeProto, in file order], "names": [NodeProto names],
"histogram": {op_type: count}, "initializer_scalars": elements of all initializers, "inputs": [graph
inputs that are not initializers], "outputs": [graph outputs]} or {"error": "..."}.
Used by Tests/IntegrationTests/InspectFixtureTests.swift.
"""
import collections
import json
import math
import sys

import onnx


def summary(path):
    model = onnx.load(path, load_external_data=False)
    g = model.graph
    weights = {t.name for t in g.initializer}
    return {
        "nodes": [n.op_type for n in g.node],
        "names": [n.name for n in g.node],
        "histogram": dict(collections.Counter(n.op_type for n in g.node)),
        "initializer_scalars": sum(math.prod(t.dims) for t in g.initializer),
        "inputs": [i.name for i in g.input if i.name not in weights],
        "outputs": [o.name for o in g.output],
    }


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = {}
    for path in sys.argv[1:]:
        try:
            out[path] = summary(path)
        except Exception as e:  # a file onnx cannot read is reported, not fatal
            out[path] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
