"""Pillow as the reference for Ascent's picture code. Prints JSON {"size", "mode", "pixels"}.

  pil_image.py resize IN WIDTH HEIGHT box|bilinear   IN scaled with Image.BOX or Image.BILINEAR
  pil_image.py convert IN MODE                       IN converted to L, RGB or RGBA
  pil_image.py apng OUT                              writes an APNG with Pillow (frames that change
                                                     in part, so it stores sub-rectangles with
                                                     dispose and blend operations) and prints its
                                                     frames as Pillow composites them (alpha 0 or
                                                     255 only: for other values Pillow's reader
                                                     blends alpha like a colour, not as the APNG
                                                     "over" operation says)
"""
import json
import sys

from PIL import Image


def dump(images):
    print(json.dumps([{"size": list(im.size), "mode": im.mode, "pixels": list(im.tobytes())} for im in images]))


command = sys.argv[1]
if command == "resize":
    filters = {"box": Image.BOX, "bilinear": Image.BILINEAR}
    dump([Image.open(sys.argv[2]).resize((int(sys.argv[3]), int(sys.argv[4])), filters[sys.argv[5]])])
elif command == "convert":
    dump([Image.open(sys.argv[2]).convert(sys.argv[3])])
elif command == "apng":
    frames = []
    for k in range(5):
        im = Image.new("RGBA", (12, 9), (20, 40, 60, 255))
        for y in range(2, 6):
            for x in range(k, k + 4):
                im.putpixel((x, y), (200, 30 * k, 90, 255 if k % 2 == 0 else 0 if x % 2 else 255))
        frames.append(im)
    frames[0].save(sys.argv[2], save_all=True, append_images=frames[1:], duration=[100, 200, 100, 50, 300], loop=0,
                   disposal=[0, 1, 2, 0, 1], blend=[0, 1, 0, 1, 0])
    shown = Image.open(sys.argv[2])
    out = []
    for k in range(shown.n_frames):
        shown.seek(k)
        out.append(shown.convert("RGBA"))
    dump(out)
