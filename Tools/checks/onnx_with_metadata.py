"""Copies an ONNX model with metadata_props added by the onnx library:
`onnx_with_metadata.py IN OUT KEY VALUE [KEY VALUE ...]`. Used to test class names read from a
model's metadata (as Ultralytics writes `names`, say)."""
import sys

import onnx

model = onnx.load(sys.argv[1])
pairs = sys.argv[3:]
onnx.helper.set_model_props(model, {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)})
onnx.checker.check_model(model)
onnx.save(model, sys.argv[2])
