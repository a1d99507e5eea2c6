#!/usr/bin/env python3
"""Single-core float32 matmul peak: numpy's n x n sgemm with one BLAS thread, pinned to one CPU; the median of
`repeats` timed products after a warm-up. What the benchmark reads engines' GFLOP/s against (bench/peer.ts).
Prints one JSON line: {"gflops": ..., "n": ..., "repeats": ..., "times": [...], "numpy": ...}."""
import argparse, json, os, time
p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=2048, help="matrix size (n x n times n x n)")
p.add_argument("--repeats", type=int, default=5, help="timed products; the median is reported")
a = p.parse_args()
# BLAS reads these when it loads: set before importing numpy.
for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
import numpy as np
rng = np.random.default_rng(0)
A = rng.standard_normal((a.n, a.n), dtype=np.float32)
B = rng.standard_normal((a.n, a.n), dtype=np.float32)
C = np.empty_like(A)
np.matmul(A, B, out=C)  # warm-up
times = []
for _ in range(a.repeats):
    t0 = time.perf_counter(); np.matmul(A, B, out=C); times.append(time.perf_counter() - t0)
med = sorted(times)[len(times) // 2]
print(json.dumps({"gflops": 2 * a.n ** 3 / med / 1e9, "n": a.n, "repeats": a.repeats, "times": times,
                  "numpy": np.__version__}))
