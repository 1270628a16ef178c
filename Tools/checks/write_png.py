"""Writes a test picture with Pillow: `write_png.py OUT WIDTH HEIGHT MODE` (MODE L, RGB or RGBA),
a smooth diagonal gradient, so resizing has something to average. Used by the CLI tests for
pictures of the wrong size or colour model."""
import sys

from PIL import Image

out, width, height, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
image = Image.new(mode, (width, height))
bands = len(mode)
image.putdata([tuple(((x + y) * 255 // max(1, width + height - 2) + 40 * b) % 256 for b in range(bands))
               if bands > 1 else (x + y) * 255 // max(1, width + height - 2)
               for y in range(height) for x in range(width)])
image.save(out)
