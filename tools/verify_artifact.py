#!/usr/bin/env python3
"""Independent check of dynsweep trial artifacts (Python + numpy only).

Written from ../shared/SCIENCE.md and the artifact layout documented in core/types.ts / docs/science.md, not
from the TypeScript engines. For every artifact `artifacts/<trialId>.json`:

  1. rebuild the training loss (ce, dce, mse, dmse1, dmse2) with the stored class weights `gamma`
     (dynamical losses) and its static counterpart (ce for dce, mse for dmse1/dmse2, gamma = 1);
  2. build the full dense Hessian of both in float64, analytically (Gauss-Newton part J^T L J plus the
     ReLU network's own second-order term, which only couples W2[j, k] with unit j's incoming weights);
  3. cross-check that Hessian against central finite differences (eps 1e-5) of an independent analytic
     gradient (plain backpropagation), column by column, for every parameter whose +-eps perturbation
     cannot move a pre-activation across a ReLU kink (W2, b2, and the incoming weights of units whose
     |a| exceeds twice the shift on every sample);
  4. take numpy.linalg.eigvalsh and compare the largest eigenvalue with `finalSharpness`
     (static and dynamic) to --rtol (default 1e-3) relative.

With the trial record (`trials/<trialId>.json`, found next to `artifacts/` or given by --record) it also
checks that the record agrees with the artifact: parameter count P = (d + 1) w + (w + 1) C, loss, width,
class count, training-set size, class order and radii (r_i = i/(n-1)), the final class weights recomputed from
the schedule of SCIENCE.md, the final training accuracy and losses recomputed here, the final sharpness, and
that the sampled curves end at the final values.

Usage:
  verify_artifact.py ARTIFACT.json [--record RECORD.json] [...more artifacts]
  verify_artifact.py --sweep DIR        # every artifacts/*.json under DIR (a sweep's results folder)
Output: one JSON object on stdout {"ok": bool, "checked": n, "failed": n, "results": [...]}.
Exit status 0 when everything matches, 1 otherwise, 2 on bad usage.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import numpy as np

STATIC_OF = {"ce": "ce", "dce": "ce", "mse": "mse", "dmse1": "mse", "dmse2": "mse"}
FD_EPS = 1e-5


# ---------------------------------------------------------------------------------------------------------
# The network and the losses of SCIENCE.md, vectorised over samples.

class Net:
    """z = W2^T relu(W1^T x + b1) + b2 at fixed parameters, on the training set."""

    def __init__(self, W1, b1, W2, b2, X):
        self.W1 = np.asarray(W1, dtype=np.float64)  # d x w
        self.b1 = np.asarray(b1, dtype=np.float64)  # w
        self.W2 = np.asarray(W2, dtype=np.float64)  # w x C
        self.b2 = np.asarray(b2, dtype=np.float64)  # C
        self.X = np.asarray(X, dtype=np.float64)    # N x d
        self.d, self.w = self.W1.shape
        self.C = self.W2.shape[1]
        self.A = self.X @ self.W1 + self.b1          # N x w pre-activations
        self.M = (self.A > 0).astype(np.float64)     # relu'(a), taken as 0 at a = 0
        self.H = self.A * self.M                     # N x w
        self.Z = self.H @ self.W2 + self.b2          # N x C logits

    @property
    def P(self):
        return (self.d + 1) * self.w + (self.w + 1) * self.C

    # Flat layout used for the Hessian (any fixed order works for eigenvalues): W1 row-major, b1, W2
    # row-major, b2.
    def offsets(self):
        d, w, C = self.d, self.w, self.C
        oW1 = 0
        ob1 = d * w
        oW2 = ob1 + w
        ob2 = oW2 + w * C
        return oW1, ob1, oW2, ob2

    def flat(self):
        return np.concatenate([self.W1.ravel(), self.b1, self.W2.ravel(), self.b2])

    @staticmethod
    def unflat(theta, d, w, C, X):
        o1 = d * w
        o2 = o1 + w
        o3 = o2 + w * C
        return Net(theta[:o1].reshape(d, w), theta[o1:o2], theta[o2:o3].reshape(w, C), theta[o3:], X)


def softmax(Z):
    m = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - m)
    return E / E.sum(axis=1, keepdims=True)


def loss_parts(net: Net, y, loss: str, gamma):
    """Loss value F, per-sample dl/dz (N x C, already divided by N) and per-sample d2l/dz2 (N x C x C, / N)."""
    N, C = net.Z.shape
    Y = np.zeros((N, C))
    Y[np.arange(N), y] = 1.0
    gamma = np.asarray(gamma, dtype=np.float64)
    if loss in ("ce", "dce"):
        g = gamma[y] if loss == "dce" else np.ones(N)
        Z = net.Z
        m = Z.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True)))[:, 0]
        nll = lse - Z[np.arange(N), y]
        F = float(np.sum(g * nll) / N)
        p = softmax(Z)
        G = g[:, None] * (p - Y) / N
        L = g[:, None, None] * (np.einsum("nk,kl->nkl", p, np.eye(C)) - np.einsum("nk,nl->nkl", p, p)) / N
        return F, G, L
    E = net.Z - Y
    if loss == "mse":
        om = np.ones((N, C))
    elif loss == "dmse1":  # weight by the sample's class
        om = np.repeat(gamma[y][:, None], C, axis=1)
    elif loss == "dmse2":  # weight by output component
        om = np.repeat(gamma[None, :], N, axis=0)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    F = float(0.5 * np.sum(om * E * E) / N)
    G = om * E / N
    L = np.einsum("nk,kl->nkl", om, np.eye(C)) / N
    return F, G, L


def jacobian(net: Net):
    """dz/dtheta per sample: N x C x P."""
    N, C, d, w = net.X.shape[0], net.C, net.d, net.w
    oW1, ob1, oW2, ob2 = net.offsets()
    J = np.zeros((N, C, net.P))
    # dz_k / dW1[i, j] = W2[j, k] m_j x_i ;  dz_k / db1[j] = W2[j, k] m_j
    MW = net.M[:, None, :] * net.W2.T[None, :, :]  # N x C x w
    for i in range(d):
        J[:, :, oW1 + i * w: oW1 + (i + 1) * w] = MW * net.X[:, i][:, None, None]
    J[:, :, ob1:ob1 + w] = MW
    # dz_k / dW2[j, k'] = delta_kk' h_j ;  dz_k / db2[k'] = delta_kk'
    for k in range(C):
        J[:, k, oW2 + k: ob2: C] = net.H
        J[:, k, ob2 + k] = 1.0
    return J


def gradient(net: Net, y, loss, gamma):
    """Analytic gradient by plain backpropagation (independent of the Jacobian above)."""
    _, G, _ = loss_parts(net, y, loss, gamma)
    gW2 = net.H.T @ G
    gb2 = G.sum(axis=0)
    DA = (G @ net.W2.T) * net.M
    gW1 = net.X.T @ DA
    gb1 = DA.sum(axis=0)
    return np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])


def hessian(net: Net, y, loss, gamma):
    """Exact dense Hessian (away from ReLU kinks): sum_mu J^T L J + sum_mu sum_k g_k d2 z_k."""
    _, G, L = loss_parts(net, y, loss, gamma)
    J = jacobian(net)
    LJ = np.einsum("nkl,nlp->nkp", L, J)
    Hm = J.reshape(-1, J.shape[2]).T @ LJ.reshape(-1, J.shape[2])
    # Second-order term of the network: d2 z_k / (dW2[j,k] d(W1[i,j] or b1[j])) = m_j (x_i or 1), relu'' = 0.
    d, w, C = net.d, net.w, net.C
    oW1, ob1, oW2, _ = net.offsets()
    S = np.zeros_like(Hm)
    for k in range(C):
        gm = G[:, k][:, None] * net.M  # N x w
        for i in range(d):
            vals = (gm * net.X[:, i][:, None]).sum(axis=0)  # w
            rows = oW2 + np.arange(w) * C + k
            cols = oW1 + i * w + np.arange(w)
            S[rows, cols] += vals
        rows = oW2 + np.arange(w) * C + k
        S[rows, ob1 + np.arange(w)] += gm.sum(axis=0)
    return Hm + S + S.T


def fd_hessian(net: Net, y, loss, gamma, cols, eps=FD_EPS):
    """Central finite differences of the analytic gradient, for the parameter columns `cols`."""
    theta = net.flat()
    Hfd = np.zeros((theta.size, len(cols)))
    for c, p in enumerate(cols):
        tp = theta.copy()
        tp[p] += eps
        tm = theta.copy()
        tm[p] -= eps
        gp = gradient(Net.unflat(tp, net.d, net.w, net.C, net.X), y, loss, gamma)
        gm = gradient(Net.unflat(tm, net.d, net.w, net.C, net.X), y, loss, gamma)
        Hfd[:, c] = (gp - gm) / (2 * eps)
    return Hfd


def kink_safe_columns(net: Net, eps=FD_EPS):
    """Parameters whose +-eps perturbation moves no pre-activation across 0 (factor-2 margin).

    Perturbing W2 or b2 moves no pre-activation; perturbing W1[i, j] (b1[j]) moves a_j of sample mu by
    eps |x_mu,i| (eps). Columns of units within reach of a kink are left out of the comparison."""
    oW1, ob1, oW2, _ = net.offsets()
    absA = np.abs(net.A)
    safe = np.ones(net.P, dtype=bool)
    for i in range(net.d):
        reach = 2 * eps * np.abs(net.X[:, i])[:, None]  # N x 1
        safe[oW1 + i * net.w: oW1 + (i + 1) * net.w] = np.all((absA > reach) | (reach == 0), axis=0)
    safe[ob1:oW2] = np.all(absA > 2 * eps, axis=0)
    return np.nonzero(safe)[0]


# ---------------------------------------------------------------------------------------------------------
# Class weights, independently from SCIENCE.md.

def class_weights(t, C, period, amplitude, shape, steps, final_static):
    if period is None or amplitude is None or amplitude == 1 or (final_static > 0 and t >= steps - final_static):
        return np.ones(C)
    m = t // period
    c = m % C
    tau = t - m * period
    if shape == "sine":
        g = 1 + (amplitude - 1) * math.sin(math.pi * tau / period)
    else:
        g = 1 + (amplitude - 1) * (1 - abs(2 * tau / period - 1))
    raw = np.ones(C)
    raw[c] = g
    return C * raw / raw.sum()


# ---------------------------------------------------------------------------------------------------------

def rel_err(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def verify(artifact_path, record_path=None, rtol=1e-3, fd=True, fd_max_params=2000):
    out = {"artifact": artifact_path, "ok": True, "failures": [], "warnings": []}

    def fail(msg):
        out["ok"] = False
        out["failures"].append(msg)

    with open(artifact_path) as f:
        art = json.load(f)
    X = np.asarray(art["train"]["x"], dtype=np.float64)
    y = np.asarray(art["train"]["y"], dtype=np.int64)
    loss = art["loss"]
    gamma = np.asarray(art["gamma"], dtype=np.float64)
    net = Net(art["W1"], art["b1"], art["W2"], art["b2"], X)
    N, C, d, w = X.shape[0], net.C, net.d, net.w
    out.update({"loss": loss, "width": w, "classes": C, "params": net.P, "gamma": gamma.tolist()})

    # Shapes of the documented layout.
    if np.asarray(art["b1"]).shape != (w,) or np.asarray(art["b2"]).shape != (C,) or np.asarray(art["W2"]).shape != (w, C):
        fail("artifact shapes do not match W1: d x w, b1: w, W2: w x C, b2: C")
    if y.shape != (N,) or X.shape[1] != d:
        fail("train.x / train.y shapes inconsistent")
    if gamma.shape != (C,):
        fail(f"gamma has {gamma.size} entries, expected C = {C}")
    if abs(gamma.sum() - C) > 1e-9 * C:
        fail(f"gamma sums to {gamma.sum()!r}, not C = {C}")
    if loss not in STATIC_OF:
        fail(f"unknown loss {loss!r}")
        return out
    if loss in ("ce", "mse") and not np.all(gamma == 1):
        fail(f"static loss {loss} with gamma {gamma.tolist()}")

    # Distance to ReLU kinks.
    min_abs_a = float(np.min(np.abs(net.A))) if net.A.size else math.inf
    theta_max = float(np.max(np.abs(net.flat())))
    out["minAbsPreactivation"] = min_abs_a
    if min_abs_a == 0.0:
        out["warnings"].append("a pre-activation is exactly 0: the Hessian uses relu'(0) = 0 (the product's convention)")

    # Training metrics.
    pred = np.argmax(net.Z, axis=1)
    correct = int(np.sum(pred == y))
    acc = correct / N
    top2 = np.sort(net.Z, axis=1)
    margins = top2[:, -1] - top2[:, -2]
    out["trainAcc"] = acc

    static_loss = STATIC_OF[loss]
    ones = np.ones(C)
    F_dyn = loss_parts(net, y, loss, gamma)[0]
    F_stat = loss_parts(net, y, static_loss, ones)[0]
    out["trainLoss"] = F_dyn
    out["trainLossStatic"] = F_stat

    # Hessians and their largest eigenvalues.
    lam = {}
    hess = {}
    for which, (lname, gam) in {"dynamic": (loss, gamma), "static": (static_loss, ones)}.items():
        if which == "dynamic" and loss == static_loss:
            hess[which] = hess.get("static")
        if hess.get(which) is None:
            hess[which] = hessian(net, y, lname, gam)
        ev = np.linalg.eigvalsh(hess[which])
        lam[which] = float(ev[-1])
        out[f"lambdaMin_{which}"] = float(ev[0])
    out["lambdaMax"] = lam

    # Finite-difference cross-check of the analytic Hessian, on the columns clear of ReLU kinks.
    if fd and net.P <= fd_max_params:
        cols = kink_safe_columns(net)
        out["fdColumns"] = [int(cols.size), net.P]
        if theta_max > 1e4:
            out["fdMaxRelDiff"] = None
            out["warnings"].append(f"finite-difference check skipped: max |theta| = {theta_max:.3g} (blown-up weights) makes eps = {FD_EPS:g} meaningless")
        elif cols.size == 0:
            out["fdMaxRelDiff"] = None
            out["warnings"].append("finite-difference check skipped: every parameter is within reach of a ReLU kink")
        else:
            worst = 0.0
            for which, (lname, gam) in {"dynamic": (loss, gamma), "static": (static_loss, ones)}.items():
                Hfd = fd_hessian(net, y, lname, gam, cols)
                scale = max(np.max(np.abs(hess[which])), 1e-300)
                worst = max(worst, float(np.max(np.abs(Hfd - hess[which][:, cols])) / scale))
            out["fdMaxRelDiff"] = worst
            if worst > 1e-4:
                fail(f"analytic Hessian and finite differences differ by {worst:.3g} of max|H|")

    # Stored sharpness vs dense eigendecomposition.
    fs = art.get("finalSharpness") or {}
    out["stored"] = {"static": fs.get("static"), "dynamic": fs.get("dynamic")}
    out["relErr"] = {}
    for which in ("static", "dynamic"):
        stored = fs.get(which)
        if stored is None:
            fail(f"finalSharpness.{which} is null (not finite)")
            continue
        e = rel_err(float(stored), lam[which])
        out["relErr"][which] = e
        if not e <= rtol:
            fail(f"finalSharpness.{which} = {stored!r}, dense eigvalsh gives {lam[which]!r} (relative error {e:.3g} > {rtol:g})")

    # ---- The record, when there is one.
    if record_path is None:
        base = os.path.dirname(os.path.dirname(os.path.abspath(artifact_path)))
        cand = os.path.join(base, "trials", os.path.basename(artifact_path))
        if os.path.exists(cand):
            record_path = cand
    if record_path is None:
        out["record"] = None
        return out
    out["record"] = record_path
    with open(record_path) as f:
        rec = json.load(f)
    cfg = rec["config"]
    engine = rec.get("engine", {}).get("name", cfg.get("engine"))
    f32 = engine != "reference"
    trial_id = os.path.splitext(os.path.basename(artifact_path))[0]
    if rec.get("trialId") != trial_id:
        fail(f"record trialId {rec.get('trialId')!r} != artifact name {trial_id!r}")
    if not str(rec.get("artifactKey", "")).endswith(f"artifacts/{trial_id}.json"):
        fail(f"record artifactKey {rec.get('artifactKey')!r} does not name this artifact")
    P_formula = (d + 1) * cfg["width"] + (cfg["width"] + 1) * cfg["dataset"]["classes"]
    if rec["params"] != net.P or rec["params"] != P_formula:
        fail(f"record params {rec['params']} vs artifact P {net.P} vs (d+1)w+(w+1)C = {P_formula}")
    if cfg["width"] != w or cfg["loss"] != loss or cfg["dataset"]["classes"] != C:
        fail("record config (width, loss, classes) disagrees with the artifact")

    # Training set: size, class order (arm 0 first), radii r_i = i/(n-1), angular noise.
    ds = cfg["dataset"]
    n = ds["pointsPerClass"]
    # coincident: drop removes every point at an input shared with another label: for the spirals (n >= 2) exactly
    # point i = 0 of every arm, which all lie at the origin (other points of one radius differ in angle by 2 pi j / C).
    arm_i = np.arange(1 if ds.get("coincident") == "drop" else 0, n)
    if N != len(arm_i) * C:
        fail(f"training set has {N} points, expected {len(arm_i) * C} ({n} per arm, coincident {ds.get('coincident', 'keep')})")
    else:
        if not np.array_equal(y, np.repeat(np.arange(C), len(arm_i))):
            fail("training labels are not in arm order 0..C-1, n points each")
        i = np.tile(arm_i, C)
        denom = n - 1 if n > 1 else 1
        r = np.hypot(X[:, 0], X[:, 1])
        rerr = float(np.max(np.abs(r - i / denom)))
        out["radiusMaxErr"] = rerr
        if rerr > 1e-12:
            fail(f"radii differ from i/(n-1) by up to {rerr:.3g}")
        ang = np.arctan2(X[:, 1], X[:, 0])
        base_ang = 2 * np.pi * np.repeat(np.arange(C), len(arm_i)) / C + ds["revolutions"] * np.pi * i / denom
        resid = np.angle(np.exp(1j * (ang - base_ang)))[i > 0]
        out["angularNoiseStd"] = float(np.std(resid))
        if ds["noise"] > 0 and resid.size >= 30 and not (0.5 * ds["noise"] < np.std(resid) < 1.5 * ds["noise"]):
            fail(f"angular noise std {np.std(resid):.3g} far from the configured {ds['noise']}")

    # Final class weights from the schedule.
    final_t = cfg["steps"] if not rec["diverged"] else (rec["curves"]["step"][-1] if rec["curves"]["step"] else 0)
    dyn = loss not in ("ce", "mse")
    g_expected = class_weights(final_t, C, cfg["period"] if dyn else None, cfg["amplitude"] if dyn else None,
                               cfg["shape"], cfg["steps"], cfg["finalStaticSteps"])
    if float(np.max(np.abs(g_expected - gamma))) > 1e-12:
        fail(f"gamma {gamma.tolist()} differs from the schedule at t = {final_t}: {g_expected.tolist()}")

    fin = rec["final"]
    # Accuracy: exact, except float32 engines may flip points whose top-two logits tie within float32 noise.
    if round(fin["trainAcc"] * N) != correct or abs(fin["trainAcc"] - acc) > 1e-12:
        flips = abs(round(fin["trainAcc"] * N) - correct)
        near = int(np.sum(margins < 1e-5 * np.maximum(1.0, np.abs(top2[:, -1]))))
        if f32 and flips <= near:
            out["warnings"].append(f"trainAcc {fin['trainAcc']} vs {acc} explained by {near} near-tied points (float32)")
        else:
            fail(f"final trainAcc {fin['trainAcc']} but the artifact gives {acc}")
    ltol = (1e-4, 1e-6) if f32 else (1e-9, 1e-12)
    for key, val in (("trainLoss", F_dyn), ("trainLossStatic", F_stat)):
        got = fin.get(key)
        if got is None or not abs(got - val) <= ltol[0] * abs(val) + ltol[1]:
            fail(f"final {key} {got!r} but the artifact gives {val!r}")
    if fin.get("sharpnessDynamic") != fs.get("dynamic") or fin.get("sharpnessStatic") != fs.get("static"):
        fail("record final sharpness differs from the artifact's finalSharpness")
    for key in ("trainAcc", "valAcc"):
        if not 0 <= fin[key] <= 1:
            fail(f"final {key} {fin[key]} outside [0, 1]")

    # Curves: equal lengths, increasing steps, ending at the final values.
    cv = rec["curves"]
    lens = {k: len(v) for k, v in cv.items()}
    if len(set(lens.values())) != 1:
        fail(f"curve arrays differ in length: {lens}")
    elif lens["step"] > 0:
        if any(b <= a for a, b in zip(cv["step"], cv["step"][1:])):
            fail("curve steps are not increasing")
        last = {k: v[-1] for k, v in cv.items()}
        if not rec["diverged"] and last["step"] != cfg["steps"]:
            fail(f"last curve step {last['step']} != steps {cfg['steps']}")
        for ck, fk in (("trainLoss", "trainLoss"), ("trainLossStatic", "trainLossStatic"), ("trainAcc", "trainAcc"),
                       ("valLoss", "valLoss"), ("valAcc", "valAcc")):
            if last[ck] != fin[fk]:
                fail(f"curves.{ck} ends at {last[ck]!r}, final.{fk} is {fin[fk]!r}")
    sh = rec["sharpness"]
    # Per-sample arrays have one entry per measurement; the cold checks are a table of their own.
    cold = sh.get("coldChecks", {"step": [], "mismatch": []})
    per_sample = {k: v for k, v in sh.items() if k not in ("coldChecks", "coldMismatches")}
    if len({len(v) for v in cold.values()}) > 1:
        fail("cold-check arrays differ in length")
    elif not set(cold["step"]) <= set(sh["step"]):
        fail("a cold check is at a step with no sharpness sample")
    elif sh.get("coldMismatches", 0) != sum(1 for m in cold["mismatch"] if m):
        fail("coldMismatches does not count the mismatching cold checks")
    if len({len(v) for v in per_sample.values()}) != 1:
        fail("sharpness trace arrays differ in length")
    elif sh["step"] and not rec["diverged"]:
        if sh["step"][-1] != cfg["steps"] or sh["dynamic"][-1] != fs.get("dynamic") or sh["static"][-1] != fs.get("static"):
            fail("sharpness trace does not end at the final sharpness")
        for lam_s, ratio in zip(sh["dynamic"], sh["eosRatio"]):
            if lam_s is not None and ratio is not None and abs(ratio - lam_s * cfg["lr"] / 2) > 1e-12 * max(1.0, abs(ratio)):
                fail("eosRatio != lambda_max * lr / 2")
                break
    if rec["diverged"] != (rec["divergedAtStep"] is not None):
        fail("diverged flag and divergedAtStep disagree")
    if not rec["diverged"] and rec["stepsRun"] != cfg["steps"]:
        fail(f"stepsRun {rec['stepsRun']} != steps {cfg['steps']} for a trial that did not diverge")
    if rec["wallTimeS"] > 0 and abs(rec["stepsPerSecond"] - rec["stepsRun"] / rec["wallTimeS"]) > 1e-6 * rec["stepsPerSecond"] + 1e-9:
        fail("stepsPerSecond != stepsRun / wallTimeS")
    out["engine"] = engine
    out["diverged"] = rec["diverged"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("artifacts", nargs="*", help="artifact JSON files")
    ap.add_argument("--record", help="trial record for a single artifact (default: ../trials/<same name>)")
    ap.add_argument("--sweep", action="append", default=[], help="a sweep's results folder: check every artifacts/*.json")
    ap.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance on lambda_max (default 1e-3)")
    ap.add_argument("--no-fd", action="store_true", help="skip the finite-difference cross-check")
    ap.add_argument("--fd-max-params", type=int, default=2000, help="skip finite differences above this P")
    ap.add_argument("--quiet", action="store_true", help="print only the summary, not every result")
    args = ap.parse_args(argv)
    paths = list(args.artifacts)
    for s in args.sweep:
        paths += sorted(glob.glob(os.path.join(s, "artifacts", "*.json")))
    if not paths:
        ap.print_usage(sys.stderr)
        print("verify_artifact.py: no artifacts given", file=sys.stderr)
        return 2
    if args.record and len(paths) != 1:
        print("verify_artifact.py: --record needs exactly one artifact", file=sys.stderr)
        return 2
    results = []
    for p in paths:
        try:
            results.append(verify(p, args.record, args.rtol, not args.no_fd, args.fd_max_params))
        except Exception as e:  # a malformed file is a failure, not a crash
            results.append({"artifact": p, "ok": False, "failures": [f"{type(e).__name__}: {e}"], "warnings": []})
    failed = sum(1 for r in results if not r["ok"])
    worst = max((e for r in results for e in r.get("relErr", {}).values()), default=None)
    summary = {"ok": failed == 0, "checked": len(results), "failed": failed, "rtol": args.rtol, "maxRelErr": worst}
    if not args.quiet:
        summary["results"] = results
    else:
        summary["failures"] = [{"artifact": r["artifact"], "failures": r["failures"]} for r in results if not r["ok"]]
    json.dump(summary, sys.stdout, allow_nan=False, default=lambda o: None)
    sys.stdout.write("\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
