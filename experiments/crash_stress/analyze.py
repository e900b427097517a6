#!/usr/bin/env python3
"""Crash stress: bad debt of an Aave-v2-like market when ETH falls 30-60% in 1 or 24 hours.

    experiments/crash_stress/analyze.py [results/crash_1h.h5] [results/crash_24h.h5]
        [--traces results/crash_1h_trace.h5 results/crash_24h_trace.h5]
        [--figure experiments/crash_stress/crash_stress.png]

Reads the results of crash_1h.yaml and crash_24h.yaml (and, with --traces, the
two one-scenario reruns recorded at every block; experiments/crash_stress/
reproduce writes all four) with analysis/defisim, prints markdown tables, draws
the figure. Exit status: 0 if every check passes, 1 if one fails, 2 on
unusable input.

Bad debt per path, USDC:  L = bank.bad_debt + bank.underwater_debt
  bank.bad_debt        written off during the run (a liquidation took all the
                       collateral of a position whose debt it did not cover)
  bank.underwater_debt at the end, sum over positions of max(0, debt - collateral)
                       at reference prices: bad debt not yet written off
The crash depth of a scenario is read back from its drift: the median path
falls by drop = 1 - exp((mu - sigma^2/2) T).

Estimators (paths are independent; scenarios share random numbers path by path):
  mean ± SE          SE = sd / sqrt(n)
  P(L > 0) ± SE      binomial, sqrt(p (1 - p) / n)
  VaR99              the ceil(0.99 n)-th smallest L (the 99th percentile); 95%
                     confidence interval from order statistics (distribution-free:
                     the ranks l < u with P(l <= Bin(n, 0.99) < u) >= 0.95, 2.5%
                     in each tail). Below n = 368 paths no rank gives the upper
                     bound (0.99^n > 0.025): it is printed "open"
  ES99               mean of the n - ceil(0.99 n) + 1 largest values (the VaR
                     order statistic and everything above it); 95% interval from
                     a percentile bootstrap (2,000 resamples, fixed seed)
  paired differences between scenarios of the same file: mean and SE of the
                     per-path difference

Checks (each encodes an expectation from the mechanism, not from the output):
  1. liquidations happen: in every scenario of both files, the mean of
     bank.liquidations is > 0 and fewer than 1% of paths have none (every crash
     takes the riskiest positions, loan-to-value up to 0.69, below a health
     factor of 1 at any threshold <= 0.85 once ETH is down 19%).
  2. L does not decrease with the crash depth at fixed threshold and bonus
     (paired difference > -3 SE), in both files.
  3. L does not decrease with the liquidation threshold at fixed depth and
     bonus (paired difference > -3 SE): a higher threshold lets positions get
     closer to insolvency before anyone may liquidate them.
  4. A fast crash congests the chain: at every (depth, threshold, bonus) the two
     files share, the mean of chain.peak_base_gas_price_gwei (the path's highest
     base gas price) is larger in the 1-hour file, and so is the liquidators'
     gas cost per included transaction (USDC), each by more than 3 SE of the
     difference. With the same drop per run, the one-hour crash's drop per block
     is 24x larger and the spike process adds excess in proportion to it.
  5. Accounting: 0 <= bank.supplier_loss <= bank.bad_debt (reserves absorb
     first) and bank.any_bad_debt == (bank.bad_debt > 0) on every path.
  6. With --traces: no debt is written off before the reference price first
     falls below p0 x LTV_max x (1 + bonus) x (1 + 1e-3). A position opened at
     loan-to-value <= LTV_max has collateral/debt >= (p / p0) / LTV_max; top-ups,
     repays, and liquidations while collateral/debt > 1 + bonus only raise the
     ratio, so a liquidation can take all the collateral only below that price
     (1e-3 covers a day's interest with room to spare; the oracle only
     publishes past reference prices, so it is never lower). Checked at every
     block of every trace path.
  7. With --traces: the recorded chain.base_gas_price_gwei equals, at every
     block (relative 1e-9), the documented spike process applied to the
     recorded reference price (framework/core/gas_price.hpp, chain.gas_process
     in docs/CONFIG.md): gas = min(cap, base + excess), excess decaying with the
     half-life and jumping by base x spike_per_percent_drop per 1% one-block drop.

Needs numpy, h5py, matplotlib and yaml (Debian: python3-numpy python3-h5py
python3-matplotlib python3-yaml; analysis/python.sh prints a python3 with the
first three).
"""
from __future__ import annotations

import argparse
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "analysis"))

try:
    import numpy as np
    import yaml
    from defisim import open_results  # noqa: E402
    from defisim.experiment import InputError, exit_status, require_swept, scenario_outcomes  # noqa: E402
    from defisim.stats import es_ci, mean_se, paired_difference, probability_ci, var_ci  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with a python3 that has numpy, h5py, "
             "matplotlib and yaml (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib "
             "python3-yaml)")

DRIFT_KEY = "price.drift.ETH"
LT_KEY = "markets.bank.assets.ETH.liquidation_threshold"
BONUS_KEY = "markets.bank.assets.ETH.liquidation_bonus"
SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0  # framework/core/units.hpp
Z_CHECK = 3.0
Q = 0.99
HEADLINE = (0.50, 0.80, 0.05)  # 1-hour file: drop, threshold, bonus
METRICS = (
    "bank.bad_debt", "bank.underwater_debt", "bank.any_bad_debt", "bank.supplier_loss", "bank.liquidations",
    "bank.liquidation_volume", "borrowers.borrowed_value", "chain.gas_paid", "chain.peak_base_gas_price_gwei",
)
LIQUIDATOR_METRICS = ("liquidations", "reverts", "gas_paid", "skipped_unprofitable", "profit")


# --------------------------------------------------------------------------- statistics

# From analysis/defisim (defisim.stats): mean_se (mean, sd(ddof=1)/sqrt(n)), paired_difference (mean and
# SE of the per-path difference), probability_ci (its se is the binomial sqrt(p (1 - p) / n)), var_ci and
# es_ci. With method="order_statistic" the last two are this docstring's estimators (VaR = X_(ceil(q n)),
# distribution-free order-statistic CI; ES = mean from that order statistic up, percentile bootstrap of
# 2,000 resamples seeded 12345): bit for bit the local copies this script had before (checked on every
# scenario of both files).

def tail_stats(x, q=Q, boot=2000, seed=12345):
    """VaR_q (order statistic), its order-statistic 95% CI, ES_q and its bootstrap 95% CI."""
    n = len(x)
    var = var_ci(x, q, "higher_is_worse", method="order_statistic")
    es = es_ci(x, q, "higher_is_worse", n_boot=boot, seed=seed, method="order_statistic")
    return {"var": var.value, "var_lo": var.lo, "var_hi": var.hi, "es": es.value, "es_lo": es.lo,
            "es_hi": es.hi, "tail_n": n - int(math.ceil(q * n)) + 1}


# --------------------------------------------------------------------------- reading

def drop_of(mu: float, sigma: float, years: float) -> float:
    return 1.0 - math.exp((mu - 0.5 * sigma * sigma) * years)


def load(path: str):
    """({(drop, lt, bonus): {metric: float64[paths]}}, attrs, run_info, config)."""
    data = {}
    with open_results(path) as results:
        attrs = dict(results.attrs)
        run_info = dict(results.run_info)
        config = yaml.safe_load(results.config)
        sigma = float(config["price"]["volatility"]["ETH"])
        years = int(attrs["blocks"]) * float(attrs["block_time_seconds"]) / SECONDS_PER_YEAR
        liquidators = [a["id"] for a in config.get("agents", []) if a.get("type") == "liquidator"]
        if not liquidators:
            raise InputError(f"{path}: no liquidator in the embedded config")
        wanted = list(METRICS) + [f"{liq}.{m}" for liq in liquidators for m in LIQUIDATOR_METRICS]
        for scenario in results.scenarios():
            params = require_swept(results, scenario, (DRIFT_KEY, LT_KEY, BONUS_KEY),
                                   "run experiments/crash_stress/crash_1h.yaml or crash_24h.yaml")
            drop = round(drop_of(float(params[DRIFT_KEY]), sigma, years), 4)
            key = (drop, float(params[LT_KEY]), float(params[BONUS_KEY]))
            o = scenario_outcomes(results, scenario, wanted)
            o["L"] = o["bank.bad_debt"] + o["bank.underwater_debt"]
            o["liq_tx"] = sum(o[f"{liq}.liquidations"] + o[f"{liq}.reverts"] for liq in liquidators)
            o["liq_gas"] = sum(o[f"{liq}.gas_paid"] for liq in liquidators)
            o["liq_skipped"] = sum(o[f"{liq}.skipped_unprofitable"] for liq in liquidators)
            data[key] = o
    return data, attrs, run_info, config


def load_trace(path: str):
    """One-scenario run recorded at every block: reference price, lending series, the config."""
    with open_results(path) as results:
        attrs = dict(results.attrs)
        config = yaml.safe_load(results.config)
        scenarios = results.scenarios()
        if len(scenarios) != 1:
            raise InputError(f"{path}: expected one scenario (a trace), found {len(scenarios)}")
        s = scenarios[0]["index"]
        blocks, _ = results.series(s, "reference.ETH")
        blocks = np.asarray(blocks)
        if len(blocks) != int(attrs["blocks"]) + 1 or not np.all(np.diff(blocks) == 1):
            raise InputError(f"{path}: not recorded at every block (experiment.record.every: 1)")
        series = {}
        for m in ("reference.ETH", "bank.bad_debt", "bank.liquidatable_debt", "bank.debt_value",
                  "chain.base_gas_price_gwei"):
            _, values = results.series(s, m)
            series[m] = np.asarray(values, dtype=float)
        outcomes = {m: np.asarray(results.outcomes(s, m), dtype=float)
                    for m in ("bank.bad_debt", "bank.underwater_debt", "bank.liquidations")}
        params = scenarios[0]["parameters"]
    sigma = float(config["price"]["volatility"]["ETH"])
    years = int(attrs["blocks"]) * float(attrs["block_time_seconds"]) / SECONDS_PER_YEAR
    eth = config["markets"][0]["assets"]["ETH"]
    trace = {
        "attrs": attrs, "config": config, "blocks": blocks, "series": series, "outcomes": outcomes,
        "drop": drop_of(float(params.get(DRIFT_KEY, config["price"]["drift"]["ETH"])), sigma, years),
        "lt": float(params.get(LT_KEY, eth["liquidation_threshold"])),
        "bonus": float(params.get(BONUS_KEY, eth["liquidation_bonus"])),
        "hours": int(attrs["blocks"]) * float(attrs["block_time_seconds"]) / 3600.0,
    }
    trace["gas"] = series["chain.base_gas_price_gwei"]
    trace["gas_rebuilt"] = rebuild_gas(series["reference.ETH"], config, float(attrs["block_time_seconds"]))
    return trace


def rebuild_gas(price, config, block_time):
    """Gas price (gwei) at every block from the reference price, framework/core/gas_price.hpp (spike)."""
    chain = config["chain"]
    gp = chain["gas_process"]
    base = float(chain["gas_price_gwei"])
    spike = float(gp.get("spike_per_percent_drop", 1.0))
    half_life = float(gp.get("half_life_seconds", 600.0))
    cap = float(gp.get("cap_gwei", float("inf")))
    decay = 2.0 ** (-block_time / half_life)
    logp = np.log(price)
    gas = np.empty_like(price)
    gas[:, 0] = base
    excess = np.zeros(price.shape[0])
    for b in range(1, price.shape[1]):
        drop_percent = np.maximum(0.0, -100.0 * (logp[:, b] - logp[:, b - 1]))
        excess = excess * decay + base * spike * drop_percent
        gas[:, b] = np.minimum(cap, base + excess)
    return gas


# --------------------------------------------------------------------------- analysis

def analyse(data):
    rows = []
    for key in sorted(data):
        o = data[key]
        n = len(o["L"])
        p_any = probability_ci(o["L"] > 0)
        gas_per_tx = o["liq_gas"].sum() / max(1.0, o["liq_tx"].sum())
        gas_per_tx_psi = (o["liq_gas"] - gas_per_tx * o["liq_tx"]) / max(1e-300, o["liq_tx"].mean())
        row = {
            "key": key, "n": n,
            "mean": mean_se(o["L"]), "p_any": (p_any.value, p_any.se),
            "written_off": mean_se(o["bank.bad_debt"]), "underwater": mean_se(o["bank.underwater_debt"]),
            "borrowed": float(o["borrowers.borrowed_value"].mean()),
            "liquidations": mean_se(o["bank.liquidations"]),
            "no_liq_share": float((o["bank.liquidations"] == 0).mean()),
            "gas_per_tx": (float(gas_per_tx), float(gas_per_tx_psi.std(ddof=1) / math.sqrt(n))),
            "skipped": mean_se(o["liq_skipped"]),
            "peak_gas": mean_se(o["chain.peak_base_gas_price_gwei"]),
        }
        row.update(tail_stats(o["L"]))
        rows.append(row)
    return rows


def by_key(rows):
    return {r["key"]: r for r in rows}


def usd(x, digits=0):
    if x == float("inf"):
        return "open"  # too few paths above the quantile for a 97.5% upper bound
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:,.1f}k"
    return f"{x:,.{digits}f}"


def print_table(rows, title):
    print(f"\n### {title}\n")
    print("| drop | LT | bonus | mean L ± SE | P(L>0) ± SE | VaR99 [95% CI] | ES99 [95% CI] | written off | "
          "underwater | VaR99 / debt | liquidations | peak gas (gwei) | gas/liq. tx |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        d, lt, b = r["key"]
        m, s = r["mean"]
        p, ps = r["p_any"]
        print(f"| {d:.0%} | {lt:.2f} | {b:.0%} | {usd(m)} ± {usd(s)} | {p:.3f} ± {ps:.3f} | "
              f"{usd(r['var'])} [{usd(r['var_lo'])}, {usd(r['var_hi'])}] | "
              f"{usd(r['es'])} [{usd(r['es_lo'])}, {usd(r['es_hi'])}] | {usd(r['written_off'][0])} | "
              f"{usd(r['underwater'][0])} | {r['var'] / r['borrowed']:.2%} | {r['liquidations'][0]:,.0f} | "
              f"{r['peak_gas'][0]:,.0f} | {r['gas_per_tx'][0]:,.0f} |")


def print_headline(rows_1h):
    table = by_key(rows_1h)
    r = table.get(HEADLINE)
    print("\n### Headline: ETH -50% in one hour, gas spiking\n")
    if r is None:
        print("(the 1-hour file has no 50% / 0.80 / 5% scenario)")
        return
    print(f"Threshold {HEADLINE[1]:.2f}, bonus {HEADLINE[2]:.0%}, {r['n']:,} paths: 99th-percentile bad debt "
          f"VaR99 = {r['var']:,.0f} USDC (95% CI {usd(r['var_lo'])} - {usd(r['var_hi'])}), "
          f"{r['var'] / r['borrowed']:.2%} of the {r['borrowed'] / 1e6:.1f}M USDC borrowed; "
          f"ES99 = {r['es']:,.0f} (95% CI {r['es_lo']:,.0f} - {r['es_hi']:,.0f}); mean {r['mean'][0]:,.0f} "
          f"± {r['mean'][1]:,.0f}; P(L > 0) = {r['p_any'][0]:.3f}.")
    print("\n| LT | bonus | VaR99 [95% CI] | ES99 | mean ± SE | of which written off | VaR99 / debt |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(table):
        if key[0] != HEADLINE[0]:
            continue
        r = table[key]
        print(f"| {key[1]:.2f} | {key[2]:.0%} | {r['var']:,.0f} [{r['var_lo']:,.0f}, {usd(r['var_hi'])}] | "
              f"{r['es']:,.0f} | {r['mean'][0]:,.0f} ± {r['mean'][1]:,.0f} | {r['written_off'][0]:,.0f} | "
              f"{r['var'] / r['borrowed']:.2%} |")


def paired(data, a, b, metric="L"):
    """(mean, SE) of the per-path difference a - b (common random numbers)."""
    d = paired_difference(data[a][metric], data[b][metric])
    return d.value, d.se


def print_bonus(data, title):
    print(f"\n### {title}: bonus 10% minus bonus 5% (paired, mean ± SE per path)\n")
    print("| drop | LT | Δ L | Δ written off | Δ underwater | Δ liquidations | Δ skipped as unprofitable |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(data):
        d, lt, b = key
        if b != 0.05 or (d, lt, 0.10) not in data:
            continue
        hi = (d, lt, 0.10)
        cells = []
        for metric in ("L", "bank.bad_debt", "bank.underwater_debt", "bank.liquidations", "liq_skipped"):
            m, s = paired(data, hi, key, metric)
            cells.append(f"{m:+,.0f} ± {s:,.0f}")
        print(f"| {d:.0%} | {lt:.2f} | " + " | ".join(cells) + " |")


# --------------------------------------------------------------------------- checks

def check_liquidations(rows, label):
    bad = []
    for r in rows:
        if not (r["liquidations"][0] > 0 and r["no_liq_share"] < 0.01):
            bad.append(f"  {label} {r['key']}: mean liquidations {r['liquidations'][0]:.1f}, "
                       f"{r['no_liq_share']:.1%} of paths without any")
    return bad


def check_monotone(data, label, axis):
    """L non-decreasing along axis 0 (drop) or 1 (threshold), paired, within Z_CHECK SE."""
    bad, lines = [], []
    others = sorted({tuple(k[i] for i in range(3) if i != axis) for k in data})
    for rest in others:
        keys = sorted(k for k in data if tuple(k[i] for i in range(3) if i != axis) == rest)
        for lo, hi in zip(keys, keys[1:]):
            m, s = paired(data, hi, lo)
            ok = m >= -Z_CHECK * s
            if not ok:
                bad.append(f"  {label}: L{hi} - L{lo} = {m:,.0f} ± {s:,.0f}")
    return bad


def check_gas(rows_1h, rows_24h):
    bad, lines = [], []
    fast, slow = by_key(rows_1h), by_key(rows_24h)
    common = sorted(set(fast) & set(slow))
    for key in common:
        for what, unit in (("peak_gas", "gwei peak base gas price"), ("gas_per_tx", "USDC per liquidator tx")):
            (a, sa), (b, sb) = fast[key][what], slow[key][what]
            s = math.hypot(sa, sb)
            if not a - b > Z_CHECK * s:
                bad.append(f"  {key}: 1 h {a:,.0f} ± {sa:,.0f} vs 24 h {b:,.0f} ± {sb:,.0f} {unit}")
    for what, name in (("peak_gas", "mean peak base gas price"), ("gas_per_tx", "gas cost per liquidator tx")):
        ratios = [fast[k][what][0] / slow[k][what][0] for k in common]
        if ratios:
            lines.append(f"  {len(common)} common scenarios; 1-hour / 24-hour {name}: "
                         f"{min(ratios):.1f}x to {max(ratios):.1f}x")
    return bad, lines, common


def check_accounting(data, label):
    bad = []
    for key, o in data.items():
        written, loss, anyb = o["bank.bad_debt"], o["bank.supplier_loss"], o["bank.any_bad_debt"]
        tol = 1e-9 * np.maximum(1.0, written)
        if np.any(loss < -tol) or np.any(loss > written + tol):
            bad.append(f"  {label} {key}: supplier_loss outside [0, bad_debt] on "
                       f"{int(np.sum((loss < -tol) | (loss > written + tol)))} paths")
        if np.any(anyb != (written > 0).astype(float)):
            bad.append(f"  {label} {key}: any_bad_debt disagrees with bad_debt > 0")
    return bad


def check_trace(trace, label):
    """No write-off before the reference first falls below p0 x LTV_max x (1 + bonus) x (1 + 1e-3)."""
    borrowers = [a for a in trace["config"]["agents"] if a.get("type") == "borrower"][0]
    ltv_max = float(borrowers["loan_to_value"]["high"])
    price = trace["series"]["reference.ETH"]
    written = trace["series"]["bank.bad_debt"]
    p0 = price[:, :1]
    bound = ltv_max * (1.0 + trace["bonus"]) * (1.0 + 1e-3)
    below = np.minimum.accumulate(price / p0, axis=1) < bound
    violations = (written > 0) & ~below
    bad = []
    if np.any(violations):
        paths = np.unique(np.nonzero(violations)[0])
        bad.append(f"  {label}: debt written off above {bound:.4f} x p0 on {len(paths)} path(s), e.g. path "
                   f"{paths[0]}")
    first_wo = [int(np.argmax(w > 0)) for w in written if np.any(w > 0)]
    first_below = [int(np.argmax(b)) for b in below if np.any(b)]
    info = (f"  {label}: {len(first_wo)}/{len(written)} paths write off debt; price first below {bound:.4f} x p0 "
            f"at block {np.median(first_below) if first_below else float('nan'):.0f} (median), first write-off at "
            f"block {np.median(first_wo) if first_wo else float('nan'):.0f} (median)")
    return bad, info


def check_gas_process(trace, label):
    """The recorded base gas price equals the documented spike process applied to the recorded price."""
    rec, reb = trace["gas"], trace["gas_rebuilt"]
    rel = np.abs(rec - reb) / np.maximum(1e-300, np.abs(reb))
    bad = []
    if not np.all(rel <= 1e-9):
        path, block = np.unravel_index(int(np.argmax(rel)), rel.shape)
        bad.append(f"  {label}: recorded gas differs from the rebuilt process by up to {rel.max():.2e} relative "
                   f"(path {path}, block {trace['blocks'][block]}: {rec[path, block]:.6g} vs {reb[path, block]:.6g})")
    return bad, f"  {label}: largest relative difference {rel.max():.1e} over {rel.size:,} path-blocks"


def over_traces(check, traces):
    """A per-trace check (check_trace, check_gas_process) over every trace: (failures, info lines)."""
    failures, infos = [], []
    for trace in traces:
        bad, info = check(trace, f"{trace['hours']:g} h trace")
        failures += bad
        infos.append(info)
    return failures, infos


# --------------------------------------------------------------------------- figure

def figure(rows_1h, rows_24h, data_1h, traces, png_path, attrs_1h, attrs_24h):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(18, 10.5))
    colors = {0.05: "tab:blue", 0.10: "tab:red"}
    lt_styles = {0.75: ":", 0.80: "-", 0.85: "--"}

    # A: exceedance curves, headline depth, 1 hour
    ax = axes[0, 0]
    for key in sorted(data_1h):
        d, lt, b = key
        if d != HEADLINE[0]:
            continue
        x = np.sort(data_1h[key]["L"]) / 1e3
        n = len(x)
        surv = 1.0 - np.arange(n) / n  # P(L >= x_(i))
        ax.step(x, surv, where="post", color=colors.get(b, "k"), ls=lt_styles.get(lt, "-"), lw=1.4,
                label=f"LT {lt:.2f}, bonus {b:.0%}")
    ax.axhline(1 - Q, color="0.5", lw=0.8)
    ax.text(ax.get_xlim()[1] * 0.98, (1 - Q) * 1.15, "1%", ha="right", va="bottom", color="0.4", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(1.0 / len(x) / 1.5, 1.05)
    ax.set_xlabel("bad debt L = written off + underwater at the end (thousand USDC)")
    ax.set_ylabel("P(bad debt ≥ x)")
    ax.set_title(f"A. ETH -{HEADLINE[0]:.0%} in 1 hour: exceedance of bad debt", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")

    # B, C: VaR99 vs threshold
    drop_colors = {0.30: "tab:green", 0.45: "tab:orange", 0.50: "tab:purple", 0.60: "tab:red"}
    for ax, rows, title, attrs in ((axes[0, 1], rows_1h, "B. 1-hour crash", attrs_1h),
                                   (axes[0, 2], rows_24h, "C. 24-hour crash", attrs_24h)):
        table = by_key(rows)
        drops = sorted({k[0] for k in table})
        lts = sorted({k[1] for k in table})
        for d in drops:
            for b, ls, marker in ((0.05, "-", "o"), (0.10, "--", "s")):
                keys = [(d, lt, b) for lt in lts if (d, lt, b) in table]
                if not keys:
                    continue
                v = np.array([table[k]["var"] for k in keys])
                lo = np.array([table[k]["var_lo"] for k in keys])
                # an open upper bound (too few paths above the 99th percentile): no upper bar
                hi = np.array([table[k]["var_hi"] if math.isfinite(table[k]["var_hi"]) else table[k]["var"]
                               for k in keys])
                xs = np.array([k[1] for k in keys]) + (0.004 if b == 0.10 else -0.004)
                floor = 1.0  # log axis: zero shown at 1 USDC
                ax.errorbar(xs, np.maximum(v, floor), yerr=[np.maximum(v, floor) - np.maximum(lo, floor),
                                                            np.maximum(hi, floor) - np.maximum(v, floor)],
                            color=drop_colors.get(d, "k"), ls=ls, marker=marker, ms=4, capsize=2, lw=1.2,
                            label=f"-{d:.0%}, bonus {b:.0%}")
        ax.set_yscale("log")
        ax.set_xticks(lts)
        ax.set_xlabel("ETH liquidation threshold (loan-to-value 0.70)")
        ax.set_ylabel("VaR99 of bad debt (USDC; 0 drawn at 1)")
        n = rows[0]["n"]
        ax.set_title(f"{title}: 99th percentile of bad debt, 95% CI ({n:,} paths)", fontsize=10)
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3, which="both")

    # D, E, F: the traces
    if traces:
        trace_colors = ("tab:red", "tab:blue")

        def fan(ax, trace, values, color, label, scale=1.0):
            t = trace["blocks"] / trace["blocks"][-1]
            q = np.quantile(values * scale, [0.05, 0.5, 0.95], axis=0)
            ax.fill_between(t, q[0], q[2], color=color, alpha=0.2, lw=0)
            ax.plot(t, q[1], color=color, lw=1.5, label=label)

        for trace, color in zip(traces, trace_colors):
            label = f"-{trace['drop']:.0%} in {trace['hours']:g} h ({trace['gas'].shape[0]} paths)"
            fan(axes[1, 0], trace, trace["gas"], color, label)
            fan(axes[1, 1], trace, trace["series"]["bank.liquidatable_debt"], color, label, 1e-6)
        axes[1, 0].set_yscale("log")
        axes[1, 0].set_ylabel("base gas price (gwei), chain.base_gas_price_gwei")
        axes[1, 0].set_title("D. Gas price: median and 5-95% band", fontsize=10)
        axes[1, 1].set_ylabel("debt of positions with HF < 1 (million USDC)")
        axes[1, 1].set_title("E. Liquidations at risk (liquidatable, not yet liquidated)", fontsize=10)
        lt, b = traces[0]["lt"], traces[0]["bonus"]
        for ax in axes[1, :2]:
            ax.set_xlabel(f"fraction of the crash elapsed (LT {lt:.2f}, bonus {b:.0%})")
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3, which="both")
    else:
        for ax in axes[1, :2]:
            ax.text(0.5, 0.5, "no traces (--traces)", ha="center", va="center", transform=ax.transAxes)

    # F: mean bad debt vs drop, fast and slow, as a share of the debt
    ax = axes[1, 2]
    for rows, ls, marker, name in ((rows_1h, "-", "o", "1 h"), (rows_24h, "--", "s", "24 h")):
        table = by_key(rows)
        for lt in sorted({k[1] for k in table}):
            for b in (0.05, 0.10):
                keys = sorted(k for k in table if k[1] == lt and k[2] == b)
                if not keys:
                    continue
                x = [k[0] * 100 for k in keys]
                y = [max(table[k]["mean"][0] / table[k]["borrowed"] * 100, 1e-6) for k in keys]
                ax.plot(x, y, color=colors[b], ls=ls, marker=marker, ms=3.5,
                        alpha={0.75: 0.45, 0.80: 1.0, 0.85: 0.7}.get(lt, 1.0), lw=1.0 + (lt == 0.80),
                        label=f"{name}, LT {lt:.2f}, bonus {b:.0%}" if lt == 0.80 else None)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-5)
    ax.set_xlabel("median fall of ETH over the crash (%)")
    ax.set_ylabel("mean bad debt, % of the USDC borrowed (0 drawn at 1e-6)")
    ax.set_title("F. Mean bad debt, 1 h (solid) vs 24 h (dashed); faint: LT 0.75, 0.85",
                 fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")

    fig.suptitle("Crash stress: Aave-v2-like ETH/USDC market (loan-to-value 0.70, close factor 50%), 500 "
                 "positions, two liquidators, gas spiking with every one-block drop", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- main

def describe(path, data, attrs, run_info):
    n = int(attrs["paths"])
    wall = run_info.get("wall_seconds")
    wall_text = f", {float(wall):.1f} s on {run_info.get('threads')} thread(s)" if wall is not None else ""
    return (f"{path}: {len(data)} scenarios x {n:,} paths x {int(attrs['blocks']):,} blocks "
            f"(seed {attrs['seed']}, defisim {attrs.get('defisim_version')}, {attrs.get('source_revision')}"
            f"{wall_text})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fast", nargs="?", default=os.path.join(REPO, "results", "crash_1h.h5"))
    parser.add_argument("slow", nargs="?", default=os.path.join(REPO, "results", "crash_24h.h5"))
    parser.add_argument("--traces", nargs=2, default=None, metavar=("TRACE_1H", "TRACE_24H"),
                        help="one-scenario reruns recorded at every block (experiment.record.every=1)")
    parser.add_argument("--figure", default=os.path.join(HERE, "crash_stress.png"))
    args = parser.parse_args(argv)
    try:
        data_1h, attrs_1h, info_1h, _ = load(args.fast)
        data_24h, attrs_24h, info_24h, _ = load(args.slow)
        if int(attrs_1h["blocks"]) * float(attrs_1h["block_time_seconds"]) >= \
                int(attrs_24h["blocks"]) * float(attrs_24h["block_time_seconds"]):
            raise InputError("the first file must be the faster crash (fewer seconds) than the second")
        traces = [load_trace(p) for p in args.traces] if args.traces else []
    except (OSError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows_1h, rows_24h = analyse(data_1h), analyse(data_24h)
    print("# " + describe(args.fast, data_1h, attrs_1h, info_1h))
    print("# " + describe(args.slow, data_24h, attrs_24h, info_24h))
    print("\nBad debt L per path, USDC = written off + underwater at the end (reference prices). "
          "VaR99: 99th percentile with a distribution-free 95% CI (order statistics); ES99: mean of the worst "
          "1% with a bootstrap 95% CI. 'peak gas': mean over paths of the highest base gas price; 'gas/liq. tx': "
          "liquidators' gas per included transaction, USDC.")
    print_headline(rows_1h)
    print_table(rows_1h, f"ETH crash over {int(attrs_1h['blocks']) * float(attrs_1h['block_time_seconds']) / 3600:g} "
                         f"hour(s), {rows_1h[0]['n']:,} paths per scenario")
    print_table(rows_24h, f"ETH crash over {int(attrs_24h['blocks']) * float(attrs_24h['block_time_seconds']) / 3600:g} "
                          f"hours, {rows_24h[0]['n']:,} paths per scenario")
    print_bonus(data_1h, "1-hour crash")
    print_bonus(data_24h, "24-hour crash")
    if traces:
        print("\n### Traces (every block)\n")
        for trace in traces:
            g = trace["gas"]
            print(f"- -{trace['drop']:.0%} in {trace['hours']:g} h, {g.shape[0]} paths: gas price mean over the run "
                  f"{g.mean():,.0f} gwei, median of the per-path peak {np.median(g.max(axis=1)):,.0f} gwei, "
                  f"share of blocks at the cap {np.mean(g >= float(trace['config']['chain']['gas_process'].get('cap_gwei', np.inf)) - 1e-9):.1%}; "
                  f"mean bad debt {np.mean(trace['outcomes']['bank.bad_debt'] + trace['outcomes']['bank.underwater_debt']):,.0f} USDC")

    print()
    failures = []
    f1 = check_liquidations(rows_1h, "1 h") + check_liquidations(rows_24h, "24 h")
    print(f"check 1 (liquidations in every scenario; < 1% of paths without): {'FAIL' if f1 else 'pass'}")
    print("\n".join(f1)) if f1 else None
    f2 = check_monotone(data_1h, "1 h", 0) + check_monotone(data_24h, "24 h", 0)
    print(f"check 2 (bad debt non-decreasing in the drop, paired, {Z_CHECK:g} SE): {'FAIL' if f2 else 'pass'}")
    print("\n".join(f2)) if f2 else None
    f3 = check_monotone(data_1h, "1 h", 1) + check_monotone(data_24h, "24 h", 1)
    print(f"check 3 (bad debt non-decreasing in the liquidation threshold, paired, {Z_CHECK:g} SE): "
          f"{'FAIL' if f3 else 'pass'}")
    print("\n".join(f3)) if f3 else None
    f4, lines, common = check_gas(rows_1h, rows_24h)
    if not common:
        f4 = ["  no (drop, threshold, bonus) common to both files"]
    print(f"check 4 (peak gas price and liquidators' gas per transaction higher in the 1-hour crash, "
          f"{Z_CHECK:g} SE): "
          f"{'FAIL' if f4 else 'pass'}")
    print("\n".join(f4 + lines))
    f5 = check_accounting(data_1h, "1 h") + check_accounting(data_24h, "24 h")
    print(f"check 5 (0 <= supplier_loss <= bad_debt, any_bad_debt consistent): {'FAIL' if f5 else 'pass'}")
    print("\n".join(f5)) if f5 else None
    f6 = []
    if traces:
        f6, infos = over_traces(check_trace, traces)
        print(f"check 6 (no write-off above p0 x LTV_max x (1 + bonus) x 1.001): {'FAIL' if f6 else 'pass'}")
        print("\n".join(f6 + infos))
    else:
        print("check 6 skipped (no --traces)")
    f7 = []
    if traces:
        f7, infos = over_traces(check_gas_process, traces)
        print(f"check 7 (recorded gas = documented spike process of the recorded price, 1e-9): "
              f"{'FAIL' if f7 else 'pass'}")
        print("\n".join(f7 + infos))
    else:
        print("check 7 skipped (no --traces)")
    failures = f1 + f2 + f3 + f4 + f5 + f6 + f7

    figure(rows_1h, rows_24h, data_1h, traces, args.figure, attrs_1h, attrs_24h)
    print(f"\nwrote {args.figure}")
    return exit_status(failures)


if __name__ == "__main__":
    sys.exit(main())
