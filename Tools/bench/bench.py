"""Side-by-side benchmarks of the Ascent CLI against onnxruntime and TensorFlow/Keras, written to BENCHMARKS.md.

Run through Tools/bench/run (which builds `ascent` in release mode and generates the models). Every comparison
alternates the two sides within one run (round r runs Ascent first when r is even, the peer first when r is
odd), so machine noise hits both; each side's number is the median over rounds of its per-round median.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_ms(x):
    if x != x:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def cell(stats):
    """median (min–max) in ms."""
    if not stats or stats.get("error"):
        return "failed" if not stats else f"failed: {stats['error']}"
    return f"{fmt_ms(stats['median'])} ({fmt_ms(stats['min'])}–{fmt_ms(stats['max'])})"


def ratio(a, b):
    if not a or not b or a.get("error") or b.get("error"):
        return "–"
    return f"{a['median'] / b['median']:.2f}×"


def summarize(round_medians, mins, maxs, **extra):
    return {"median": median(round_medians), "min": min(mins), "max": max(maxs),
            "rounds": len(round_medians), **extra}


def rel(path):
    return os.path.relpath(path, ROOT)


class Ascent:
    def __init__(self, exe):
        self.exe = exe

    def run(self, args, timeout=900, env=None):
        t0 = time.perf_counter()
        p = subprocess.run([self.exe] + args, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, **env) if env else None)
        wall = (time.perf_counter() - t0) * 1e3
        if p.returncode != 0:
            err = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1][:160]
            raise RuntimeError(err)
        return p.stdout, wall

    def bench(self, model, runs, threads, warmup=3, env=None):
        """`ascent bench --json`; threads None leaves the thread count to Ascent's default."""
        out, _ = self.run(["bench", model, "--runs", str(runs), "--warmup", str(warmup), "--json"]
                          + ([] if threads is None else ["--threads", str(threads)]), env=env)
        return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------- forward


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_feeds(sess, rng):
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        if "float" in i.type:
            feeds[i.name] = rng.uniform(0, 1, shape).astype(np.float32)
        else:
            feeds[i.name] = rng.integers(0, 10, shape).astype(np.int64)
    return feeds


def ort_times(sess, feeds, runs, warmup=3):
    for _ in range(warmup):
        sess.run(None, feeds)
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        ts.append((time.perf_counter() - t0) * 1e3)
    return ts


def forward_section(ascent, models, threads_list, rounds, budget_ms):
    rng = np.random.default_rng(0)
    rows = []
    for label, ascent_path, onnx_path in models:
        for threads in threads_list:
            row = {"model": label, "ascent_file": rel(ascent_path), "onnx_file": rel(onnx_path), "threads": threads}
            try:
                sess = ort_session(onnx_path, threads)
                feeds = ort_feeds(sess, rng)
                # Calibrate: runs per round so that one side's round takes about budget_ms.
                # Minimum of 10 probe runs: one slow burst must not leave the row with 5 runs per round.
                probe = ascent.bench(ascent_path, 10, threads, warmup=2)
                t = max(min(ort_times(sess, feeds, 10, warmup=2)), probe["min_ms"], 1e-3)
                runs = int(min(2000, max(5, budget_ms / t)))
            except Exception as e:  # noqa: BLE001
                row["error"] = str(e)
                log(f"forward {label} t{threads}: {e}")
                rows.append(row)
                continue
            a_med, a_min, a_max, o_med, o_min, o_max, imports, rss = [], [], [], [], [], [], [], []
            p_med, p_min, p_max = [], [], []
            error = None
            # With several threads, a third side: Ascent with OMP_WAIT_POLICY=passive (oneDNN's OpenMP
            # workers sleep instead of spinning between regions), a diagnostic for oversubscription.
            # (Earlier runs had a third side with OMP_WAIT_POLICY=passive; Ascent now starts libgomp passive.)
            sides = ["ascent", "ort"]
            for r in range(rounds):
                for side in (sides if r % 2 == 0 else sides[::-1]):
                    if side in ("ascent", "passive"):
                        try:
                            j = ascent.bench(ascent_path, runs, threads,
                                             env={"OMP_WAIT_POLICY": "passive"} if side == "passive" else None)
                        except Exception as e:  # noqa: BLE001
                            error = str(e)
                            continue
                        if side == "passive":
                            p_med.append(j["median_ms"]); p_min.append(j["min_ms"]); p_max.append(j["max_ms"])
                            continue
                        a_med.append(j["median_ms"]); a_min.append(j["min_ms"]); a_max.append(j["max_ms"])
                        imports.append(j["import_ms"]); rss.append(j["peak_rss_mb"])
                    else:
                        ts = ort_times(sess, feeds, runs)
                        o_med.append(median(ts)); o_min.append(min(ts)); o_max.append(max(ts))
            if p_med:
                row["ascent_passive"] = summarize(p_med, p_min, p_max)
            row["runs_per_round"] = runs
            row["ascent"] = summarize(a_med, a_min, a_max, import_ms=median(imports), peak_rss_mb=max(rss)) \
                if a_med else {"error": error}
            row["ort"] = summarize(o_med, o_min, o_max)
            log(f"forward {label} t{threads}: ascent {cell(row['ascent'])} ms, ort {cell(row['ort'])} ms, "
                f"ratio {ratio(row['ascent'], row['ort'])} ({runs} runs × {rounds} rounds)"
                + (f"; ascent passive {cell(row['ascent_passive'])}" if "ascent_passive" in row else ""))
            rows.append(row)
            del sess
    return rows


# ---------------------------------------------------------------------------------------------- TF setup

_tf = None


def tf_module():
    global _tf
    if _tf is None:
        t0 = time.perf_counter()
        import tensorflow as tf
        import keras  # noqa: F401
        tf.config.threading.set_intra_op_parallelism_threads(os.cpu_count())
        tf.config.threading.set_inter_op_parallelism_threads(1)
        _tf = tf
        tf_module.import_ms = (time.perf_counter() - t0) * 1e3
    return _tf


tf_module.import_ms = float("nan")


# ---------------------------------------------------------------------------------------------- gradient ascent


def tf_ascent_loop(model, loss_fn, shape, lr=10.0):
    tf = tf_module()

    @tf.function
    def loop(img, steps):
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(img)
                loss = loss_fn(model(img, training=False))
            grads = tape.gradient(loss, img)
            img = img + lr * tf.math.l2_normalize(grads)
        return img, loss

    def run(steps, seed):
        tf.random.set_seed(seed)
        img = (tf.random.uniform(shape) - 0.5) * 0.25      # the Keras example's initialization
        t0 = time.perf_counter()
        out, loss = loop(img, tf.constant(steps))
        float(loss.numpy())
        return (time.perf_counter() - t0) * 1e3
    return run


def ascent_maximize(ascent, model, target, steps, seed, threads, env=None):
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "trace.json")
        # The preset is explicit: keras-example is no longer the default for image inputs.
        _, wall = ascent.run(["maximize", model, "--preset", "keras-example", "--target", target,
                              "--steps", str(steps), "--seed", str(seed), "--log", trace]
                             + ([] if threads is None else ["--threads", str(threads)]), env=env)
        with open(trace) as f:
            j = json.load(f)
    ms = [s["milliseconds"] for s in j["steps"]]
    return wall, sum(ms), median(ms)


def ascent_section(ascent, cases, step_counts, rounds, threads):
    tf = tf_module()
    import keras
    rows = []
    for case in cases:
        label, keras_path, ascent_paths, target, make = case["label"], case["keras"], case["ascent"], case["target"], case["make"]
        t0 = time.perf_counter()
        model = keras.saving.load_model(keras_path, compile=False)
        sub, loss_fn, shape = make(model, tf)
        step_fn = tf_ascent_loop(sub, loss_fn, shape)
        trace_ms = step_fn(2, 0)        # traces the tf.function once (the step count is a tensor)
        setup_ms = (time.perf_counter() - t0) * 1e3
        log(f"ascent {label}: TF load + trace {setup_ms:.0f} ms")
        for steps in step_counts:
            for apath in ascent_paths:
                row = {"model": label, "target": target, "steps": steps, "ascent_file": rel(apath),
                       "keras_file": rel(keras_path), "tf_first_call_ms": trace_ms, "threads": threads}
                a_wall, a_total, a_step, t_total, p_total = [], [], [], [], []
                error = None
                sides = ["ascent", "tf"]
                for r in range(rounds):
                    for side in (sides if r % 2 == 0 else sides[::-1]):
                        if side in ("ascent", "passive"):
                            try:
                                w, tot, st = ascent_maximize(ascent, apath, target, steps, r, threads,
                                                             env={"OMP_WAIT_POLICY": "passive"} if side == "passive" else None)
                            except Exception as e:  # noqa: BLE001
                                error = str(e)
                                continue
                            if side == "passive":
                                p_total.append(tot)
                            else:
                                a_wall.append(w); a_total.append(tot); a_step.append(st)
                        else:
                            t_total.append(step_fn(steps, r))
                if a_total:
                    row["ascent_loop"] = summarize(a_total, a_total, a_total)
                    row["ascent_step"] = summarize(a_step, a_step, a_step)
                    row["ascent_wall"] = summarize(a_wall, a_wall, a_wall)
                else:
                    row["ascent_loop"] = row["ascent_step"] = row["ascent_wall"] = {"error": error}
                if p_total:
                    row["ascent_passive_loop"] = summarize(p_total, p_total, p_total)
                row["tf_loop"] = summarize(t_total, t_total, t_total)
                per = [t / steps for t in t_total]
                row["tf_step"] = summarize(per, per, per)
                log(f"ascent {label} ({rel(apath)}) {steps} steps: ascent {cell(row['ascent_loop'])} ms "
                    f"(wall {cell(row['ascent_wall'])}), tf {cell(row['tf_loop'])} ms, "
                    f"ratio {ratio(row['ascent_loop'], row['tf_loop'])}")
                rows.append(row)
        del model, sub
        keras.backend.clear_session()
    return rows


def mini_xception_case(model, tf):
    import keras
    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    return logits, (lambda y: tf.reduce_mean(y[:, 0])), (1, 64, 64, 1)


def resnet_case(model, tf):
    import keras
    feat = keras.Model(model.inputs, model.get_layer("conv3_block4_out").output)
    return feat, (lambda a: tf.reduce_mean(a[:, 2:-2, 2:-2, 0])), (1, 180, 180, 3)


# ---------------------------------------------------------------------------------------------- import


def import_section(ascent, cases, rounds):
    tf_module()
    import keras
    import onnx
    import onnxruntime as ort
    rows = []
    starts = []
    for _ in range(5):
        starts.append(ascent.run(["--version"])[1])
    for label, path in cases:
        ext = os.path.splitext(path)[1]
        keras_file = ext != ".onnx"
        row = {"model": label, "file": rel(path), "size_mb": os.path.getsize(path) / 2 ** 20}
        a, a_imp, a_inproc, p, p_load = [], [], [], [], []
        error = None
        for r in range(rounds):
            for side in (("ascent", "peer") if r % 2 == 0 else ("peer", "ascent")):
                if side == "ascent":
                    try:
                        _, wall = ascent.run(["inspect", path, "--format", "json"])
                        a.append(wall)
                        a_imp.append(ascent.bench(path, 1, 1, warmup=0)["import_ms"])
                        if keras_file:
                            os.environ["ASCENT_IMPORT_IN_PROCESS"] = "1"
                            try:
                                a_inproc.append(ascent.bench(path, 1, 1, warmup=0)["import_ms"])
                            finally:
                                del os.environ["ASCENT_IMPORT_IN_PROCESS"]
                    except Exception as e:  # noqa: BLE001
                        error = str(e)
                elif not keras_file:
                    t0 = time.perf_counter()
                    m = onnx.load(path)
                    t1 = time.perf_counter()
                    so = ort.SessionOptions()
                    so.intra_op_num_threads = 1
                    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
                    t2 = time.perf_counter()
                    del s, m
                    p.append((t2 - t0) * 1e3)
                    p_load.append((t1 - t0) * 1e3)
                else:
                    t0 = time.perf_counter()
                    m = keras.saving.load_model(path, compile=False)
                    p.append((time.perf_counter() - t0) * 1e3)
                    del m
                    keras.backend.clear_session()
        row["peer"] = "onnx.load + InferenceSession" if not keras_file else "keras load_model"
        row["ascent"] = summarize(a, a, a) if a else {"error": error}
        row["ascent_import"] = summarize(a_imp, a_imp, a_imp) if a_imp else {"error": error}
        if a_inproc:
            row["ascent_import_in_process"] = summarize(a_inproc, a_inproc, a_inproc)
        row["peer_stats"] = summarize(p, p, p)
        if p_load:
            row["onnx_load"] = summarize(p_load, p_load, p_load)
        log(f"import {label} {rel(path)}: ascent inspect {cell(row['ascent'])} ms, import_ms {cell(row['ascent_import'])}, "
            f"{row['peer']} {cell(row['peer_stats'])} ms")
        rows.append(row)
    return rows, summarize(starts, starts, starts)


# ---------------------------------------------------------------------------------------------- memory and scaling


def model_sizes(ascent, path):
    """Weight bytes (float32 scalars × 4) and the largest single activation in bytes (symbolic sizes as 1),
    from `ascent inspect --format json`."""
    out, _ = ascent.run(["inspect", path, "--format", "json"])
    d = json.loads(out)
    largest = 0
    for node in d["nodes"]:
        for shape in node.get("shapes") or []:
            if shape is None:
                continue
            n = 1
            for dim in shape:
                n *= dim if isinstance(dim, int) else 1
            largest = max(largest, n * 4)
    return d["parameters"] * 4, largest


def memory_rows(ascent, forward_rows):
    """The memory target for each forward model: peak RSS ≤ weights + 2 × largest activation + 64 MB."""
    rows, seen = [], set()
    for r in forward_rows:
        if r.get("error") or r["ascent"].get("error") or r["ascent_file"] in seen:
            continue
        seen.add(r["ascent_file"])
        try:
            weights, act = model_sizes(ascent, os.path.join(ROOT, r["ascent_file"]))
        except Exception as e:  # noqa: BLE001
            log(f"memory {r['ascent_file']}: {e}")
            continue
        bound = (weights + 2 * act) / 2 ** 20 + 64
        rss = max(x["ascent"]["peak_rss_mb"] for x in forward_rows
                  if x["ascent_file"] == r["ascent_file"] and not x["ascent"].get("error"))
        rows.append({"model": r["model"], "file": r["ascent_file"], "weights_mb": weights / 2 ** 20,
                     "activation_mb": act / 2 ** 20, "bound_mb": bound, "peak_rss_mb": rss})
    return rows


def synthetic_models(cache, sizes_mb):
    """Chains of 1024×1024 float32 MatMul + Relu layers (4 MiB each) totalling about each size, as ONNX
    and as Keras .h5 (Dense layers), generated once into the cache from a fixed seed."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    out = []
    width = 1024
    for mb in sizes_mb:
        layers = max(1, round(mb * 2 ** 20 / (width * width * 4)))
        onnx_path = os.path.join(cache, f"synthetic_{mb}mb.onnx")
        h5_path = os.path.join(cache, f"synthetic_{mb}mb.h5")
        if not os.path.exists(onnx_path) or not os.path.exists(h5_path):
            rng = np.random.default_rng(mb)
            weights = [(rng.standard_normal((width, width), dtype=np.float32) / 32).astype(np.float32) for _ in range(layers)]
            nodes, inits, x = [], [], "input"
            for i, w in enumerate(weights):
                inits.append(numpy_helper.from_array(w, f"w{i}"))
                nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]))
                nodes.append(helper.make_node("Relu", [f"m{i}"], [f"r{i}"]))
                x = f"r{i}"
            graph = helper.make_graph(nodes, f"synthetic_{mb}mb",
                                      [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, width])],
                                      [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, width])], inits)
            onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), onnx_path)
            import keras
            inp = keras.Input((width,), name="input")
            y = inp
            for i in range(layers):
                y = keras.layers.Dense(width, activation="relu", use_bias=False, name=f"d{i}")(y)
            model = keras.Model(inp, y)
            for i, w in enumerate(weights):
                model.get_layer(f"d{i}").set_weights([w])
            model.save(h5_path)
            del model, weights
            keras.backend.clear_session()
        out.append((mb, onnx_path, h5_path))
    return out


def scaling_section(ascent, cache, sizes_mb, rounds):
    rows = []
    for mb, onnx_path, h5_path in synthetic_models(cache, sizes_mb):
        for path, env in ((onnx_path, None), (h5_path, {"ASCENT_IMPORT_IN_PROCESS": "1"}), (h5_path, None)):
            imports, rss = [], []
            try:
                for _ in range(rounds):
                    j = ascent.bench(path, 1, 1, warmup=0, env=env)
                    imports.append(j["import_ms"]); rss.append(j["peak_rss_mb"])
            except Exception as e:  # noqa: BLE001
                log(f"scaling {rel(path)}: {e}")
                continue
            file_mb = os.path.getsize(path) / 2 ** 20
            how = "in-process" if env else ("child process" if path.endswith(".h5") else "in-process")
            rows.append({"size": mb, "file": rel(path), "file_mb": file_mb, "how": how,
                         "import_ms": median(imports), "peak_rss_mb": max(rss)})
            log(f"scaling {rel(path)} ({how}): import {median(imports):.1f} ms, peak RSS {max(rss):.0f} MB")
    return rows


# ---------------------------------------------------------------------------------------------- under load


def busy_loops(cpus):
    """One shell busy loop pinned to each CPU (`taskset -c N sh -c 'while :; do :; done'`)."""
    return [subprocess.Popen(["taskset", "-c", str(c), "sh", "-c", "while :; do :; done"]) for c in cpus]


def load_section(ascent, cases, rounds):
    """Each case at Ascent's default thread count and at `--threads 1`, alternated, on the quiet machine and
    then with one busy-loop process pinned to each CPU this process may use (the script starts and kills them)."""
    cpus = sorted(os.sched_getaffinity(0))
    rows = []
    for condition in ("quiet", "loaded"):
        procs = busy_loops(cpus) if condition == "loaded" else []
        try:
            if procs:
                time.sleep(1)
            for case in cases:
                row = {"model": case["label"], "file": rel(case["path"]), "kind": case["kind"], "condition": condition,
                       "busy_loops": len(procs)}
                sides = {"default": [], "one": []}
                error = None
                for r in range(rounds):
                    for side in (("default", "one") if r % 2 == 0 else ("one", "default")):
                        threads = None if side == "default" else 1
                        try:
                            if case["kind"] == "forward":
                                j = ascent.bench(case["path"], case["runs"], threads, warmup=2)
                                sides[side].append(j["median_ms"])
                            else:
                                _, total, _ = ascent_maximize(ascent, case["path"], case["target"], case["steps"], r, threads)
                                sides[side].append(total)
                        except Exception as e:  # noqa: BLE001
                            error = str(e)
                for side, xs in sides.items():
                    row[side] = summarize(xs, xs, xs) if xs else {"error": error}
                log(f"load {condition} {case['label']} {case['kind']}: default {cell(row['default'])} ms, "
                    f"1 thread {cell(row['one'])} ms, ratio {ratio(row['default'], row['one'])}")
                rows.append(row)
        finally:
            for p in procs:
                p.kill()
                p.wait()
    return rows


def lucid_section(ascent, cases, rounds, steps):
    """The Lucid preset's own cost: `ascent bench --grad T` (one forward+backward step of the model) against the
    median per-step time of `ascent maximize --preset lucid` (the same step plus the Fourier parametrization,
    colour decorrelation, the transformation stack and their adjoints), alternated within the run."""
    rows = []
    for case in cases:
        shape = ["--input-shape", case["input_shape"]] if case.get("input_shape") else []
        grad, step, error = [], [], None
        for r in range(rounds):
            for side in (("grad", "lucid") if r % 2 == 0 else ("lucid", "grad")):
                try:
                    if side == "grad":
                        out, _ = ascent.run(["bench", case["path"], "--grad", case["target"], "--runs", str(case["runs"]),
                                             "--warmup", "2", "--json"] + shape)
                        grad.append(json.loads(out.strip().splitlines()[-1])["median_ms"])
                    else:
                        with tempfile.TemporaryDirectory() as d:
                            trace = os.path.join(d, "trace.json")
                            ascent.run(["maximize", case["path"], "--preset", "lucid", "--target", case["target"],
                                        "--steps", str(steps), "--seed", str(r), "--log", trace,
                                        "--output", os.path.join(d, "out.png")] + shape)
                            with open(trace) as f:
                                ms = [s["milliseconds"] for s in json.load(f)["steps"]]
                        step.append(median(ms[1:]))  # the first step also plans the session
                except Exception as e:  # noqa: BLE001
                    error = str(e)
        row = {"model": case["label"], "file": rel(case["path"]), "target": case["target"], "steps": steps,
               "grad": summarize(grad, grad, grad) if grad else {"error": error},
               "lucid_step": summarize(step, step, step) if step else {"error": error}}
        log(f"lucid {case['label']}: grad step {cell(row['grad'])} ms, lucid step {cell(row['lucid_step'])} ms, "
            f"ratio {ratio(row['lucid_step'], row['grad'])}")
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------- report


def machine_line():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return cpu, os.cpu_count()


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def versions():
    import onnxruntime as ort
    v = {"python": platform.python_version(), "numpy": np.__version__, "onnxruntime": ort.__version__}
    if _tf is not None:
        import keras
        v["tensorflow"] = _tf.__version__
        v["keras"] = keras.__version__
    return v


def highlights(res):
    """Headline ratios and the rows that stand out, derived from this run's numbers."""
    out = []

    def r_of(a, b):
        return a["median"] / b["median"] if a.get("median") and b.get("median") else None
    fw = [r for r in res.get("forward", []) if not r.get("error") and not r["ascent"].get("error")]
    if fw:
        rs = [r_of(r["ascent"], r["ort"]) for r in fw]
        out.append(f"Forward vs onnxruntime: Ascent/ORT median ratio {statistics.median(rs):.2f}× over {len(rs)} rows "
                   f"(best {min(rs):.2f}×, worst {max(rs):.2f}×).")
        slow = [(r_of(r["ascent"], r["ort"]), r) for r in fw if r_of(r["ascent"], r["ort"]) >= 1.5]
        for x, r in sorted(slow, key=lambda t: -t[0])[:8]:
            out.append(f"Slow: {r['model']} (`{os.path.basename(r['ascent_file'])}`, {r['threads']} thread(s)) "
                       f"{x:.2f}× onnxruntime ({fmt_ms(r['ascent']['median'])} vs {fmt_ms(r['ort']['median'])} ms).")
        by = {}
        for r in fw:
            by.setdefault((r["model"], r["ascent_file"]), {})[r["threads"]] = r
        for (model, f), t in by.items():
            if 1 in t and 2 in t:
                a1, a2 = t[1]["ascent"]["median"], t[2]["ascent"]["median"]
                o1, o2 = t[1]["ort"]["median"], t[2]["ort"]["median"]
                p2 = t[2].get("ascent_passive", {}).get("median")
                if p2 and a2 > 1.5 * p2:
                    out.append(f"Spin-waiting: {model} (`{os.path.basename(f)}`), 2 threads: {fmt_ms(a2)} ms as shipped, "
                               f"{fmt_ms(p2)} ms with OMP_WAIT_POLICY=passive ({a2 / p2:.1f}× faster).")
                if a2 > a1 * 1.1:
                    out.append(f"Thread scaling: {model} (`{os.path.basename(f)}`) is slower on 2 threads than on 1 in "
                               f"Ascent ({fmt_ms(a2)} vs {fmt_ms(a1)} ms; onnxruntime {fmt_ms(o2)} vs {fmt_ms(o1)} ms).")
    for r in res.get("ascent", []):
        if not r["ascent_loop"].get("error"):
            out.append(f"Gradient ascent, {r['model']} `{r['target']}` ({os.path.basename(r['ascent_file'])}), "
                       f"{r['steps']} steps: Ascent/TF {r_of(r['ascent_loop'], r['tf_loop']):.2f}× "
                       f"({fmt_ms(r['ascent_step']['median'])} vs {fmt_ms(r['tf_step']['median'])} ms per step).")
        else:
            out.append(f"Gradient ascent, {r['model']} ({os.path.basename(r['ascent_file'])}): failed: {r['ascent_loop']['error']}")
    for r in res.get("import", []):
        if not r["ascent"].get("error"):
            library = r.get('ascent_import_in_process', r['ascent_import'])
            out.append(f"Import, `{os.path.basename(r['file'])}`: Ascent library import/{r['peer']} "
                       f"{r_of(library, r['peer_stats']):.2f}× (both in-process); whole `ascent inspect` command/peer "
                       f"{r_of(r['ascent'], r['peer_stats']):.2f}×.")
    if not out:
        return []
    return ["", "## Highlights", "", "Derived from the tables below (ratio = Ascent/peer; below 1× Ascent is faster).", ""] \
        + [f"- {x}" for x in out]


def write_report(path, res, command):
    cpu, cores = machine_line()
    v = res["versions"]
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append("<!-- Written by Tools/bench/run; edits are overwritten. -->")
    L.append("")
    L.append(f"**Machine:** {cpu}, {cores} cores, Linux {platform.release()}; run {res['started']} – {res['finished']} UTC. "
             f"**The machine was shared and loaded** (other engineers were compiling; load average {res['load_start']} "
             f"at the start, {res['load_end']} at the end), so absolute numbers are noisy: every comparison alternates "
             f"the two sides within this one run, and the ratios are the numbers to read.")
    if res.get("merged_from"):
        L.append("")
        L.append(f"Sections not re-run in this run are those of the run started {res['merged_from']}, same binary source.")
    L.append("")
    L.append(f"Ascent {res['ascent_version']}: `ascent` from {res['ascent_source']} "
             "(`swift build -c release --product ascent`). Peers: "
             + ", ".join(f"{k} {val}" for k, val in v.items()) + ".")
    L.append("")
    L.append("Regenerate (about 15 minutes; `--quick` runs a 2-minute subset):")
    L.append("")
    L.append("```sh")
    L.append(command)
    L.append("```")
    L.append("")
    L.append("How to read the tables: each cell is *median (min–max)* in milliseconds. A side's median is the median "
             "over rounds of that round's median; min and max are over every timed run. Rounds alternate which side "
             "goes first. **Ratio = Ascent / peer: below 1× Ascent is faster, above 1× it is slower.**")
    if res["quick"]:
        L.append("")
        L.append("*This is a `--quick` run: fewer models, rounds and runs.*")

    L += highlights(res)
    fw = res.get("forward", [])
    if fw:
        L.append("")
        L.append("## 1. Forward latency vs onnxruntime (batch 1)")
        L.append("")
        L.append("Ascent: `ascent bench MODEL --threads T --runs N --json` (in-process timing of `Session.run` on seeded "
                 "random inputs; the import time is the `import_ms` it prints). onnxruntime: `InferenceSession` on the "
                 "ONNX file with `intra_op_num_threads = T`, `inter_op_num_threads = 1`, default graph optimizations, "
                 "timed around `session.run` from Python (includes a few µs of binding overhead, which matters only "
                 "for the sub-0.1 ms models). Both sides get the same number of runs per round after 3 warm-up runs. "
                 "Where a Keras `.h5` exists, Ascent also runs it (its own Keras import, channels-last) against the "
                 "same onnxruntime session of the tf2onnx export.")
        L.append("")
        if any("ascent_passive" in r for r in fw):
            L.append("With 2 threads a third side runs too, alternated with the others: Ascent with `OMP_WAIT_POLICY=passive` "
                     "(a diagnostic of runs made before Ascent started libgomp passive itself).")
            L.append("")
        L.append("| Model | Ascent file | Threads | Runs × rounds | Ascent ms | onnxruntime ms | Ascent/ORT | Ascent, OMP passive ms | passive/ORT | Ascent import ms | Ascent peak RSS MB |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in fw:
            if r.get("error"):
                L.append(f"| {r['model']} | `{r['ascent_file']}` | {r['threads']} | – | failed: {r['error']} | | | | | | |")
                continue
            a = r["ascent"]
            L.append(f"| {r['model']} | `{r['ascent_file']}` | {r['threads']} | {r['runs_per_round']} × {r['ort']['rounds']} | "
                     f"{cell(a)} | {cell(r['ort'])} | **{ratio(a, r['ort'])}** | "
                     f"{cell(r['ascent_passive']) if 'ascent_passive' in r else '–'} | "
                     f"{ratio(r['ascent_passive'], r['ort']) if 'ascent_passive' in r else '–'} | "
                     f"{fmt_ms(a.get('import_ms', float('nan')))} | {a.get('peak_rss_mb', float('nan')):.0f} |")
        L.append("")
        L.append("ONNX files: " + "; ".join(sorted({f"{r['model']}: `{r['onnx_file']}`" for r in fw})) + ".")

    ld = res.get("load", [])
    if ld:
        L.append("")
        L.append("## 1b. Under load")
        L.append("")
        L.append("Each case at Ascent's default thread count (no `--threads`: the CPUs the process may use) and at "
                 "`--threads 1`, alternated within the run; first on the machine as it is, then with one busy-loop "
                 "process pinned to each CPU (`taskset -c N sh -c 'while :; do :; done'`, started and killed by the "
                 "script), as when other programs hold the cores. Forward: `ascent bench` medians; maximize: the sum of "
                 "the per-step times of `ascent maximize --preset keras-example` from its `--log`. **Target: the "
                 "default within 1.5× of `--threads 1` under load.**")
        L.append("")
        L.append("| Model | File | What | Machine | Default threads ms | `--threads 1` ms | default/1 thread |")
        L.append("|---|---|---|---|---:|---:|---:|")
        for r in ld:
            what = "forward" if r["kind"] == "forward" else "maximize (loop)"
            machine = "as is" if r["condition"] == "quiet" else f"{r['busy_loops']} busy loops"
            L.append(f"| {r['model']} | `{r['file']}` | {what} | {machine} | {cell(r['default'])} | {cell(r['one'])} | "
                     f"**{ratio(r['default'], r['one'])}** |")

    lu = res.get("lucid", [])
    if lu:
        L.append("")
        L.append("## 1c. The Lucid preset's overhead")
        L.append("")
        L.append("One step of `ascent maximize --preset lucid` (Fourier parametrization with colour decorrelation, "
                 "Lucid's transformation stack — pad, jitter, scale, rotate, jitter — and the adjoints of all of them, "
                 "plus the model's forward and backward pass) against `ascent bench --grad T`, the model's own "
                 "forward+backward step at the same input size; both at Ascent's default thread count, alternated "
                 "within the run. *Lucid step*: the median of the per-step times of the `--log` trace (the first "
                 "step, which also plans the session, left out). **Target (issue 15): the parametrization and "
                 "transformations cost ≤ 10% of the model's step, i.e. lucid step / grad step ≤ 1.10×.**")
        L.append("")
        L.append("| Model | File | Target | Steps | `bench --grad` ms | Lucid step ms | Lucid / grad |")
        L.append("|---|---|---|---:|---:|---:|---:|")
        for r in lu:
            L.append(f"| {r['model']} | `{r['file']}` | `{r['target']}` | {r['steps']} | {cell(r['grad'])} | "
                     f"{cell(r['lucid_step'])} | **{ratio(r['lucid_step'], r['grad'])}** |")

    ga = res.get("ascent", [])
    if ga:
        L.append("")
        L.append("## 2. Gradient ascent vs TensorFlow")
        L.append("")
        L.append("The Keras example's update, `grads = tape.gradient(loss, img); img += 10 * tf.math.l2_normalize(grads)`, "
                 "from its initialization `(U(0,1) − 0.5) · 0.25`. TensorFlow: the whole loop is one `tf.function` "
                 "(a `tf.range` loop; traced once beforehand, so the time excludes tracing), on the sub-model up to "
                 "the target (the example's `feature_extractor`). Ascent: `ascent maximize MODEL --preset keras-example "
                 "--target T --steps N --log TRACE.json` (the same update, init and 2-px border); *loop* is the sum "
                 "of the per-step milliseconds in the trace, *wall* the whole command (import, graph building, "
                 f"session set-up, the loop, the picture). Both sides use {res['ascent_threads']} threads.")
        L.append("")
        L.append("| Model | Target | Ascent file | Steps | Ascent loop ms | TF loop ms | Ascent/TF | Ascent ms/step | TF ms/step | Ascent wall ms | TF first call ms (trace + 2 steps) | Ascent loop, OMP passive ms |")
        L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in ga:
            L.append(f"| {r['model']} | `{r['target']}` | `{r['ascent_file']}` | {r['steps']} | {cell(r['ascent_loop'])} | "
                     f"{cell(r['tf_loop'])} | **{ratio(r['ascent_loop'], r['tf_loop'])}** | "
                     f"{fmt_ms(r['ascent_step'].get('median', float('nan')))} | {fmt_ms(r['tf_step']['median'])} | "
                     f"{cell(r['ascent_wall'])} | {fmt_ms(r['tf_first_call_ms'])} | "
                     f"{cell(r['ascent_passive_loop']) if 'ascent_passive_loop' in r else '–'} |")
        L.append("")
        L.append("Targets: mini-Xception `logit:0` is class 0 before the softmax (TF: `logits[:, 0]` of the "
                 "`GlobalAveragePooling2D` output); ResNet50V2 `layer:conv3_block4_out:0` is the mean of channel 0 "
                 "of that block's output without a 2-pixel border (TF: `reduce_mean(a[:, 2:-2, 2:-2, 0])`). "
                 "Min–max here are over rounds (one loop per round). The last column is the diagnostic third side "
                 "of section 1 (`OMP_WAIT_POLICY=passive`), alternated with the other two.")

    im = res.get("import", [])
    if im:
        L.append("")
        L.append("## 3. Import")
        L.append("")
        L.append("Ascent: wall time of the whole `ascent inspect MODEL --format json` command (process start, import, "
                 "shape inference, JSON output; an `ascent --version` process alone takes "
                 f"{fmt_ms(res['ascent_start']['median'])} ms). *import_ms* is the import time `ascent bench` reports "
                 "(in-process timer around loading the model). The CLI parses `.h5`/`.keras` files in a child "
                 "process for safety (`ascent _import`, which streams the graph back as `.ascent` bytes), so for those "
                 "the table also gives import_ms with `ASCENT_IMPORT_IN_PROCESS=1` (the isolation turned off): the "
                 "difference is the cost of the isolation. Peer: `keras.saving.load_model(path, compile=False)`, or "
                 "`onnx.load` + `onnxruntime.InferenceSession` (1 thread, default graph optimizations: it also "
                 "plans the session, which `ascent inspect` does not), timed inside a warm Python process: "
                 f"interpreter start and `import tensorflow, keras` (**{fmt_ms(res.get('tf_import_ms', float('nan')))} ms** "
                 "in this run) are *not* included, which flatters the peer against a whole Ascent command. Two "
                 "ratios: *library* = Ascent's in-process import (what a Swift program using the library pays: "
                 "import_ms for ONNX, import_ms in-process for Keras files) / peer, both timed inside a running "
                 "process; *command* = the whole `ascent inspect` process / peer.")
        L.append("")
        L.append("| Model | File | MB | Ascent `inspect` wall ms | Ascent import_ms | import_ms in-process | Peer | Peer ms | library/peer | command/peer | `onnx.load` alone ms |")
        L.append("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
        for r in im:
            library = r.get('ascent_import_in_process', r['ascent_import'])
            L.append(f"| {r['model']} | `{r['file']}` | {r['size_mb']:.1f} | {cell(r['ascent'])} | {cell(r['ascent_import'])} | "
                     f"{cell(r['ascent_import_in_process']) if 'ascent_import_in_process' in r else '–'} | {r['peer']} | "
                     f"{cell(r['peer_stats'])} | **{ratio(library, r['peer_stats'])}** | {ratio(r['ascent'], r['peer_stats'])} | "
                     f"{cell(r['onnx_load']) if 'onnx_load' in r else '–'} |")
    mem, sc = res.get("memory", []), res.get("scaling", [])
    if mem or sc:
        L.append("")
        L.append("## 4. Memory and scaling")
        L.append("")
        L.append("Target: peak resident memory during a forward pass ≤ weights + 2 × the largest activation + 64 MB. "
                 "Peak RSS is the high-water mark (`VmHWM`) of the whole `ascent bench` process (binary and libraries "
                 "included; for `.h5`/`.keras` the parent only: the HDF5 parsing child is a separate process), the "
                 "largest of its runs in section 1. Weights = parameters × 4 bytes; the largest activation is the "
                 "largest value `ascent inspect` infers (symbolic sizes as 1).")
        L.append("")
        L.append("| Model | File | Weights MB | Largest activation MB | Bound MB | Peak RSS MB | Met |")
        L.append("|---|---|---:|---:|---:|---:|---|")
        for r in mem:
            L.append(f"| {r['model']} | `{r['file']}` | {r['weights_mb']:.1f} | {r['activation_mb']:.2f} | {r['bound_mb']:.0f} | "
                     f"{r['peak_rss_mb']:.0f} | {'yes' if r['peak_rss_mb'] <= r['bound_mb'] else '**no**'} |")
        if sc:
            L.append("")
            L.append("Scaling: synthetic chains of 1024×1024 float32 MatMul+Relu layers (ONNX) and the same as Keras "
                     "Dense layers (`.h5`), about 10 MB, 100 MB and 1 GB of weights; `ascent bench --runs 1` (import "
                     "time = loading the file into the IR; peak RSS of the process), median of rounds. Linear means "
                     "the last two columns stay flat as the size grows.")
            L.append("")
            L.append("| Weights | File | File MB | Import | Import ms | Peak RSS MB | ms per file MB | RSS / file MB |")
            L.append("|---:|---|---:|---|---:|---:|---:|---:|")
            for r in sc:
                L.append(f"| {r['size']} MB | `{r['file']}` | {r['file_mb']:.0f} | {r['how']} | {r['import_ms']:.1f} | "
                         f"{r['peak_rss_mb']:.0f} | {r['import_ms'] / r['file_mb']:.3f} | {r['peak_rss_mb'] / r['file_mb']:.2f} |")
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis):
        L.append("")
        with open(analysis) as f:
            L.append(f.read().rstrip())
    L.append("")
    L.append("## Models")
    L.append("")
    L.append("The fixtures are committed (`Fixtures/`). The generated models are not: `Tools/bench/models.py` writes them "
             "into the git-ignored `.cache/bench/` from fixed seeds — a 46-layer mini-Xception classifier (64×64×1, "
             "7 classes; SeparableConv2D, BatchNormalization, residual Adds; Keras default initializers with "
             "randomized BatchNormalization statistics), `keras.applications.ResNet50V2(weights=None, "
             "input_shape=(180, 180, 3))` and `MobileNetV2(weights=None)` at 224×224, their tf2onnx (opset 17) "
             "exports, a pre-norm transformer encoder block written directly in ONNX opset 20 (sequence 128, width "
             "256, 4 heads, MLP 1024; LayerNormalization, MatMul, Softmax, Gelu), and two recurrent models written "
             "directly in ONNX opset 17 in the node layout `torch.onnx.export` gives `nn.LSTM`/`nn.GRU` (PyTorch's "
             "default initialization from a fixed seed): a PP-OCR/CRNN-style text recognizer (3×48×320, four "
             "Conv+Relu stages, two bidirectional LSTM layers of 128, a 6625-class CTC-style head) and a "
             "keyword-spotting-style GRU classifier (100 frames × 40 features, two GRU layers of 128 with "
             f"`linear_before_reset`, 12 classes). Raw results of this run: `{res['raw']}`.")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


# ---------------------------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ascent", required=True)
    ap.add_argument("--cache", default=os.path.join(ROOT, ".cache/bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sections", default="forward,load,lucid,ascent,import,memory")
    ap.add_argument("--command", default="Tools/bench/run")
    ap.add_argument("--ascent-source", default="")
    ap.add_argument("--merge", action="store_true",
                    help="keep the previous run's results for the sections not run now (started/finished stay this run's)")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    ascent = Ascent(args.ascent)
    C = args.cache
    F = os.path.join(ROOT, "Fixtures")
    res = {"started": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), "load_start": loadavg(),
           "quick": args.quick, "ascent_threads": os.cpu_count(),
           "ascent_version": subprocess.run([args.ascent, "--version"], capture_output=True, text=True).stdout.strip(),
           "ascent_source": args.ascent_source or rel(args.ascent)}
    q = args.quick

    fixtures = [("digits", f"{F}/digits/digits.onnx", f"{F}/digits/digits.onnx"),
                ("digits", f"{F}/digits/digits.h5", f"{F}/digits/digits.onnx")]
    for name in ("mlp", "cnn_bn", "residual", "separable"):
        fixtures.append((name, f"{F}/keras/{name}/model.onnx", f"{F}/keras/{name}/model.onnx"))
        if not q:
            fixtures.append((name, f"{F}/keras/{name}/model.h5", f"{F}/keras/{name}/model.onnx"))
    fixtures.append(("mobilenetv2 0.35 96×96", f"{F}/keras/mobilenetv2/model.onnx", f"{F}/keras/mobilenetv2/model.onnx"))
    fixtures.append(("mobilenetv2 0.35 96×96", f"{F}/keras/mobilenetv2/model.keras", f"{F}/keras/mobilenetv2/model.onnx"))
    fixtures += [("MobileNetV2 224×224", f"{C}/mobilenetv2_224.onnx", f"{C}/mobilenetv2_224.onnx"),
                 ("OCR recognizer 48×320 (BiLSTM)", f"{C}/ocr_rec.onnx", f"{C}/ocr_rec.onnx"),
                 ("GRU sequence 100×40", f"{C}/gru_seq.onnx", f"{C}/gru_seq.onnx"),
                 ("mini-Xception 64×64×1", f"{C}/mini_xception.onnx", f"{C}/mini_xception.onnx"),
                 ("mini-Xception 64×64×1", f"{C}/mini_xception.h5", f"{C}/mini_xception.onnx"),
                 ("transformer block 128×256", f"{C}/transformer.onnx", f"{C}/transformer.onnx"),
                 ("ResNet50V2 180×180", f"{C}/resnet50v2.onnx", f"{C}/resnet50v2.onnx")]
    if not q:
        fixtures.append(("ResNet50V2 180×180", f"{C}/resnet50v2.h5", f"{C}/resnet50v2.onnx"))
    if "forward" in sections:
        log("section 1: forward latency vs onnxruntime")
        res["forward"] = forward_section(ascent, fixtures, (1, 2), rounds=3 if q else 5,
                                         budget_ms=100 if q else 400)
    if "ascent" in sections:
        log("section 2: gradient ascent vs TensorFlow")
        cases = [{"label": "mini-Xception 64×64×1", "keras": f"{C}/mini_xception.h5",
                  "ascent": [f"{C}/mini_xception.h5"] + ([] if q else [f"{C}/mini_xception.onnx"]),
                  "target": "logit:0", "make": mini_xception_case},
                 {"label": "ResNet50V2 180×180", "keras": f"{C}/resnet50v2.h5", "ascent": [f"{C}/resnet50v2.h5"],
                  "target": "layer:conv3_block4_out:0", "make": resnet_case}]
        res["ascent"] = ascent_section(ascent, cases, (30,) if q else (30, 100), rounds=2 if q else 3,
                                       threads=os.cpu_count())

    if "import" in sections:
        log("section 3: import")
        cases = [("digits", f"{F}/digits/digits.h5"), ("digits", f"{F}/digits/digits.keras"),
                 ("digits", f"{F}/digits/digits.onnx"),
                 ("mobilenetv2 0.35 96×96", f"{F}/keras/mobilenetv2/model.keras"),
                 ("mobilenetv2 0.35 96×96", f"{F}/keras/mobilenetv2/model.onnx"),
                 ("mini-Xception 64×64×1", f"{C}/mini_xception.h5"), ("mini-Xception 64×64×1", f"{C}/mini_xception.onnx")]
        if not q:
            cases += [("ResNet50V2 180×180", f"{C}/resnet50v2.h5"), ("ResNet50V2 180×180", f"{C}/resnet50v2.onnx")]
        res["import"], res["ascent_start"] = import_section(ascent, cases, rounds=2 if q else 3)
    if "load" in sections:
        log("section 1b: under load")
        cases = [{"label": "MobileNetV2 224×224", "path": f"{C}/mobilenetv2_224.onnx", "kind": "forward", "runs": 10 if q else 30},
                 {"label": "mini-Xception 64×64×1", "path": f"{C}/mini_xception.onnx", "kind": "maximize",
                  "target": "logit:0", "steps": 30}]
        res["load"] = load_section(ascent, cases, rounds=3 if q else 5)
    if "lucid" in sections:
        log("section 1c: the Lucid preset's overhead")
        P = os.path.join(ROOT, ".cache/probe-torch")  # made by Tools/fixtures/probe-torch-cache
        cases = [{"label": "MobileNetV3-Small 224×224 (torchvision, TorchScript export)",
                  "path": f"{P}/mobilenet_v3_small_ts/model.onnx", "input_shape": "x=1,3,224,224",
                  "target": "logit:1", "runs": 10 if q else 20},
                 {"label": "ResNet-18 224×224 (torchvision, TorchScript export)",
                  "path": f"{P}/resnet18_ts/model.onnx", "input_shape": "x=1,3,224,224",
                  "target": "logit:1", "runs": 5 if q else 10}]
        res["lucid"] = lucid_section(ascent, cases, rounds=3 if q else 5, steps=10 if q else 20)
    if "memory" in sections:
        log("section 4: memory and scaling")
        res["memory"] = memory_rows(ascent, res.get("forward", []))
        res["scaling"] = scaling_section(ascent, C, (10, 100) if q else (10, 100, 1000), rounds=1 if q else 3)
    res["tf_import_ms"] = tf_module.import_ms
    res["versions"] = versions()
    res["finished"] = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")
    res["load_end"] = loadavg()
    default_out = os.path.abspath(args.out) == os.path.join(ROOT, "BENCHMARKS.md")
    res["raw"] = rel(os.path.join(C, "results.json")) if default_out else rel(os.path.abspath(args.out) + ".json")
    raw_path = os.path.join(ROOT, res["raw"])
    if args.merge and os.path.exists(raw_path):
        with open(raw_path) as f:
            old = json.load(f)
        keys = {"forward": ["forward"], "ascent": ["ascent"], "import": ["import", "ascent_start", "tf_import_ms"],
                "memory": ["memory", "scaling"], "load": ["load"],
                "lucid": ["lucid"]}
        merged = []
        for section, names in keys.items():
            if section not in sections:
                for k in names:
                    if k in old:
                        res[k] = old[k]
                merged.append(section)
        res["merged_from"] = f"{old.get('started', '?')} (sections {', '.join(merged)})"
    with open(raw_path, "w") as f:
        json.dump(res, f, indent=1)
    write_report(args.out, res, args.command)
    log(f"wrote {rel(args.out)}")


if __name__ == "__main__":
    main()
