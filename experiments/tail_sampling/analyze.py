#!/usr/bin/env python3
"""Tail sampling: a 1-in-1,000 bad-debt event by plain Monte Carlo and by importance sampling.

    experiments/tail_sampling/analyze.py --plain results/tail_plain.h5
        --is results/tail_is_0.05.h5 results/tail_is_0.10.h5 results/tail_is_0.15.h5
        --reference results/tail_is_ref.h5 [--main-shift -0.10] [--n 1000]
        [--figure experiments/tail_sampling/tail_sampling.png]

Reads the runs of tail_1h.yaml that experiments/tail_sampling/reproduce makes
(one scenario each) with analysis/defisim, prints markdown tables, draws the
figure. Exit status: 0 if every check passes, 1 if one fails, 2 on unusable
input.

The event: E = {L > X} with X = 0 (any bad debt at all), where per path
L = bank.bad_debt + bank.underwater_debt, USDC (as experiments/crash_stress).
p = P(E) under the configured price process (GBM, median fall 23.5% in an hour,
sigma 3.0/yr), about 1e-3.

Runs (all one scenario of tail_1h.yaml):
  --plain      plain Monte Carlo, seed 20200312, 40,000 paths. Its first n = 1,000
               paths are the plain estimate at equal paths (a run with --paths 1000
               gives them bit for bit); all of them are the brute-force check.
  --is         importance sampling (experiment.importance_sampling.shift_log_return.ETH
               = shift), n = 1,000 paths each, the same seed: path i has path i's
               population, delays and price normals, each normal shifted by theta.
  --reference  importance sampling at --main-shift with 20,000 paths and ANOTHER seed
               (20200313): independent of every other run.

Estimators (95% intervals unless said):
  plain        p^ = k / n, Wilson score interval (defisim.stats.probability_ci).
  IS           the unbiased estimator p^ = (1/n) sum_i w_i 1{E_i}, w_i the stored likelihood
               ratio dP/dQ (sampling.likelihood_ratio, Results.weights), normal interval
               p^ +- 1.96 SE, SE = sd(w 1{E}) / sqrt(n) (defisim.stats.mean_ci of w 1{E}).
               Why not the package's weighted (self-normalised) estimators, sum w 1{E} / sum w,
               Wilson with Kish's n_eff = (sum w)^2 / sum w^2: they divide by sum w, and under a
               tilt that puts the tilted median at the event, the weights are lognormal with
               log-sd |a| ~ 3.1 (a = shift / (sigma sqrt T)), E_Q[w^2] = e^(a^2) ~ 17,000, so
               sum w / n is the noisiest number in the run (typically ~0.7 at n = 1,000 and
               one path can hold most of it) and n_eff is single digits. The unbiased estimator
               only involves the event's paths, whose weights are small and well behaved.
               Both self-normalised versions are printed for comparison.
  ESS          Kish: (sum w)^2 / sum w^2 over all paths, and over the event's paths (of w 1{E}).
  variance reduction  p (1 - p) / var(w 1{E}): how many plain paths one tilted path is worth.

The price model (framework/core/price_process.hpp, one asset): the log price after
N blocks is ln S0 + N (mu - sigma^2/2) dt + sigma sqrt(dt) sum z_i; importance sampling
draws z_i = e_i + theta with theta = shift / (N sigma sqrt(dt)) and stores
w = exp(N theta^2 / 2 - theta sum z_i) (framework/engine/world.cpp). The final
reference price therefore determines sum z_i and w exactly, and the final log return
is N(m, s^2) under P and N(m + shift, s^2) under the tilt, m = N (mu - sigma^2/2) dt,
s = sigma sqrt(N dt).

Checks (each an expectation from theory; exit 1 if one fails):
  1. Likelihood ratios: in every importance-sampled run, each path's stored log w equals
     N theta^2 / 2 - theta sum z_i rebuilt from its final reference price (absolute 1e-9);
     the plain runs store none.
  2. The tilt is the configured one: in every run the standardised final log return
     (ln(S_T / S0) - m - shift) / s has mean 0 and sd 1 within 3 SE (SE 1/sqrt(n) and
     1/sqrt(2n)).
  3. Mean likelihood ratio 1 within 3 SE, in the runs where theory says the sample SE
     is trustworthy: var_Q(w) = e^(a^2) - 1 is finite for any shift, but the sample mean
     of a lognormal with log-sd |a| is near-normal only when n >> e^(a^2); checked where
     n >= 10 e^(a^2) (the mildest shift), reported (with the ESS) elsewhere.
  4. A closed form: every run's estimate of P(S_T / S0 < 0.69) (ETH ends 31% down, where
     the riskiest position, loan-to-value 0.69, is underwater even without a liquidation)
     is within 3 SE of Phi((ln 0.69 - m) / s) = 6.4e-4 (plain: the 99.73% Wilson interval
     contains it). The same kind of 1-in-1,000 price event, with a known answer.
  5. Agreement with the reference: plain (first n paths and all 40,000; 99.73% Wilson
     interval contains the reference value) and every importance-sampled run at n paths
     (|p^ - p_ref| <= 3 sqrt(SE^2 + SE_ref^2)).
  6. At n paths the importance-sampling 95% interval (main shift) is narrower than the
     plain Wilson 95% interval by more than a factor 3, and so is its SE than the plain
     SE at the reference value, sqrt(p_ref (1 - p_ref) / n). Theory for an event that is a
     sharp threshold of the final price, with the tilted median on it: 18x in SE at
     p = 9e-4; the event here is blurred by the path (liquidations below
     p0 x 0.69 x 1.05 can push a position underwater), so less is expected, but not 6x less.
  7. The tilted paths see the event far more often: at the main shift at least 20% of them
     (the tilted median sits on the event's edge, so theory says about half) and at least
     100 times the reference probability.

Needs numpy, h5py, matplotlib and yaml (Debian: python3-numpy python3-h5py
python3-matplotlib python3-yaml).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "analysis"))

try:
    import numpy as np
    import yaml
    from defisim import open_results, stats  # noqa: E402
    from defisim.experiment import InputError, exit_status  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with a python3 that has numpy, h5py, "
             "matplotlib and yaml (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib "
             "python3-yaml)")

SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0  # framework/core/units.hpp
ASSET = "ETH"
EVENT_X = 0.0            # the event: L > EVENT_X USDC (any bad debt)
LEVEL = 0.95
Z_CHECK = 3.0
LEVEL_CHECK = 2.0 * stats.normal_cdf(Z_CHECK) - 1.0   # 99.73%
LR_TOLERANCE = 1e-9      # absolute, on log w
CLOSED_FORM_RATIO = 0.69
NARROWER_FACTOR = 3.0
MIN_TILTED_SHARE = 0.20
TILTED_OVER_PLAIN = 100.0
MEAN_W_RELIABLE = 10.0   # check 3 where n >= MEAN_W_RELIABLE x e^(a^2)
EXCEEDANCE_XS = (0.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0)
TABLE_SHIFTS = (0.0, -0.02, -0.04, -0.05, -0.06, -0.08, -0.10, -0.12, -0.14, -0.15, -0.16, -0.18)


@dataclass
class Run:
    path: str
    n: int
    seed: int
    shift: float              # 0 for plain
    weighted: bool
    loss: np.ndarray          # L per path, USDC
    w: Optional[np.ndarray]   # likelihood ratios, None for plain
    log_return: np.ndarray    # ln(S_T / S0)
    peak_gas: np.ndarray
    liquidations: np.ndarray
    m: float                  # mean of the final log return under P
    s: float                  # its sd
    theta: float              # tilt per normal
    drift_step: float
    vol_step: float
    blocks: int
    wall: Optional[float]
    threads: Optional[int]
    revision: str

    @property
    def a(self) -> float:
        """The tilt in standard deviations of the one-hour log return."""
        return self.shift / self.s

    @property
    def event(self) -> np.ndarray:
        return self.loss > EVENT_X

    def prefix(self, n: int) -> "Run":
        """The first n paths (a run with --paths n gives them bit for bit)."""
        if n > self.n:
            raise InputError(f"{self.path} has {self.n} paths, fewer than {n}")
        fields = dict(self.__dict__)
        fields.update(n=n, loss=self.loss[:n], w=None if self.w is None else self.w[:n],
                      log_return=self.log_return[:n], peak_gas=self.peak_gas[:n],
                      liquidations=self.liquidations[:n])
        return Run(**fields)


def load(path: str) -> Run:
    with open_results(path) as r:
        if len(r.scenarios()) != 1:
            raise InputError(f"{path}: expected one scenario, found {len(r.scenarios())}")
        config = yaml.safe_load(r.config)
        price = config.get("price", {})
        if price.get("process") != "gbm" or list(price.get("initial", {})) != [ASSET]:
            raise InputError(f"{path}: expected a one-asset gbm price for {ASSET}")
        sigma = float(price["volatility"][ASSET])
        mu = float(price["drift"][ASSET])
        s0 = float(price["initial"][ASSET])
        blocks = int(r.attrs["blocks"])
        dt = float(r.attrs["block_time_seconds"]) / SECONDS_PER_YEAR
        sampling = (config["experiment"].get("importance_sampling") or {}).get("shift_log_return") or {}
        shift = float(sampling.get(ASSET, 0.0))
        outcomes = r.outcomes(0)
        loss = outcomes["bank.bad_debt"] + outcomes["bank.underwater_debt"]
        w = r.weights(0)
        if (w is not None) != bool(sampling):
            raise InputError(f"{path}: likelihood ratios {'present' if w is not None else 'missing'} but "
                             f"importance sampling {'on' if sampling else 'off'} in its config")
        samples, ref = r.series(0, f"reference.{ASSET}")
        if int(samples[-1]) != blocks:
            raise InputError(f"{path}: the last reference.{ASSET} sample is block {samples[-1]}, not {blocks} "
                             "(record.every must divide the blocks)")
        drift_step = (mu - 0.5 * sigma * sigma) * dt
        vol_step = sigma * math.sqrt(dt)
        info = r.run_info
        return Run(path=path, n=len(loss), seed=int(r.attrs["seed"]), shift=shift, weighted=w is not None,
                   loss=loss, w=w, log_return=np.log(ref[:, -1] / s0),
                   peak_gas=outcomes["chain.peak_base_gas_price_gwei"],
                   liquidations=outcomes["bank.liquidations"],
                   m=blocks * drift_step, s=vol_step * math.sqrt(blocks),
                   theta=shift / (blocks * vol_step), drift_step=drift_step, vol_step=vol_step, blocks=blocks,
                   wall=float(info["wall_seconds"]) if "wall_seconds" in info else None,
                   threads=int(info["threads"]) if "threads" in info else None,
                   revision=str(r.attrs.get("source_revision", "?")))


# --------------------------------------------------------------------------- estimators

def plain_estimate(event: np.ndarray, level: float = LEVEL) -> "stats.Estimate":
    return stats.probability_ci(event, level=level)


def is_estimate(run: Run, event: Optional[np.ndarray] = None, level: float = LEVEL) -> "stats.Estimate":
    """Unbiased importance-sampling estimate (1/n) sum w 1{E}, normal interval."""
    e = run.event if event is None else event
    return stats.mean_ci(run.w * e, level=level)


def self_normalised(event, w, level):
    """sum w 1{E} / sum w with its delta-method SE: the self-normalised estimator
    (analysis/defisim used it before it switched to the unbiased one), for comparison."""
    e = np.asarray(event, dtype=float)
    total = float(w.sum())
    p = float(w @ e) / total
    n = len(e)
    se = math.sqrt(n / (n - 1) * float((w * w) @ (e - p) ** 2)) / total
    z = stats.z_value(level)
    return stats.Estimate(p, p - z * se, p + z * se, se, level, n, "normal, self-normalised", ess(w))


def self_normalised_wilson(event, w, level):
    """The same estimate with a Wilson interval on Kish's effective sample size."""
    e = np.asarray(event, dtype=float)
    p = float(w @ e) / float(w.sum())
    n_eff = ess(w)
    lo, hi = stats.wilson_interval(p * n_eff, n_eff, level)
    return stats.Estimate(p, lo, hi, math.sqrt(p * (1 - p) / n_eff), level, len(e), "wilson, effective n", n_eff)


def estimate(run: Run, event: Optional[np.ndarray] = None, level: float = LEVEL) -> "stats.Estimate":
    e = run.event if event is None else event
    return is_estimate(run, e, level) if run.weighted else plain_estimate(e, level)


def ess(weights: np.ndarray) -> float:
    total = float(weights.sum())
    return total * total / float(np.dot(weights, weights)) if total > 0 else 0.0


def fmt_p(x: float) -> str:
    if not math.isfinite(x):
        return "open"
    return f"{x:.3g}" if x != 0 else "0"


def fmt_ci(e) -> str:
    return f"{fmt_p(e.value)} [{fmt_p(e.lo)}, {fmt_p(e.hi)}]"


def exceedance(run: Run, xs: np.ndarray, level: float = LEVEL):
    """P(L > x) on a grid with pointwise intervals (Wilson for plain, normal for IS)."""
    hits = run.loss[None, :] > xs[:, None]
    if run.weighted:
        v = hits * run.w[None, :]
        p = v.mean(axis=1)
        se = v.std(axis=1, ddof=1) / math.sqrt(run.n)
        z = stats.z_value(level)
        return p, np.maximum(p - z * se, 0.0), p + z * se
    k = hits.sum(axis=1)
    lo, hi = stats.wilson_interval(k, run.n, level)
    return k / run.n, np.asarray(lo), np.asarray(hi)


def width_vs_paths(run: Run, ns: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """95% interval width of the first-n-paths estimate, for each n."""
    e = run.event.astype(float)
    if run.weighted:
        v = run.w * e
        c1, c2 = np.cumsum(v)[ns - 1], np.cumsum(v * v)[ns - 1]
        var = np.maximum(c2 - c1 * c1 / ns, 0.0) / (ns - 1)
        return 2.0 * stats.z_value(level) * np.sqrt(var / ns)
    k = np.cumsum(e)[ns - 1]
    lo, hi = stats.wilson_interval(k, ns, level)
    return np.asarray(hi) - np.asarray(lo)


def reweighted_rel_sd(reference: Run, shifts: np.ndarray, p: float):
    """sd(w' 1{E}) / p per path for tilts by `shifts`, estimated from the reference run.

    w' = dP/dQ' depends on the final log return only, so E_Q'[w'^2 1{E}] = E_P[w' 1{E}]
    = E_Q[w w' 1{E}] is a mean over the reference's paths. Returns (rel_sd, rel_se_of_second_moment)."""
    lr, v = reference.log_return, reference.w * reference.event
    out, err = [], []
    for shift in shifts:
        w_new = np.exp(-(shift / reference.s ** 2) * (lr - reference.m) + shift * shift / (2 * reference.s ** 2))
        terms = v * w_new
        second = float(terms.mean())
        out.append(math.sqrt(max(second - p * p, 0.0)) / p)
        err.append(float(terms.std(ddof=1)) / math.sqrt(reference.n) / second if second > 0 else float("nan"))
    return np.array(out), np.array(err)


def threshold_rel_sd(a: np.ndarray, p: float) -> np.ndarray:
    """sd(w 1{E}) / p per path if E were {Z < -b}, Phi(-b) = p, Z the standardised final log return,
    sampled with the mean moved by a (< 0) sd: E_Q[w^2 1{E}] = e^(a^2) Phi(-b + a)."""
    b = -stats.normal_ppf(p)
    second = np.array([math.exp(x * x) * stats.normal_cdf(-b + x) for x in np.atleast_1d(a)])
    return np.sqrt(np.maximum(second - p * p, 0.0)) / p


# --------------------------------------------------------------------------- checks

def check_likelihood_ratios(runs: Sequence[Run]) -> List[str]:
    bad = []
    for run in runs:
        if not run.weighted:
            continue
        sum_z = (run.log_return - run.blocks * run.drift_step) / run.vol_step
        model = run.blocks * run.theta * run.theta / 2.0 - run.theta * sum_z
        with np.errstate(divide="ignore"):
            gap = np.abs(np.log(run.w) - model)
        if not np.all(gap <= LR_TOLERANCE):
            bad.append(f"  {run.path}: max |log w - model| = {np.nanmax(gap):.3g} (> {LR_TOLERANCE:g}) "
                       f"on {int(np.sum(~(gap <= LR_TOLERANCE)))} paths")
    return bad


def check_tilt(runs: Sequence[Run]) -> List[str]:
    bad = []
    for run in runs:
        zs = (run.log_return - run.m - run.shift) / run.s
        mean, sd = float(zs.mean()), float(zs.std(ddof=1))
        if abs(mean) > Z_CHECK / math.sqrt(run.n) or abs(sd - 1.0) > Z_CHECK / math.sqrt(2.0 * run.n):
            bad.append(f"  {run.path} (shift {run.shift:+g}): standardised final log return mean {mean:+.4f}, "
                       f"sd {sd:.4f}; allowed +-{Z_CHECK / math.sqrt(run.n):.4f} and "
                       f"1 +- {Z_CHECK / math.sqrt(2 * run.n):.4f}")
    return bad


def mean_w_checkable(run: Run) -> bool:
    return run.weighted and run.n >= MEAN_W_RELIABLE * math.exp(run.a * run.a)


def check_mean_weight(runs: Sequence[Run]) -> List[str]:
    bad = []
    for run in runs:
        if not mean_w_checkable(run):
            continue
        est = stats.mean_ci(run.w)
        if abs(est.value - 1.0) > Z_CHECK * est.se:
            bad.append(f"  {run.path} (shift {run.shift:+g}): mean w {est.value:.4f} +- {est.se:.4f}")
    return bad


def closed_form_value(run: Run) -> float:
    return stats.normal_cdf((math.log(CLOSED_FORM_RATIO) - run.m) / run.s)


def check_closed_form(runs: Sequence[Run]) -> List[str]:
    bad = []
    for run in runs:
        truth = closed_form_value(run)
        event = run.log_return < math.log(CLOSED_FORM_RATIO)
        if run.weighted:
            est = is_estimate(run, event)
            ok = abs(est.value - truth) <= Z_CHECK * est.se
        else:
            est = plain_estimate(event, LEVEL_CHECK)
            ok = est.lo <= truth <= est.hi
        if not ok:
            bad.append(f"  {run.path} (shift {run.shift:+g}, {run.n} paths): {fmt_p(est.value)} "
                       f"(SE {fmt_p(est.se)}) vs closed form {fmt_p(truth)}")
    return bad


def check_agreement(estimates: Dict[str, tuple], ref) -> List[str]:
    bad = []
    for label, (run, est, est_check) in estimates.items():
        if run.weighted:
            ok = abs(est.value - ref.value) <= Z_CHECK * math.hypot(est.se, ref.se)
        else:
            ok = est_check.lo <= ref.value <= est_check.hi
        if not ok:
            bad.append(f"  {label}: {fmt_ci(est)} vs reference {fmt_p(ref.value)} +- {fmt_p(ref.se)}")
    return bad


# --------------------------------------------------------------------------- figure

def figure(png_path: str, plain: Run, plain_n: Run, is_runs: Sequence[Run], main_run: Run, reference: Run,
           ref_est, rows: List[dict], shift_grid: np.ndarray, predicted: np.ndarray, predicted_err: np.ndarray
           ) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"plain": "#444444", "plain_big": "#1f77b4", "ref": "#2ca02c"}
    shift_colors = ["#9467bd", "#d62728", "#ff7f0e", "#8c564b"]
    shift_color = {r.shift: shift_colors[i % len(shift_colors)] for i, r in enumerate(is_runs)}

    fig, axes = plt.subplots(2, 3, figsize=(19, 10))

    # A: where the event lives: final fall of ETH, sampled by P and by the tilts; P(E | fall)
    ax = axes[0, 0]
    falls = np.linspace(0.10, 0.45, 71)
    edges = np.log(1.0 - falls[::-1])                          # increasing log returns
    centres = 0.5 * (edges[1:] + edges[:-1])
    fall_c = 100.0 * (1.0 - np.exp(centres))
    width = edges[1] - edges[0]

    def density(lr):
        h, _ = np.histogram(lr, bins=edges)
        return h / (len(lr) * width)
    ax.plot(fall_c, density(plain.log_return), color=colors["plain"], lw=1.8,
            label=f"plain paths ({plain.n:,})")
    for run in is_runs:
        ax.plot(fall_c, density(run.log_return), color=shift_color[run.shift], lw=1.2,
                label=f"tilted, shift {run.shift:+.2f} ({run.n:,})")
    ax.set_xlabel("fall of ETH over the hour, % (1 - S_T / S_0)")
    ax.set_ylabel("density of ln(S_T / S_0)")
    ax.set_xlim(falls[0] * 100, falls[-1] * 100)
    ax2 = ax.twinx()
    pooled_lr = np.concatenate([plain.log_return, reference.log_return] + [r.log_return for r in is_runs])
    pooled_e = np.concatenate([plain.event, reference.event] + [r.event for r in is_runs])
    idx = np.digitize(pooled_lr, edges) - 1
    inside = (idx >= 0) & (idx < len(centres))
    k = np.bincount(idx[inside], weights=pooled_e[inside].astype(float), minlength=len(centres))
    cnt = np.bincount(idx[inside], minlength=len(centres)).astype(float)
    ok = cnt >= 50
    lo, hi = stats.wilson_interval(k[ok], cnt[ok], LEVEL)
    ax2.plot(fall_c[ok], k[ok] / cnt[ok], color="black", ls="--", lw=1.2, label="P(L > 0 | fall), all runs pooled")
    ax2.fill_between(fall_c[ok], lo, hi, color="black", alpha=0.12, linewidth=0)
    ax2.set_ylim(0, 1.02)
    ax2.set_ylabel("P(any bad debt | fall)")
    for f, text in ((1 - CLOSED_FORM_RATIO * 1.05, "0.69 x 1.05"), (1 - CLOSED_FORM_RATIO, "0.69")):
        ax.axvline(100 * f, color="black", lw=0.7, alpha=0.5)
        ax.text(100 * f, ax.get_ylim()[1] * 0.5, f"S_T/S_0 = {text} ", fontsize=7, va="top", rotation=90,
                ha="right")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7.5, loc="upper left")
    ax.set_title("A. Where the event lives: the tilt moves the paths onto it", fontsize=10)
    ax.grid(alpha=0.3)

    # B: exceedance P(L > x)
    ax = axes[0, 1]
    xs = np.arange(0.0, 4000.0 + 1.0, 10.0)
    curves = ((plain_n, f"plain, {plain_n.n:,} paths (Wilson)", colors["plain"], 2.0),
              (plain, f"plain, {plain.n:,} paths (Wilson)", colors["plain_big"], 1.2),
              (main_run, f"IS shift {main_run.shift:+.2f}, {main_run.n:,} paths", shift_color[main_run.shift], 2.0),
              (reference, f"reference: IS {reference.shift:+.2f}, {reference.n:,} paths, other seed", colors["ref"],
               1.2))
    for run, label, color, lw in curves:
        p, lo, hi = exceedance(run, xs)
        shown = p > 0
        ax.step(xs[shown], p[shown], where="post", color=color, lw=lw, label=label)
        ax.fill_between(xs, np.maximum(lo, 1e-9), hi, step="post", color=color, alpha=0.15, linewidth=0)
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1e-2)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_xlabel("x, USDC")
    ax.set_ylabel("P(L > x)")
    ax.set_title("B. Exceedance of bad debt L, 95% pointwise bands", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper right")
    ax.grid(alpha=0.3, which="both")

    # C: the estimates of p at n paths
    ax = axes[1, 0]
    ax.axvspan(ref_est.lo, ref_est.hi, color=colors["ref"], alpha=0.25, linewidth=0)
    ax.axvline(ref_est.value, color=colors["ref"], lw=1.2)
    ys = np.arange(len(rows))[::-1]
    for y, row in zip(ys, rows):
        e = row["est"]
        ax.errorbar([max(e.value, 1e-9)], [y], xerr=[[max(e.value, 1e-9) - max(e.lo, 1e-9)],
                                                    [e.hi - max(e.value, 1e-9)]],
                    fmt="o", color=row["color"], capsize=3, ms=5)
        ax.text(1.3e-6, y + 0.22, row["short"], fontsize=7.5, va="bottom")
    ax.set_xscale("log")
    ax.set_xlim(1e-6, 1.0)
    ax.set_ylim(-0.7, len(rows) - 0.2)
    ax.set_yticks([])
    ax.set_xlabel(f"P(L > {EVENT_X:g}), estimate and 95% interval")
    ax.set_title(f"C. Estimates of P(any bad debt); green: reference {fmt_ci(ref_est)}", fontsize=10)
    ax.grid(alpha=0.3, which="both", axis="x")

    # D: interval width vs paths
    ax = axes[1, 1]
    p_ref = ref_est.value
    z = stats.z_value(LEVEL)
    ns_plain = np.unique(np.round(np.geomspace(100, plain.n, 40)).astype(int))
    ax.plot(ns_plain, width_vs_paths(plain, ns_plain) / p_ref, color=colors["plain_big"], lw=1.5,
            label=f"plain (Wilson), first n of {plain.n:,} paths")
    ax.plot(ns_plain, 2 * z * np.sqrt(p_ref * (1 - p_ref) / ns_plain) / p_ref, color=colors["plain_big"], ls=":",
            lw=1.2, label="plain, 2 x 1.96 sqrt(p (1-p) / n)")
    ns_is = np.unique(np.round(np.geomspace(100, reference.n, 40)).astype(int))
    ax.plot(ns_is, width_vs_paths(reference, ns_is) / p_ref, color=colors["ref"], lw=1.5,
            label=f"IS {reference.shift:+.2f}, first n of the reference's {reference.n:,}")
    sd_ref = float((reference.w * reference.event).std(ddof=1))
    ax.plot(ns_is, 2 * z * sd_ref / np.sqrt(ns_is) / p_ref, color=colors["ref"], ls=":", lw=1.2,
            label="IS, 2 x 1.96 sd(w 1{E}) / sqrt(n)")
    for run in is_runs:
        ns = np.unique(np.round(np.geomspace(100, run.n, 12)).astype(int))
        ax.plot(ns, width_vs_paths(run, ns) / p_ref, color=shift_color[run.shift], lw=1.0, marker="o", ms=2.5,
                label=f"IS {run.shift:+.2f}, first n of {run.n:,}")
    ax.axhline(1.0, color="black", lw=0.6, alpha=0.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("paths n")
    ax.set_ylabel("95% interval width / reference p")
    ax.set_title("D. Interval width vs paths (1 = as wide as p itself)", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper right")
    ax.grid(alpha=0.3, which="both")

    # E: SE per path vs shift
    ax = axes[0, 2]
    p_ref = ref_est.value
    ax.plot(-shift_grid, predicted, color=colors["ref"], lw=1.8,
            label="this event, from the reference's paths (reweighted)")
    ax.fill_between(-shift_grid, predicted * np.sqrt(np.maximum(1 - predicted_err, 0.05)),
                    predicted * np.sqrt(1 + predicted_err), color=colors["ref"], alpha=0.2, linewidth=0)
    ax.plot(-shift_grid, threshold_rel_sd(shift_grid / reference.s, p_ref), color="black", ls="--", lw=1.2,
            label="a sharp threshold of the final price, same p")
    for run in is_runs:
        v = run.w * run.event
        ax.plot([-run.shift], [float(v.std(ddof=1) / v.mean())], "o", color=shift_color[run.shift], ms=6,
                label=f"IS {run.shift:+.2f}: sample value at {run.n:,} paths")
    ax.plot([0.0], [math.sqrt((1 - p_ref) / p_ref)], "s", color=colors["plain"], ms=6,
            label="plain: sqrt((1 - p) / p)")
    ax.set_yscale("log")
    ax.set_ylim(1.0, 200.0)
    ax.set_xlim(-0.005, float(-shift_grid.min()) + 0.005)
    top = ax.secondary_xaxis("top", functions=(lambda x: x / reference.s, lambda x: x * reference.s))
    top.set_xlabel("tilt, sd of the one-hour log return", fontsize=8)
    ax.set_xlabel("tilt: -shift_log_return.ETH")
    ax.set_ylabel("sd(w 1{E}) / p per path (SE x sqrt(n) / p)")
    ax.set_title("E. Relative error per path vs the tilt", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper center")
    ax.grid(alpha=0.3, which="both")

    # F: the weights
    ax = axes[1, 2]
    bins = np.linspace(-8, 4, 61)
    for run, color, label in ((main_run, shift_color[main_run.shift], f"IS {main_run.shift:+.2f}, {main_run.n:,}"),
                              (reference, colors["ref"], f"reference, {reference.n:,}")):
        lw = np.log10(run.w)
        ax.hist(lw, bins=bins, histtype="step", color=color, lw=1.5, density=True,
                label=f"{label}: all paths (Kish n_eff {ess(run.w):.1f})")
        ax.hist(lw[run.event], bins=bins, histtype="stepfilled", color=color, alpha=0.25, density=True,
                weights=np.full(int(run.event.sum()), run.event.mean()),
                label=f"{label}: paths with E (n_eff of w 1{{E}} {ess(run.w * run.event):.0f})")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 2.0)
    ax.set_xlabel("log10 likelihood ratio w = dP/dQ")
    ax.set_ylabel("density (event part scaled by its share)")
    ax.set_title("F. Weights: the event's are small; the sum is carried by rare large ones", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper right")
    ax.grid(alpha=0.3, which="both")

    fig.suptitle("Tail sampling: P(any bad debt) in an hour when ETH's median fall is 23.5% (sigma 3.0/yr), "
                 "crash_stress's market (LT 0.80, bonus 5%): plain Monte Carlo vs importance sampling",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(png_path, dpi=100, metadata={"Software": None})
    plt.close(fig)


# --------------------------------------------------------------------------- main

def describe(run: Run) -> str:
    kind = f"importance sampling, shift {run.shift:+g}" if run.weighted else "plain"
    wall = f", {run.wall:.1f} s on {run.threads} thread(s)" if run.wall is not None else ""
    return f"{run.path}: {kind}, {run.n:,} paths, seed {run.seed} ({run.revision}{wall})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    results = os.path.join(REPO, "results")
    parser.add_argument("--plain", default=os.path.join(results, "tail_plain.h5"))
    parser.add_argument("--is", dest="is_files", nargs="+",
                        default=[os.path.join(results, f"tail_is_{s}.h5") for s in ("0.05", "0.10", "0.15")])
    parser.add_argument("--reference", default=os.path.join(results, "tail_is_ref.h5"))
    parser.add_argument("--main-shift", type=float, default=-0.10)
    parser.add_argument("--n", type=int, default=1000, help="paths of the equal-n comparison")
    parser.add_argument("--figure", default=os.path.join(HERE, "tail_sampling.png"))
    args = parser.parse_args(argv)
    try:
        plain = load(args.plain)
        is_runs = sorted((load(p) for p in args.is_files), key=lambda r: -r.shift)
        reference = load(args.reference)
        if plain.weighted:
            raise InputError(f"{args.plain} is importance-sampled; --plain must be a plain run")
        if not reference.weighted or any(not r.weighted for r in is_runs):
            raise InputError("--is and --reference must be importance-sampled runs")
        if reference.seed in {plain.seed} | {r.seed for r in is_runs}:
            raise InputError(f"the reference must use another seed than the other runs (all {reference.seed})")
        mains = [r for r in is_runs if abs(r.shift - args.main_shift) < 1e-12]
        if not mains:
            raise InputError(f"no --is run has the main shift {args.main_shift:+g}")
        main_run = mains[0]
        plain_n = plain.prefix(args.n)
        is_n = [r.prefix(args.n) if r.n > args.n else r for r in is_runs]
        if any(r.n != args.n for r in is_n):
            raise InputError(f"every --is run needs {args.n} paths")
        for r in is_runs + [reference]:
            if abs(r.m - plain.m) > 1e-12 or abs(r.s - plain.s) > 1e-12:
                raise InputError(f"{r.path}: another price process than {plain.path}")
    except (OSError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    main_n = [r for r in is_n if r.shift == main_run.shift][0]

    for run in [plain] + is_runs + [reference]:
        print("# " + describe(run))
    print(f"\nEvent E: L > {EVENT_X:g} USDC (any bad debt), L = bank.bad_debt + bank.underwater_debt. "
          f"Final log return under P: N({plain.m:.4f}, {plain.s:.5f}^2) (median fall "
          f"{1 - math.exp(plain.m):.1%}).")

    ref = is_estimate(reference)
    p_ref = ref.value
    plain_est = plain_estimate(plain_n.event)
    plain_big = plain_estimate(plain.event)

    # ---- table 1: the estimates at equal n
    print(f"\n### P(any bad debt in the hour), {args.n:,} paths each (95% intervals)\n")
    print("| estimator | paths | paths with E | estimate [95% CI] | SE | CI width | plain width / this |")
    print("|---|---:|---:|---|---:|---:|---:|")
    plain_width = plain_est.hi - plain_est.lo
    rows = []

    def add(label, short, run, est, color, n_event):
        width = est.hi - est.lo
        print(f"| {label} | {run.n:,} | {n_event:,} | {fmt_ci(est)} | {fmt_p(est.se)} | {fmt_p(width)} | "
              f"{plain_width / width:.1f} |")
        rows.append({"short": short, "est": est, "color": color})

    add("plain Monte Carlo, Wilson", f"plain, {plain_n.n:,} paths (Wilson)", plain_n, plain_est, "#444444",
        int(plain_n.event.sum()))
    shift_colors = ["#9467bd", "#d62728", "#ff7f0e", "#8c564b"]
    for i, run in enumerate(is_n):
        add(f"IS shift {run.shift:+.2f} ({run.a:+.2f} sd), unbiased mean of w 1{{E}}, normal",
            f"IS shift {run.shift:+.2f}, {run.n:,} paths (unbiased)", run, is_estimate(run),
            shift_colors[i % len(shift_colors)], int(run.event.sum()))
    sn_delta = self_normalised(main_n.event, main_n.w, LEVEL)
    sn_wilson = self_normalised_wilson(main_n.event, main_n.w, LEVEL)
    add(f"IS shift {main_n.shift:+.2f}, self-normalised, delta-method SE",
        f"IS {main_n.shift:+.2f}, self-normalised, delta SE", main_n, sn_delta, "#bbbbbb", int(main_n.event.sum()))
    add(f"IS shift {main_n.shift:+.2f}, self-normalised, Wilson on Kish n_eff",
        f"IS {main_n.shift:+.2f}, self-normalised, Wilson on n_eff {sn_wilson.ess:.0f}", main_n, sn_wilson,
        "#bbbbbb", int(main_n.event.sum()))
    add(f"plain Monte Carlo, all {plain.n:,} paths", f"plain, {plain.n:,} paths (Wilson)", plain, plain_big,
        "#1f77b4", int(plain.event.sum()))
    add(f"reference: IS shift {reference.shift:+.2f}, {reference.n:,} paths, seed {reference.seed}",
        f"reference, IS {reference.shift:+.2f}, {reference.n:,} paths", reference, ref, "#2ca02c",
        int(reference.event.sum()))
    ref_sn = self_normalised(reference.event, reference.w, LEVEL)
    print(f"\nThe reference's own self-normalised estimate: {fmt_ci(ref_sn)} (sum w / n = "
          f"{reference.w.mean():.3f}, Kish n_eff {ess(reference.w):.1f} of {reference.n:,}).")

    # ---- table 2: importance-sampling diagnostics
    print("\n### Importance-sampling diagnostics\n")
    print("| run | shift (sd) | tilted median fall | share of paths with E | mean w +- SE | E_Q[w^2] = e^(a^2) "
          "| Kish n_eff | n_eff of w 1{E} | largest w 1{E} / sum | sd(w 1{E}) / p | variance reduction "
          "| plain paths for this SE |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for run in is_n + [reference]:
        v = run.w * run.event
        p = float(v.mean())
        sd = float(v.std(ddof=1))
        mean_w = stats.mean_ci(run.w)
        vr = p_ref * (1 - p_ref) / (sd * sd) if sd > 0 else float("inf")
        print(f"| {run.path.split('/')[-1]} ({run.n:,}) | {run.shift:+.2f} ({run.a:+.2f}) | "
              f"{1 - math.exp(run.m + run.shift):.1%} | {run.event.mean():.3f} | "
              f"{mean_w.value:.3f} +- {mean_w.se:.3f} | {math.exp(run.a * run.a):,.3g} | {ess(run.w):.1f} | "
              f"{ess(v):.1f} | {v.max() / v.sum():.3f} | {sd / p:.2f} | {vr:.0f} | {run.n * vr:,.0f} |")
    print(f"\nPlain: sd(1{{E}}) / p = sqrt((1 - p) / p) = {math.sqrt((1 - p_ref) / p_ref):.1f} at the reference p. "
          f"Mean peak gas price: plain {plain.peak_gas.mean():.0f} gwei; "
          + ", ".join(f"shift {r.shift:+.2f} {r.peak_gas.mean():.0f}" for r in is_n) + " gwei.")
    above = reference.event & (reference.log_return > math.log(CLOSED_FORM_RATIO))
    share_above = float((reference.w * above).sum() / (reference.w * reference.event).sum())
    print(f"Share of p from paths that END above S_0 x {CLOSED_FORM_RATIO} (reference run): {share_above:.1%} "
          "(a liquidation below S_0 x 0.69 x 1.05, perhaps during a deeper dip, pushed a position "
          "underwater).")

    # ---- relative error per path vs the tilt, from the reference's paths
    shift_grid = -np.round(np.arange(0.0, 0.1801, 0.005), 3)
    predicted, predicted_err = reweighted_rel_sd(reference, shift_grid, p_ref)
    print("\n### Relative error per path, sd(w 1{E}) / p, vs the tilt (reweighting the reference's paths; "
          "plain = shift 0)\n")
    print("| shift | sd | this event (reference reweighted) | sharp threshold of the final price | "
          "variance reduction vs plain |")
    print("|---:|---:|---:|---:|---:|")
    plain_rel = math.sqrt((1 - p_ref) / p_ref)
    for shift, rel, err in zip(shift_grid, predicted, predicted_err):
        if not any(abs(shift - t) < 1e-9 for t in TABLE_SHIFTS):
            continue
        print(f"| {shift + 0.0:+.2f} | {shift / reference.s + 0.0:+.2f} | {rel:.2f} (second moment +-{err:.0%}) | "
              f"{threshold_rel_sd(np.array([shift / reference.s]), p_ref)[0]:.2f} | {(plain_rel / rel) ** 2:.0f} |")
    best = int(np.argmin(predicted))
    print(f"\nSmallest at shift {shift_grid[best]:+.3f}: {predicted[best]:.2f} (variance reduction "
          f"{(plain_rel / predicted[best]) ** 2:.0f}).")

    # ---- table 3: exceedance
    print("\n### P(L > x) (95% intervals)\n")
    print(f"| x, USDC | plain, {plain_n.n:,} paths | IS {main_n.shift:+.2f}, {main_n.n:,} paths | "
          f"plain, {plain.n:,} paths | reference ({reference.n:,}) |")
    print("|---:|---|---|---|---|")
    xs = np.array(EXCEEDANCE_XS)
    cols = [exceedance(r, xs) for r in (plain_n, main_n, plain, reference)]
    for i, x in enumerate(xs):
        print(f"| {x:,.0f} | " + " | ".join(f"{fmt_p(c[0][i])} [{fmt_p(c[1][i])}, {fmt_p(c[2][i])}]" for c in cols)
              + " |")

    # ---- checks
    print()
    all_runs = [plain] + is_runs + [reference]
    f1 = check_likelihood_ratios(all_runs)
    n_paths = sum(r.n for r in all_runs if r.weighted)
    print(f"check 1 (stored log likelihood ratio = N theta^2/2 - theta sum z from the final price, "
          f"{LR_TOLERANCE:g}; {n_paths:,} paths): {'FAIL' if f1 else 'pass'}")
    print("\n".join(f1)) if f1 else None

    f2 = check_tilt(all_runs)
    print(f"check 2 (final log return ~ N(m + shift, s^2) in every run, {Z_CHECK:g} SE): {'FAIL' if f2 else 'pass'}")
    print("\n".join(f2)) if f2 else None

    f3 = check_mean_weight(is_n + [reference])
    checked = [r for r in is_n + [reference] if mean_w_checkable(r)]
    if not checked:
        f3 = ["  no run where n >= 10 e^(a^2): the mean likelihood ratio cannot be checked"]
    print(f"check 3 (mean likelihood ratio 1 within {Z_CHECK:g} SE where n >= {MEAN_W_RELIABLE:g} e^(a^2)): "
          f"{'FAIL' if f3 else 'pass'}")
    for run in is_n + [reference]:
        est = stats.mean_ci(run.w)
        print(f"  shift {run.shift:+.2f}, {run.n:,} paths: mean w {est.value:.4f} +- {est.se:.4f} "
              f"({(est.value - 1) / est.se:+.1f} SE), 10 e^(a^2) = {MEAN_W_RELIABLE * math.exp(run.a ** 2):,.3g} "
              f"paths{'' if mean_w_checkable(run) else ': not checked'}")
    print("\n".join(f3)) if f3 else None

    f4 = check_closed_form([plain] + is_n + [reference])
    truth = closed_form_value(plain)
    print(f"check 4 (P(S_T/S_0 < {CLOSED_FORM_RATIO}) = {fmt_p(truth)} in closed form, {Z_CHECK:g} SE): "
          f"{'FAIL' if f4 else 'pass'}")
    for run in [plain_n, plain] + is_n + [reference]:
        e = estimate(run, run.log_return < math.log(CLOSED_FORM_RATIO))
        print(f"  {'shift %+.2f' % run.shift if run.weighted else 'plain'}, {run.n:,} paths: {fmt_ci(e)}")
    print("\n".join(f4)) if f4 else None

    agreement = {f"plain, first {plain_n.n:,} paths": (plain_n, plain_est, plain_estimate(plain_n.event, LEVEL_CHECK)),
                 f"plain, {plain.n:,} paths": (plain, plain_big, plain_estimate(plain.event, LEVEL_CHECK))}
    for run in is_n:
        est = is_estimate(run)
        agreement[f"IS shift {run.shift:+.2f}, {run.n:,} paths"] = (run, est, est)
    f5 = check_agreement(agreement, ref)
    print(f"check 5 (estimates agree with the reference {fmt_p(p_ref)} +- {fmt_p(ref.se)}: plain 99.73% Wilson, "
          f"IS {Z_CHECK:g} SE of the difference): {'FAIL' if f5 else 'pass'}")
    for label, (run, est, _) in agreement.items():
        gap = (f"{(est.value - p_ref) / math.hypot(est.se, ref.se):+.1f} SE" if run.weighted else
               f"99.73% Wilson [{fmt_p(agreement[label][2].lo)}, {fmt_p(agreement[label][2].hi)}]")
        print(f"  {label}: {fmt_ci(est)}, {gap}")
    print("\n".join(f5)) if f5 else None

    main_est = is_estimate(main_n)
    ratio_ci = plain_width / (main_est.hi - main_est.lo)
    plain_se_ref = math.sqrt(p_ref * (1 - p_ref) / args.n)
    ratio_se = plain_se_ref / main_est.se
    f6 = []
    if not (ratio_ci > NARROWER_FACTOR and ratio_se > NARROWER_FACTOR):
        f6.append(f"  CI width ratio {ratio_ci:.2f}, SE ratio {ratio_se:.2f} (need > {NARROWER_FACTOR:g})")
    print(f"check 6 (IS {main_n.shift:+.2f} interval narrower than plain at {args.n:,} paths by > "
          f"{NARROWER_FACTOR:g}x): {'FAIL' if f6 else 'pass'}")
    print(f"  95% CI width: plain {fmt_p(plain_width)}, IS {fmt_p(main_est.hi - main_est.lo)}: {ratio_ci:.1f}x; "
          f"SE: plain at p_ref {fmt_p(plain_se_ref)}, IS {fmt_p(main_est.se)}: {ratio_se:.1f}x "
          f"(plain would need ~{args.n * ratio_se ** 2:,.0f} paths for this SE)")
    at_main = reweighted_rel_sd(reference, np.array([main_n.shift]), p_ref)[0][0]
    print(f"  expected SE ratio: {plain_rel / at_main:.1f}x for this event (the reference's paths reweighted), "
          f"{plain_rel / threshold_rel_sd(np.array([main_n.a]), p_ref)[0]:.1f}x were it a sharp threshold of the "
          f"final price")
    print("\n".join(f6)) if f6 else None

    share = float(main_n.event.mean())
    f7 = []
    if not (share >= MIN_TILTED_SHARE and share >= TILTED_OVER_PLAIN * p_ref):
        f7.append(f"  share {share:.4f} (need >= {MIN_TILTED_SHARE} and >= {TILTED_OVER_PLAIN:g} x {fmt_p(p_ref)})")
    print(f"check 7 (tilted paths see the event: >= {MIN_TILTED_SHARE:.0%} and >= {TILTED_OVER_PLAIN:g}x p): "
          f"{'FAIL' if f7 else 'pass'}")
    print(f"  shift {main_n.shift:+.2f}: {share:.1%} of {main_n.n:,} tilted paths vs p = {fmt_p(p_ref)} "
          f"({share / p_ref:,.0f}x); plain first {plain_n.n:,} paths: {int(plain_n.event.sum())}")
    print("\n".join(f7)) if f7 else None

    failures = f1 + f2 + f3 + f4 + f5 + f6 + f7
    figure(args.figure, plain, plain_n, is_n, main_n, reference, ref, rows, shift_grid, predicted, predicted_err)
    print(f"\nwrote {args.figure}")
    return exit_status(failures)


if __name__ == "__main__":
    sys.exit(main())
