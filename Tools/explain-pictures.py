"""Helpers of Tools/explain-pictures: `inputs DIR` writes the image models' inputs (the digits sample "3"
enlarged bilinearly and coloured: 96x96 NHWC in [-1, 1] for MobileNetV2, 32x32 NCHW in [0, 1] for the
residual CNN); `grid OUT.png A.png B.png ...` lays the pictures out three to a row on white."""
import sys

import numpy as np
from PIL import Image


def inputs(folder):
    digit = Image.open("Fixtures/digits/sample_3.png").convert("L")
    for size, name, layout, lo in ((96, "nhwc96", "nhwc", -1.0), (32, "nchw32", "nchw", 0.0)):
        g = np.asarray(digit.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255
        ramp = np.linspace(0, 1, size, dtype=np.float32)[None, :].repeat(size, 0)
        rgb = np.stack([g, 0.5 * g + 0.5 * ramp, 1 - g], axis=-1)
        x = lo + (1 - lo) * rgb
        x = x[None] if layout == "nhwc" else x.transpose(2, 0, 1)[None]
        np.save(f"{folder}/{name}.npy", x.astype(np.float32))


def grid(out, paths):
    cells = [Image.open(p).convert("RGB") for p in paths]
    w = max(c.width for c in cells)
    h = max(c.height for c in cells)
    cols, gap = 3, 8
    rows = (len(cells) + cols - 1) // cols
    canvas = Image.new("RGB", (cols * (w + gap) + gap, rows * (h + gap) + gap), "white")
    for k, c in enumerate(cells):
        canvas.paste(c, (gap + (k % cols) * (w + gap), gap + (k // cols) * (h + gap)))
    canvas.save(out, optimize=True)


if __name__ == "__main__":
    if sys.argv[1] == "inputs":
        inputs(sys.argv[2])
    else:
        grid(sys.argv[2], sys.argv[3:])
