"""Attribution speed: `ascent explain` against Captum on the same architectures (run by Tools/bench/explain).

Integrated Gradients (50 Gauss-Legendre steps, zero baseline) and SmoothGrad (NoiseTunnel(Saliency), 50 samples)
on the bench's mini-Xception (64x64x1, Keras .h5 from Tools/bench/models.py's builder) and the MobileNetV2
fixture (alpha 0.35, 96x96x3, Fixtures/keras/mobilenetv2/model.keras). Captum runs on each model rebuilt layer
for layer in PyTorch (same shapes and operations, its own seeded weights), all steps or samples in one batch
as Captum does by default, CPU, torch's default threads. Ascent runs the Keras file with its default threads
and batch; its time is what `explain` reports for the attribution (sessions, planning and every model call,
the import excluded, as the PyTorch model's construction is); the whole command's wall time is listed too.

Run twice by Tools/bench/explain: with the default OpenMP environment and with OMP_WAIT_POLICY=PASSIVE for
both processes (libgomp's spinning workers cost Ascent most of its time on a loaded machine:
shared/notes/machine.md, "Threads under load"). Each measurement alternates Ascent and Captum runs (rounds), medians reported; same run, so the ratio
is of like with like under the same load. Writes Tools/bench/explain.md (markdown) and prints it.

Usage: .venv-captum/bin/python Tools/bench/explain.py ASCENT MINI_XCEPTION_H5 [--rounds N] [--out FILE]
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
from torch import nn

import captum
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency


def make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3)


class MiniXception(nn.Module):
    """Tools/bench/models.py's mini_xception, in PyTorch (NCHW)."""

    def __init__(self, classes=7):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, bias=False), bn(8), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, bias=False), bn(8), nn.ReLU())
        blocks, cin = [], 8
        for f in (16, 32, 64, 128):
            blocks.append(nn.ModuleDict({
                "res": nn.Sequential(nn.Conv2d(cin, f, 1, 2, bias=False), bn(f)),
                "body": nn.Sequential(
                    nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, f, 1, bias=False), bn(f), nn.ReLU(),
                    nn.Conv2d(f, f, 3, padding=1, groups=f, bias=False), nn.Conv2d(f, f, 1, bias=False), bn(f),
                    nn.MaxPool2d(3, 2, padding=1)),
            }))
            cin = f
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(128, classes, 3, padding=1)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b["body"](x) + b["res"](x)
        return self.head(x).mean(dim=(2, 3))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        layers = []
        if expansion != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), bn(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), bn(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), bn(cout)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), classes=10), in PyTorch."""

    def __init__(self, alpha=0.35, classes=10):
        super().__init__()
        first = make_divisible(32 * alpha)
        layers = [nn.Conv2d(3, first, 3, 2, 1, bias=False), bn(first), nn.ReLU6()]
        cin = first
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
            cout = make_divisible(c * alpha)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), bn(1280), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(1280, classes)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
    return model.eval()


def captum_seconds(model, x, method):
    start = time.perf_counter()
    if method == "integrated-gradients":
        IntegratedGradients(model).attribute(x, target=0, n_steps=50, method="gausslegendre")
    else:
        NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad", nt_samples=50, stdevs=0.15 * float(x.max() - x.min()),
                                               target=0, abs=False)
    return time.perf_counter() - start


def ascent_seconds(ascent, model, x_path, method):
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        out = subprocess.run([ascent, "explain", model, "--input", x_path, "--target", "logit:0", "--method", method,
                              "--save", os.path.join(d, "a.npy")], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
    m = re.search(r"time: ([0-9.]+) ms to explain", out.stdout)
    return float(m.group(1)) / 1000, wall


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ascent")
    p.add_argument("mini_xception")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default="Tools/bench/explain.md")
    p.add_argument("--append", action="store_true", help="add this run's table to --out instead of replacing it")
    a = p.parse_args()
    rng = np.random.default_rng(0)
    cases = [
        ("mini-Xception 64×64×1", a.mini_xception, randomize(MiniXception(), 0), rng.uniform(0, 1, (1, 64, 64, 1))),
        ("MobileNetV2 0.35 96×96", "Fixtures/keras/mobilenetv2/model.keras", randomize(MobileNetV2(), 1),
         np.load("Fixtures/keras/mobilenetv2/inputs_0.npy")),
    ]
    torch.manual_seed(0)
    rows = []
    load_before = loadavg()
    for name, keras_path, module, x in cases:
        x = x.astype(np.float32)
        with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as f:
            np.save(f, x)
            x_path = f.name
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        for method in ("integrated-gradients", "smoothgrad"):
            captum_seconds(module, xt, method)        # warm-up
            ascent_seconds(a.ascent, keras_path, x_path, method)
            ours, walls, theirs = [], [], []
            for _ in range(a.rounds):
                t, w = ascent_seconds(a.ascent, keras_path, x_path, method)
                ours.append(t)
                walls.append(w)
                theirs.append(captum_seconds(module, xt, method))
            rows.append((name, method, statistics.median(ours), statistics.median(walls), statistics.median(theirs),
                         min(ours), max(ours), min(theirs), max(theirs)))
            print(rows[-1], flush=True)
        os.unlink(x_path)
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in os.environ) or "default"
    lines = [] if a.append else ["# Attribution speed: `ascent explain` vs Captum (CPU)", ""]
    lines += [
        f"## OpenMP environment: {env} (both sides)",
        "",
        f"Written by `Tools/bench/explain` ({a.rounds} alternating rounds, medians; min–max in brackets). "
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average before "
        f"{load_before}, after {loadavg()}. torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"Captum {captum.__version__}.",
        "",
        "Integrated Gradients: 50 Gauss–Legendre steps, zero baseline (Ascent also evaluates F(x) and F(x′) for the "
        "completeness check: 52 gradients). SmoothGrad: 50 samples, σ = 0.15·(max − min) (Ascent: 51 gradients, "
        "F(x) included). Target class 0. Ascent: the Keras file; Captum: the architecture rebuilt in PyTorch.",
        "",
        "| model | method | Ascent explain | Ascent whole command | Captum | ratio (explain / Captum) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, method, ours, wall, theirs, olo, ohi, tlo, thi in rows:
        lines.append(f"| {name} | {method} | {ours * 1000:.0f} ms [{olo * 1000:.0f}–{ohi * 1000:.0f}] | {wall * 1000:.0f} ms | "
                     f"{theirs * 1000:.0f} ms [{tlo * 1000:.0f}–{thi * 1000:.0f}] | {ours / theirs:.2f}× |")
    text = "\n".join(lines) + "\n"
    with open(a.out, "a" if a.append else "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
