#!/usr/bin/env python3
"""Turn qblas_bench's Google Benchmark JSON into a markdown table and PNG charts.

    report.py BENCH.json OUTDIR

Writes OUTDIR/report.md (per operation: shape, M, time, TFLOP/s, GB/s,
fraction of the measured copy bandwidth, ratio to the baseline, kernel; then
the cases that were skipped, with the reason) and OUTDIR/speedup.png (one
panel per operation: ratio to the baseline against M, a line per shape).
Without matplotlib the table is still written and the script says that the
charts were skipped. Prints the markdown to stdout.
"""
import json
import math
import os
import sys
from collections import OrderedDict


def load(path):
    with open(path) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    rows, skipped = [], []
    for b in data.get("benchmarks", []):
        parts = b["name"].split("/")
        op, shape = parts[0], parts[1] if len(parts) > 1 else ""
        if b.get("error_occurred"):
            skipped.append((op, shape, parts[2] if len(parts) > 2 else "", b.get("error_message", "")))
            continue
        if b.get("run_type", "iteration") != "iteration":
            continue  # aggregates of --benchmark_repetitions: the table shows the runs
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "us")]
        label = b.get("label", "")
        kernel, _, base = label.partition(" | baseline ")
        rows.append({
            "op": op, "shape": shape, "m": int(b.get("M", 0)),
            "us": b["real_time"] * scale, "tflops": b.get("TFLOPs", 0.0),
            "gbps": b.get("GBps", 0.0), "bw": b.get("bw_frac", 0.0),
            "ratio": b.get("ratio"), "kernel": kernel, "base": base,
            "attention": shape.startswith("ctx"),
        })
    return ctx, rows, skipped


def fmt(v, digits=2):
    if v is None or v == 0 or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 1:
        return "%.*f" % (digits, v)
    return "%.3g" % v


def markdown(ctx, rows, skipped):
    out = ["# qblas benchmark", ""]
    out.append("Device: %s; backend %s; preset %s; copy bandwidth %s GB/s (%s)." % (
        ctx.get("qblas_device", "?"), ctx.get("qblas_backend", "?"), ctx.get("qblas_preset", "?"),
        ctx.get("qblas_copy_GBps", "?"), ctx.get("qblas_copy_method", "?")))
    out.append("Run %s on %s. Baselines: GEMMs %s; attention %s." % (
        ctx.get("date", "?"), ctx.get("host_name", "?"), ctx.get("qblas_gemm_baseline", "?"),
        ctx.get("qblas_attention_baseline", "?")))
    out.append("")
    out.append("Time: mean per call (us). GB/s: compulsory bytes (weights with their scales + activations + "
               "outputs; attention: K and V with their scales + Q + O) per second. bw: GB/s over the measured "
               "copy bandwidth. ratio: baseline time / this time, the baseline measured in the same run "
               "(> 1: faster than the baseline).")
    ops = OrderedDict()
    for r in rows:
        ops.setdefault(r["op"], []).append(r)
    for op, rs in ops.items():
        attn = rs[0]["attention"]
        out += ["", "## %s" % op, "",
                "| %s | %s | time us | TFLOP/s | GB/s | bw | ratio vs %s | kernel |" % (
                    "context" if attn else "N x K", "batch" if attn else "M", rs[0]["base"] or "baseline"),
                "|---|---:|---:|---:|---:|---:|---:|---|"]
        for r in rs:
            out.append("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                r["shape"], r["m"], fmt(r["us"]), fmt(r["tflops"], 3), fmt(r["gbps"]), fmt(r["bw"], 3),
                fmt(r["ratio"]), r["kernel"]))
    if skipped:
        out += ["", "## Skipped", "", "| case | shape | M | reason |", "|---|---|---|---|"]
        for op, shape, m, msg in skipped:
            out.append("| %s | %s | %s | %s |" % (op, shape, m, msg.replace("|", "/")))
    return "\n".join(out) + "\n"


def charts(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "charts skipped: matplotlib is not installed (apt-get install python3-matplotlib)"
    ops = OrderedDict()
    for r in rows:
        # the baseline's own panel would be a flat 1; a case whose baseline did not run has no ratio
        if r["op"] != r["base"] and r["ratio"] is not None:
            ops.setdefault(r["op"], []).append(r)
    if not ops:
        return "charts skipped: no case with a baseline to compare against"
    cols = min(3, len(ops))
    nrows = (len(ops) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    for ax, (op, rs) in zip(axes.flat, ops.items()):
        shapes = OrderedDict()
        for r in rs:
            shapes.setdefault(r["shape"], []).append(r)
        for shape, srs in shapes.items():
            srs = sorted(srs, key=lambda r: r["m"])
            ax.plot([r["m"] for r in srs], [r["ratio"] for r in srs], marker="o", label=shape)
        ax.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
        ax.set_xscale("log", base=2)
        ax.set_title("%s\nvs %s" % (op, rs[0]["base"]), fontsize=9)
        ax.set_xlabel("batch" if rs[0]["attention"] else "M")
        ax.set_ylabel("speedup (baseline time / time)")
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(ops):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return "chart: %s" % path


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py BENCH.json OUTDIR")
    ctx, rows, skipped = load(sys.argv[1])
    os.makedirs(sys.argv[2], exist_ok=True)
    md = markdown(ctx, rows, skipped)
    note = charts(rows, os.path.join(sys.argv[2], "speedup.png"))
    md += "\n" + note + "\n"
    with open(os.path.join(sys.argv[2], "report.md"), "w") as f:
        f.write(md)
    sys.stdout.write(md)


if __name__ == "__main__":
    main()
