"""Run every benchmark and print the README table (markdown) of their rows.

Run: ``python benchmarks/run_all.py [--quick]``; rows also go to
``benchmarks/results.jsonl`` (overwritten). OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE are removed from the children's environment (they can pin
NumPy's BLAS to a slower kernel).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = ["bench_mlp.py", "bench_convnet.py", "bench_lstm.py", "bench_dispatch.py", "bench_matmul.py",
           "bench_coldstart.py"]


def main():
    out = os.path.join(HERE, "results.jsonl")
    if os.path.exists(out):
        os.remove(out)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if "--quick" in sys.argv:
        env["BENCH_QUICK"] = "1"
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, script), "--json", out], env=env, check=False)
    sys.path.insert(0, HERE)
    from _common import machine

    print("\n### Latest rows\n")
    print(f"Machine: {machine()}\n")
    print("| workload | framework | value | spread % | ratio |")
    print("|---|---|---|---|---|")
    with open(out) as f:
        for line in f:
            r = json.loads(line)
            if "note" in r:
                continue
            vals = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in r["values"]]
            vals += [""] * (3 - len(vals))
            print(f"| {r['workload']} | {r['name']} | {' | '.join(vals[:3])} |")


if __name__ == "__main__":
    main()
