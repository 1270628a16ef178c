"""Reads a file with the reference `safetensors` library and prints, as JSON, each tensor's
dtype, shape and float64 sum of its values (NaN-free values only), plus the metadata keys.
Used by AscentIRTests to prove that `.ascent` files are valid safetensors files."""
import json
import sys

import numpy as np
from safetensors import safe_open

path = sys.argv[1]
out = {"tensors": {}, "metadata_keys": []}
with safe_open(path, framework="numpy") as f:
    out["metadata_keys"] = sorted((f.metadata() or {}).keys())
    for key in f.keys():
        t = f.get_tensor(key)
        values = t.astype(np.float64) if t.dtype != np.bool_ else t.astype(np.float64)
        finite = values[np.isfinite(values)]
        out["tensors"][key] = {"dtype": str(t.dtype), "shape": list(t.shape), "sum": float(finite.sum())}
print(json.dumps(out, sort_keys=True))
