"""Writes the hand-made regression inputs of the fuzz targets that no fuzzing run has given one
yet: each is a real file of its format (Python's own zipfile, h5py and NumPy read it back) carrying
one thing the README's Security section says Ascent refuses.

    regression_inputs.py FIXTURES_DIR      (e.g. Fixtures; h5py 3.14 and NumPy from
                                            Tools/fixtures/requirements.txt)

Writes, under FIXTURES_DIR/fuzz/:
  keras-zip/refused-zip64.keras       Fixtures/keras/mlp/model.keras with ZIP64 end records
  keras-zip/refused-encrypted.keras   the same entries, config.json encrypted (PKWARE ZipCrypto, password "ascent")
  keras-zip/refused-bzip2.keras       the same entries, config.json compressed with bzip2 (method 12)
  keras-zip/refused-nested-33.keras   a Sequential holding a Sequential ..., 33 models below the top, a ReLU innermost
  keras-h5/refused-lzf-filter.h5      Fixtures/keras/mlp/model.h5 with every weight zeroed and LZF-compressed
                                      (h5py's filter 32000: libhdf5 would need a plugin)
  keras-h5/refused-nested-33.h5       the 33-deep Sequential as a legacy .h5 (no weights)
  keras-h5/refused-8gib-weight.h5     Fixtures/keras/mlp/model.h5 with a kernel declared 2^31 float32 values
  npy/refused-2-to-40.npy             a header declaring 2^40 float32 elements over 16 bytes
  npy/refused-object.npy              an object array (pickled data)
  npy/refused-fortran.npy             a Fortran-order array
Tests/IntegrationTests/FuzzRegressionTests.swift replays them all; HostileInputTests checks each
refusal's message.
"""
import bz2
import io
import json
import os
import struct
import sys
import zipfile
import zlib

import h5py
import numpy as np

# MARK: - Zip archives, written field by field


def crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


CRC = crc_table()


def zipcrypto(data, password, crc):
    """Traditional PKWARE encryption (APPNOTE 6.1): a 12-byte header, then the data."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(byte):
        keys[0] = (keys[0] >> 8) ^ CRC[(keys[0] ^ byte) & 0xFF]
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = (keys[2] >> 8) ^ CRC[(keys[2] ^ (keys[1] >> 24)) & 0xFF]

    for byte in password:
        update(byte)
    out = bytearray()
    header = bytes(range(1, 12)) + bytes([crc >> 24])  # fixed filler: the file is reproducible
    for byte in header + data:
        temp = keys[2] | 2
        out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(byte)
    return bytes(out)


def archive(entries, zip64=False):
    """entries: (name, data, method, encrypted). Method 0 stored, 8 deflate, 12 bzip2."""
    body, directory = bytearray(), bytearray()
    for name, data, method, encrypted in entries:
        crc = zlib.crc32(data)
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            stored = c.compress(data) + c.flush()
        elif method == 12:
            stored = bz2.compress(data)
        else:
            stored = data
        if encrypted:
            stored = zipcrypto(stored, b"ascent", crc)
        flags = 1 if encrypted else 0
        version = 46 if method == 12 else 20
        fields = struct.pack("<HHHHHIII", version, flags, method, 0, 0x21, crc, len(stored), len(data))
        encoded = name.encode()
        directory += struct.pack("<IH", 0x02014B50, version) + fields + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, len(body)) + encoded
        body += struct.pack("<I", 0x04034B50) + fields + struct.pack("<HH", len(encoded), 0) + encoded + stored
    count, size, offset = len(entries), len(directory), len(body)
    out = body + directory
    if zip64:
        record = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, size, offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, offset, 0)
    return bytes(out)


def check_zip(data, names):
    """Python's zipfile reads every entry back (the password opens the encrypted one)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert [i.filename for i in z.infolist()] == names, z.infolist()
        for name in names:
            z.read(name, pwd=b"ascent")


# MARK: - Keras configs


def nested_sequential(nesting):
    """A Sequential holding a Sequential ...: `nesting` models below the top one, a ReLU in the innermost."""
    inner = {"class_name": "ReLU", "config": {"name": "relu", "dtype": "float32"}}
    for level in reversed(range(nesting + 1)):
        inner = {"class_name": "Sequential", "config": {"name": f"s{level}", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "dtype": "float32", "name": f"s{level}_in"}},
            inner]}}
    return inner


def empty_weights():
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("layers")
    return buffer.getvalue()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fixtures = sys.argv[1]
    out = os.path.join(fixtures, "fuzz")

    # keras-zip
    folder = os.path.join(out, "keras-zip")
    os.makedirs(folder, exist_ok=True)
    with zipfile.ZipFile(os.path.join(fixtures, "keras", "mlp", "model.keras")) as z:
        parts = [(name, z.read(name)) for name in z.namelist()]
    names = [name for name, _ in parts]
    variants = {
        "refused-zip64.keras": archive([(n, d, 8, False) for n, d in parts], zip64=True),
        "refused-encrypted.keras": archive([(n, d, 8, n == "config.json") for n, d in parts]),
        "refused-bzip2.keras": archive([(n, d, 12 if n == "config.json" else 8, False) for n, d in parts]),
    }
    nested = [("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-12-05@00:00:00"}).encode(), 8, False),
              ("config.json", json.dumps(nested_sequential(33)).encode(), 8, False),
              ("model.weights.h5", empty_weights(), 0, False)]
    variants["refused-nested-33.keras"] = archive(nested)
    for file, data in variants.items():
        check_zip(data, names if file != "refused-nested-33.keras" else [n for n, *_ in nested])
        with open(os.path.join(folder, file), "wb") as f:
            f.write(data)

    # keras-h5
    folder = os.path.join(out, "keras-h5")
    os.makedirs(folder, exist_ok=True)
    lzf = os.path.join(folder, "refused-lzf-filter.h5")
    with h5py.File(os.path.join(fixtures, "keras", "mlp", "model.h5"), "r") as source, h5py.File(lzf, "w") as target:
        for key, value in source.attrs.items():
            target.attrs[key] = value

        def copy(name, item):
            if isinstance(item, h5py.Group):
                group = target.require_group(name)
                for key, value in item.attrs.items():
                    group.attrs[key] = value
            else:
                # Zeros: LZF compresses them, so the chunks are stored filtered (h5py's LZF filter is
                # optional: a chunk it cannot shrink would be stored raw and need no filter).
                data = target.create_dataset(name, data=np.zeros_like(item[()]), compression="lzf", track_times=False)
                for key, value in item.attrs.items():
                    data.attrs[key] = value
        source.visititems(copy)
    with h5py.File(lzf, "r") as f:  # h5py has the LZF filter built in, so it reads back
        assert not f["model_weights/fc1/fc1/kernel"][()].any()
    # The mlp model with fc1's kernel declared as 2^31 float32 values (8 GiB; no chunk written,
    # so the file stays small): over the 4 GiB cap of one read.
    big = os.path.join(folder, "refused-8gib-weight.h5")
    with h5py.File(os.path.join(fixtures, "keras", "mlp", "model.h5"), "r") as source, h5py.File(big, "w") as target:
        for key, value in source.attrs.items():
            target.attrs[key] = value
        source.copy(source["model_weights"], target, "model_weights")
        kernel = "model_weights/fc1/fc1/kernel"
        del target[kernel]
        target.create_dataset(kernel, shape=(1 << 31,), dtype="<f4", chunks=(1 << 16,), track_times=False)
    with h5py.File(os.path.join(folder, "refused-nested-33.h5"), "w") as f:
        f.attrs["model_config"] = json.dumps(nested_sequential(33))
        f.attrs["keras_version"] = "3.15.1"
        f.attrs["backend"] = "tensorflow"
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([], dtype="S1")

    # npy
    folder = os.path.join(out, "npy")
    os.makedirs(folder, exist_ok=True)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }" % (1 << 40)
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    with open(os.path.join(folder, "refused-2-to-40.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(16))
    np.save(os.path.join(folder, "refused-object.npy"), np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(os.path.join(folder, "refused-fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))


if __name__ == "__main__":
    main()
