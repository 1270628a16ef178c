"""Reads an animated PNG with Pillow and prints JSON: the frame count of the animation (the
default image left out when it is not part of it), whether the default image stands apart, the
play count, each animation frame's duration in ms and its pixels (row-major, interleaved), and
the default image's pixels. Used to check Ascent's APNG writer against an independent reader."""
import json
import sys

from PIL import Image

image = Image.open(sys.argv[1])
apart = bool(image.info.get("default_image", False))
frames, durations = [], []
first = 1 if apart else 0
for k in range(first, getattr(image, "n_frames", 1)):
    image.seek(k)
    frames.append(list(image.tobytes()))
    durations.append(image.info.get("duration"))
image.seek(0)
print(json.dumps({"frames": len(frames), "default_image_apart": apart, "loop": image.info.get("loop"),
                  "durations": durations, "pixels": frames, "default": list(image.tobytes()),
                  "mode": image.mode, "size": list(image.size)}))
