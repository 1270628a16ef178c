"""The picture the Keras example "Visualizing what convnets learn" draws from an optimized image:
its `deprocess_image` (as in Tools/fixtures/probe_reference.py), applied to the first batch item of
an `.npy` image [1,H,W,C] or [H,W,C], written as a uint8 `.npy` [H',W',C].

    deprocess.py IMAGE.npy OUT.npy

The example always crops 25 pixels from each side (it draws 180x180 images); as Ascent's
keras-example preset does, the crop applies only to images larger than 100 pixels (4 x 25), since
a smaller one would be cropped away. Used by Tests/AscentProbeTests/KerasExampleTests.swift to
check the README's "the picture byte for byte".
"""
import sys

import numpy as np


def deprocess_image(img, crop=25):
    img -= img.mean()
    img /= img.std() + 1e-5
    img *= 0.15
    if img.shape[0] > 4 * crop and img.shape[1] > 4 * crop:
        img = img[crop:-crop, crop:-crop, :]
    img += 0.5
    img = np.clip(img, 0, 1)
    img *= 255
    img = np.clip(img, 0, 255).astype("uint8")
    return img


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    image = np.load(argv[0])
    if image.ndim == 4:
        image = image[0]
    np.save(argv[1], deprocess_image(image.copy()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
