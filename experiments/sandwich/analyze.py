#!/usr/bin/env python3
"""Sandwich attacks vs. slippage tolerance and pool depth: tables, figure, checks.

    experiments/sandwich/analyze.py [results/sandwich.h5] [--public-arb results/sandwich_public_arb.h5]
                                    [--bribe B PRIVATE_ARB.h5 PUBLIC_ARB.h5]...
                                    [--figure experiments/sandwich/sandwich.png]

Reads the results of experiments/sandwich/sandwich.yaml (written by
experiments/sandwich/reproduce) with analysis/defisim, prints one markdown
table row per scenario (mean +- standard error over paths), the split of the
loss, the back-of-envelope comparison and, with --public-arb, the side study
(the same sweep with `--set agents.arb.private_channel=false`), with --bribe
the bribe sensitivity (each pair: the sweep with `--set
agents.sandwich.bribe_fraction=B`, the arbitrageur private and public; checks
1-4 run on every pair too), and draws the figure. Exit status: 0 if every
check passes, 1 if one fails, 2 on unusable input (including a main file
whose arbitrageur is public, or a --public-arb file whose arbitrageur is
private: read from the embedded config). The checks:

  1. `private` ordering: chain.bundles, chain.victim_loss, chain.bribes and the
     attacker's attempts, attacks, gross profit and profit are exactly zero on
     every path (no public mempool, so nothing to sandwich). Both files.
  2. `mev` ordering, tolerance 0, main file: F(0) = chain.victim_loss /
     noise.volume is exactly 0, and so are the attacker's attempts and
     chain.bundles, on every path. The arbitrageur sends privately (the
     default) and a noise swap with no slippage room cannot be sandwiched
     (markets/sandwich.hpp), so there is no victim at all. Then nothing
     distinguishes mev from private ordering (no bundle, all tips zero: both
     execute in arrival order), so every outcome must also equal the private
     run's, path by path.
  3. `mev` ordering, at each pool depth: F does not decrease from one
     tolerance to the next by more than 3 standard errors of the (paired)
     difference.
  4. With --public-arb: same seed, paths and blocks as the main file, and every
     `private`-ordering outcome is bit-identical to the main file's (under
     private ordering every transaction is private, so the arbitrageur's
     channel cannot matter).

Estimators. Paths are independent, so a mean's standard error is sd/sqrt(n).
F is a RATIO OF MEANS, F = mean_i L_i / mean_i V_i (dollar-weighted: total
loss over total volume), with the delta-method standard error
sd_i(psi_i)/sqrt(n), psi_i = (L_i - F V_i) / mean(V). Scenarios share random
numbers path by path (common random numbers), so a difference of two ratios
uses psi_i(a) - psi_i(b) on the same paths.

Who loses, under mev, per depth and tolerance (shares of the mev run's noise
volume). With the arbitrageur private only noise swaps are sandwiched, so
F(t) is the noise traders' direct loss (the old D(t) = F(t) - F(0), now with
F(0) = 0). Paired mev - private totals, path by path:
  noise cost = mean(noise.execution_pnl(private) - noise.execution_pnl(mev))
  arb lost   = mean(arb.profit(private) - arb.profit(mev))
  attacker   = mean(sandwich.profit(mev))             (0 under private)
  builder    = mean(chain.builder_revenue(mev) - chain.builder_revenue(private))
  LPs        = mean(pool.final_value(mev) - pool.final_value(private))
These are total effects (the two worlds' pools differ after the first
attack); losers' loss = gainers' gain up to a residual (printed) from marking
the pool at the final price and trades at their own block's price.

Needs numpy, h5py, matplotlib and yaml (Debian: python3-numpy python3-h5py
python3-matplotlib python3-yaml; analysis/python.sh prints a python3 with the
first three).
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "analysis"))

try:
    import numpy as np
    import yaml
    from defisim import open_results  # noqa: E402
    from defisim.experiment import InputError, exit_status, require_swept, scenario_outcomes  # noqa: E402
    from defisim.stats import mean_se, normal_cdf, paired_difference, ratio_of_means  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with a python3 that has numpy, h5py, "
             "matplotlib and yaml (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib "
             "python3-yaml)")

DEPTH_KEY = "markets.pool.reserves"
TOL_KEY = "agents.noise.slippage_tolerance"
ORDER_KEY = "chain.ordering"
METRICS = (
    "chain.bundles", "chain.victim_loss", "chain.bribes", "chain.builder_revenue", "chain.gas_paid",
    "noise.volume", "noise.execution_pnl", "noise.swaps", "noise.reverts",
    "arb.profit", "arb.trades", "pool.fees", "pool.final_value",
    "sandwich.attacks", "sandwich.attempts", "sandwich.profit", "sandwich.gross_profit",
    "sandwich.attacked_volume",
)
MUST_BE_ZERO_PRIVATE = ("chain.bundles", "chain.victim_loss", "chain.bribes", "sandwich.attempts",
                        "sandwich.attacks", "sandwich.gross_profit", "sandwich.profit")
MUST_BE_ZERO_AT_T0 = ("chain.victim_loss", "chain.bundles", "sandwich.attempts", "sandwich.attacks",
                      "chain.bribes", "sandwich.gross_profit", "sandwich.profit")
Z_CHECK = 3.0


# --------------------------------------------------------------------------- statistics

# mean_se (mean, sd(ddof=1)/sqrt(n)) and ratio_of_means ((R, SE, psi): R = mean(num)/mean(den), its
# delta-method SE, the per-path influence psi) come from analysis/defisim (defisim.stats).

def paired_se(psi_a, psi_b):
    """SE of the mean of psi_a - psi_b over the same paths (defisim.stats.paired_difference)."""
    return paired_difference(psi_a, psi_b).se


def sandwichable_share(fee: float, side_value: float, median: float, sigma: float):
    """(v_min, S): the smallest sandwichable victim and the share of lognormal noise VOLUME above it.

    markets/sandwich.hpp: no front-run pays unless beta = g^2 u (1 + g + g u) - f (2 - f) > 0, u = v / x,
    g = 1 - f (gas, bribe and the tolerance ignored): u_min is the positive root of
    g^3 u^2 + g^2 (1 + g) u - f (2 - f) = 0, about f. A pool at the reference price holds the same value
    on both sides, so v_min = u_min * side_value in USDC for buys and sells alike. For a lognormal size
    (median m, log-sd s) the volume share above c is Phi(s - ln(c / m) / s).
    """
    g = 1.0 - fee
    a, b, c = g ** 3, g ** 2 * (1.0 + g), -fee * (2.0 - fee)
    u_min = (-b + math.sqrt(b * b - 4.0 * a * c)) / (2.0 * a)
    v_min = u_min * side_value
    if sigma == 0.0:
        return v_min, 1.0 if median > v_min else 0.0
    z = sigma - math.log(v_min / median) / sigma
    return v_min, normal_cdf(z)


# --------------------------------------------------------------------------- reading

# The USDC reserve of each depth (keyed by its ETH reserve), for labels.
USDC_OF_DEPTH = {}


def reserve(text: str, asset: str) -> float:
    """One asset's reserve in a swept `markets.pool.reserves` value ('{ETH: 250, USDC: 500000}')."""
    match = re.search(asset + r"\s*:\s*([0-9.eE+-]+)", text)
    if not match:
        raise InputError(f"cannot read the {asset} reserve from {DEPTH_KEY} = {text!r}")
    return float(match.group(1))


def pool_label(depth: float) -> str:
    return f"{depth:,.0f} ETH / {USDC_OF_DEPTH.get(depth, float('nan')):,.0f} USDC"


def arbitrageur_is_private(config) -> bool:
    """The arbitrageur's `private_channel` in the resolved config (default true, docs/CONFIG.md)."""
    arbs = [a for a in config.get("agents", []) if a.get("type") == "arbitrageur"]
    if len(arbs) != 1:
        raise InputError(f"expected one arbitrageur in the embedded config, found {len(arbs)}")
    return bool(arbs[0].get("private_channel", True))


def bribe_fraction(config) -> float:
    """The sandwich attacker's `bribe_fraction` in the resolved config (default 0.5, docs/CONFIG.md)."""
    attackers = [a for a in config.get("agents", []) if a.get("type") == "sandwich_attacker"]
    if len(attackers) != 1:
        raise InputError(f"expected one sandwich_attacker in the embedded config, found {len(attackers)}")
    return float(attackers[0].get("bribe_fraction", 0.5))


def load(path: str):
    """({(depth_eth, tolerance, ordering): {metric: float64[paths]}}, root attributes, run_info, config dict)."""
    data = {}
    with open_results(path) as results:
        attrs = dict(results.attrs)
        run_info = dict(results.run_info)
        config = yaml.safe_load(results.config)
        for scenario in results.scenarios():
            params = require_swept(results, scenario, (DEPTH_KEY, TOL_KEY, ORDER_KEY),
                                   "run experiments/sandwich/sandwich.yaml")
            depth = reserve(params[DEPTH_KEY], "ETH")
            USDC_OF_DEPTH[depth] = reserve(params[DEPTH_KEY], "USDC")
            key = (depth, float(params[TOL_KEY]), params[ORDER_KEY].strip())
            data[key] = scenario_outcomes(results, scenario, METRICS)
    return data, attrs, run_info, config


# --------------------------------------------------------------------------- analysis

def analyse(data):
    depths = sorted({k[0] for k in data})
    tols = sorted({k[1] for k in data})
    rows = []
    for depth in depths:
        for tol in tols:
            for ordering in ("mev", "private"):
                o = data.get((depth, tol, ordering))
                if o is None:
                    raise InputError(f"missing scenario depth {depth:g} ETH, tolerance {tol:g}, {ordering}")
                row = {"depth": depth, "tol": tol, "ordering": ordering, "n": len(o["noise.volume"])}
                for m in METRICS:
                    row[m] = mean_se(o[m])
                f, f_se, psi = ratio_of_means(o["chain.victim_loss"], o["noise.volume"])
                row["F"], row["F_se"], row["F_psi"] = f, f_se, psi
                if ordering == "mev":
                    p = data[(depth, tol, "private")]
                    noise_cost = p["noise.execution_pnl"] - o["noise.execution_pnl"]
                    arb_lost = p["arb.profit"] - o["arb.profit"]
                    row["noise_cost"] = mean_se(noise_cost)
                    row["arb_lost"] = mean_se(arb_lost)
                    row["Fn"], row["Fn_se"], row["Fn_psi"] = ratio_of_means(noise_cost, o["noise.volume"])
                    row["Fa"], row["Fa_se"], _ = ratio_of_means(arb_lost, o["noise.volume"])
                    # Share of the arbitrageur's private-ordering profit it loses under mev.
                    row["arb_taken"], row["arb_taken_se"], _ = ratio_of_means(arb_lost, p["arb.profit"])
                    # Where the money goes: the mev - private change of every party, per path.
                    attacker = o["sandwich.profit"]
                    builder = o["chain.builder_revenue"] - p["chain.builder_revenue"]
                    lps = o["pool.final_value"] - p["pool.final_value"]
                    row["budget"] = {
                        "noise": float(noise_cost.mean()), "arb": float(arb_lost.mean()),
                        "attacker": float(attacker.mean()), "builder": float(builder.mean()),
                        "lps": float(lps.mean()),
                        "residual": float((attacker + builder + lps - noise_cost - arb_lost).mean()),
                    }
                rows.append(row)
    return depths, tols, rows


def find(rows, depth, tol, ordering):
    for row in rows:
        if row["depth"] == depth and row["tol"] == tol and row["ordering"] == ordering:
            return row
    raise KeyError((depth, tol, ordering))


def fmt(pair, digits=0):
    m, s = pair
    return f"{m:,.{digits}f} ± {s:,.{digits}f}"


def fmt_frac(m, s, digits=3):
    """A fraction as a percentage with its standard error."""
    return f"{100 * m:.{digits}f} ± {100 * s:.{digits}f} %"


# --------------------------------------------------------------------------- tables

def print_table(rows):
    print("| pool | tolerance | ordering | attacks / path | attacker net profit | attacker gross profit "
          "| chain.victim_loss | builder revenue | noise.volume | F = victim_loss / noise.volume |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        pool = pool_label(r["depth"])
        print(f"| {pool} | {r['tol']:g} | {r['ordering']} | {fmt(r['sandwich.attacks'], 1)} "
              f"| {fmt(r['sandwich.profit'])} | {fmt(r['sandwich.gross_profit'])} | {fmt(r['chain.victim_loss'])} "
              f"| {fmt(r['chain.builder_revenue'])} | {fmt(r['noise.volume'])} | {fmt_frac(r['F'], r['F_se'])} |")


def print_headline(depths, tols, rows):
    print()
    print("Headline: F = chain.victim_loss / noise.volume under mev (% of the noise volume, ± SE); "
          "private ordering is exactly 0 everywhere:")
    print()
    print("| pool | " + " | ".join(f"t = {100 * t:g}%" for t in tols) + " |")
    print("|---|" + "---|" * len(tols))
    for depth in depths:
        cells = [fmt_frac(find(rows, depth, t, "mev")["F"], find(rows, depth, t, "mev")["F_se"]) for t in tols]
        print(f"| {pool_label(depth)} | " + " | ".join(cells) + " |")


def print_split(rows):
    print()
    print("mev only. Who loses (shares of noise.volume): F = the sandwiched noise traders' direct loss; the noise "
          "traders' and the arbitrageur's paired mev - private totals. The attacker's attempts and failed bundles "
          "(planned on the pre-block pool), bribes, and reverts and arbitrage trades per path, mev / private:")
    print()
    print("| pool ETH | tolerance | F: noise victims | noise cost (total) | arb lost profit | attempts / path "
          "| failed bundles | bribes | noise reverts mev / private | arb trades mev / private |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["ordering"] != "mev":
            continue
        p = find(rows, r["depth"], r["tol"], "private")
        attempts = r["sandwich.attempts"][0]
        failed = f"{100 * (1.0 - r['sandwich.attacks'][0] / attempts):.1f} %" if attempts > 0 else "-"
        print(f"| {r['depth']:,.0f} | {r['tol']:g} | {fmt_frac(r['F'], r['F_se'])} | {fmt_frac(r['Fn'], r['Fn_se'])} "
              f"| {fmt_frac(r['Fa'], r['Fa_se'])} | {fmt(r['sandwich.attempts'], 1)} | {failed} "
              f"| {fmt(r['chain.bribes'])} | {r['noise.reverts'][0]:.1f} / {p['noise.reverts'][0]:.1f} "
              f"| {r['arb.trades'][0]:.1f} / {p['arb.trades'][0]:.1f} |")


def print_budget(rows, title):
    print()
    print(f"{title}. Where the money goes, mev - private, USDC per path: the losers (noise traders, arbitrageur) "
          "and the gainers (attacker net, builder: gas + bribes, LPs: pool value), with the gainers' shares of the "
          "total loss; residual = gains - losses:")
    print()
    print("| pool ETH | tolerance | noise traders lose | arbitrageur loses | attacker gains | builder gains "
          "| LPs gain | attacker / builder / LPs share | residual |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["ordering"] != "mev":
            continue
        b = r["budget"]
        loss = b["noise"] + b["arb"]
        if r["tol"] == 0.0 and all(v == 0.0 for v in b.values()):
            continue  # nothing happens at t = 0 with the arbitrageur private (check 2)
        shares = " / ".join(f"{100 * b[k] / loss:.0f}%" for k in ("attacker", "builder", "lps")) if loss > 0 else "-"
        print(f"| {r['depth']:,.0f} | {r['tol']:g} | {b['noise']:,.0f} | {b['arb']:,.0f} | {b['attacker']:,.0f} "
              f"| {b['builder']:,.0f} | {b['lps']:,.0f} | {shares} | {b['residual']:+,.1f} |")


def print_side(depths, tols, rows, side_rows):
    print()
    print("Side study: the same sweep with the arbitrageur public (--set agents.arb.private_channel=false). "
          "Under mev the attacker also sandwiches the arbitrageur, whose minimum output is its break-even. Per path: "
          "the arbitrageur's profit under private ordering (the same in both runs) and under mev with a public and "
          "a private arbitrageur, the share of its profit lost, executed sandwiches, F with all victims, and the "
          "noise traders' own total cost (paired mev - private), with the arbitrageur public / private:")
    print()
    print("| pool ETH | tolerance | arb profit, private ordering | arb profit mev, public arb | share lost, public "
          "| share lost, private arb | attacks public / private arb | F (all victims), public arb "
          "| noise cost public / private arb | attacker net public / private arb |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for depth in depths:
        for tol in tols:
            s, m = find(side_rows, depth, tol, "mev"), find(rows, depth, tol, "mev")
            p = find(rows, depth, tol, "private")
            print(f"| {depth:,.0f} | {tol:g} | {fmt(p['arb.profit'])} | {fmt(s['arb.profit'])} "
                  f"| {fmt_frac(s['arb_taken'], s['arb_taken_se'], 1)} | {fmt_frac(m['arb_taken'], m['arb_taken_se'], 1)} "
                  f"| {s['sandwich.attacks'][0]:.1f} / {m['sandwich.attacks'][0]:.1f} "
                  f"| {fmt_frac(s['F'], s['F_se'])} | {100 * s['Fn']:.3f} / {100 * m['Fn']:.3f} % "
                  f"| {s['sandwich.profit'][0]:,.0f} / {m['sandwich.profit'][0]:,.0f} |")


SENSITIVITY_TOLS = (0.001, 0.005, 0.05)  # the tolerances of the bribe table (F at each; arb loss at the last)


def print_bribe(depths, studies):
    """The bribe sensitivity table; studies = [(bribe, rows private arb, rows public arb)], sorted by bribe."""
    print()
    print("Bribe sensitivity: the same sweep with agents.sandwich.bribe_fraction = B, the arbitrageur private and "
          "public (checks 1-4 on each pair: below). F under mev (% of the noise volume) per depth, the share "
          f"of the private arbitrageur's profit lost at t = {100 * SENSITIVITY_TOLS[-1]:g}%, and of the public "
          "arbitrageur's at t = 0 (side study):")
    print()
    depth_text = " / ".join(f"{d:,.0f}" for d in depths)
    print(f"| bribe_fraction | F({100 * SENSITIVITY_TOLS[0]:g}%): {depth_text} ETH | "
          + " | ".join(f"F({100 * t:g}%)" for t in SENSITIVITY_TOLS[1:])
          + f" | private arb's profit lost at t = {100 * SENSITIVITY_TOLS[-1]:g}% "
            "| public arb's profit lost at t = 0 (side) |")
    print("|---|" + "---|" * len(SENSITIVITY_TOLS) + "---|---|")
    for bribe, rows, side_rows in studies:
        label = f"{bribe:g} (default)" if bribe == 0.5 else f"{bribe:g}"  # 0.5: docs/CONFIG.md
        cells = [" / ".join(f"{100 * find(rows, d, t, 'mev')['F']:.3f}" for d in depths) + " %"
                 for t in SENSITIVITY_TOLS]
        cells.append(" / ".join(f"{100 * find(rows, d, SENSITIVITY_TOLS[-1], 'mev')['arb_taken']:.1f}"
                                for d in depths) + " %")
        cells.append(" / ".join(f"{100 * find(side_rows, d, 0.0, 'mev')['arb_taken']:.1f}" for d in depths) + " %")
        print(f"| {label} | " + " | ".join(cells) + " |")


# --------------------------------------------------------------------------- checks

def check_private(data, label):
    failures = []
    for (depth, tol, ordering), o in sorted(data.items()):
        if ordering != "private":
            continue
        for m in MUST_BE_ZERO_PRIVATE:
            if not np.all(o[m] == 0.0):
                bad = int(np.count_nonzero(o[m] != 0.0))
                failures.append(f"{label}, private, {depth:g} ETH, tolerance {tol:g}: {m} is non-zero on {bad} paths "
                                f"(max |value| {np.max(np.abs(o[m])):g})")
    return failures


def check_zero_tolerance(data, depths):
    """mev, t = 0: nothing sandwiched on any path, and every outcome equal to the private run's."""
    failures, lines = [], []
    for depth in depths:
        mev, private = data[(depth, 0.0, "mev")], data[(depth, 0.0, "private")]
        bad = [f"{m} non-zero on {int(np.count_nonzero(mev[m] != 0.0))} paths (max {np.max(np.abs(mev[m])):g})"
               for m in MUST_BE_ZERO_AT_T0 if not np.all(mev[m] == 0.0)]
        differ = [m for m in METRICS if not np.array_equal(mev[m], private[m])]
        if differ:
            bad.append("differs from private on " + ", ".join(
                f"{m} (max |diff| {np.max(np.abs(mev[m] - private[m])):g})" for m in differ))
        f0 = mev["chain.victim_loss"].sum() / mev["noise.volume"].sum()
        lines.append(f"  {depth:>6,.0f} ETH: F(0) = {f0:g}, victim_loss max {np.max(mev['chain.victim_loss']):g}, "
                     f"attempts max {np.max(mev['sandwich.attempts']):g}; "
                     f"{len(METRICS) - len(differ)}/{len(METRICS)} outcomes equal to private on every path"
                     + ("" if not bad else ": FAIL (" + "; ".join(bad) + ")"))
        if bad:
            failures.append(lines[-1].strip())
    return failures, lines


def check_monotone(depths, tols, rows, value="F", psi="F_psi", label="F"):
    """Under mev, value(t_{k+1}) - value(t_k) >= -3 SE of the paired difference, at every depth."""
    failures, lines = [], []
    for depth in depths:
        for t0, t1 in zip(tols, tols[1:]):
            a, b = find(rows, depth, t0, "mev"), find(rows, depth, t1, "mev")
            diff = b[value] - a[value]
            se = paired_se(b[psi], a[psi])
            z = diff / se if se > 0 else (math.inf if diff >= 0 else -math.inf)
            ok = z >= -Z_CHECK
            lines.append(f"  {label}: {depth:>6,.0f} ETH, tolerance {t0:g} -> {t1:g}: "
                         f"{100 * diff:+.4f} % ± {100 * se:.4f} % (z = {z:+.1f}) {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(lines[-1].strip())
    return failures, lines


def check_side_private(data, side, attrs, side_attrs):
    """The arbitrageur's channel cannot matter under private ordering: bit-identical outcomes."""
    failures = []
    for key in ("seed", "paths", "blocks"):
        if str(attrs.get(key)) != str(side_attrs.get(key)):
            failures.append(f"--public-arb file has {key} {side_attrs.get(key)}, the main file {attrs.get(key)}")
    if failures:
        return failures
    if set(side) != set(data):
        return ["--public-arb file does not have the main file's scenarios"]
    for key, o in sorted(data.items()):
        if key[2] != "private":
            continue
        differ = [m for m in METRICS if not np.array_equal(o[m], side[key][m])]
        if differ:
            failures.append(f"private, {key[0]:g} ETH, tolerance {key[1]:g}: {', '.join(differ)} differ between "
                            "the arbitrageur public and private")
    return failures


# --------------------------------------------------------------------------- theory

def setup_from_config(config, attrs):
    """Pool fee, initial ETH price and the noise traders' size law, from the resolved config (or None)."""
    pool = next(m for m in config["markets"] if m["id"] == "pool")
    noise = next(a for a in config["agents"] if a.get("id") == "noise")
    size = noise.get("size_numeraire", {})
    if size.get("dist", "lognormal") != "lognormal":
        return None
    return {"fee": float(pool.get("fee", 0.003)), "price": float(config["price"]["initial"]["ETH"]),
            "median": float(size.get("median", 1000)), "sigma": float(size.get("sigma", 1.0)),
            "arrivals": float(noise.get("arrivals_per_block", 0.5)) * int(attrs["blocks"])}


def theory(depths, setup):
    """{depth: (v_min, S, expected swaps above v_min per path)}: see sandwichable_share."""
    if setup is None:
        return {}
    out = {}
    for d in depths:
        v_min, share = sandwichable_share(setup["fee"], d * setup["price"], setup["median"], setup["sigma"])
        count = normal_cdf(-(math.log(v_min / setup["median"]) / setup["sigma"]))  # P(size > v_min)
        out[d] = (v_min, share, setup["arrivals"] * count)
    return out


def print_theory(depths, tols, rows, bound):
    if not bound:
        print("(noise sizes are not lognormal: the back-of-envelope comparison with t x S is skipped)")
        return
    positive = [t for t in tols if t > 0]
    print()
    print("Back of the envelope: a victim pushed to its limit loses t of its output, and only victims above v_min")
    print("(beta > 0 in markets/sandwich.hpp) can be sandwiched at a profit; S = share of the noise volume above")
    print("v_min. Measured F(t) divided by t x S; and the expected number of noise swaps above v_min per path")
    print("against the attacker's attempts per path at the largest tolerance:")
    print()
    print("| pool ETH | v_min (USDC) | S | " + " | ".join(f"t = {t:g}" for t in positive)
          + f" | swaps > v_min / path | attempts at t = {tols[-1]:g} |")
    print("|---|---|---|" + "---|" * len(positive) + "---|---|")
    for depth in depths:
        v_min, share, count = bound[depth]
        cells = [f"{find(rows, depth, t, 'mev')['F'] / (t * share):.3f}" for t in positive]
        attempts = find(rows, depth, tols[-1], "mev")["sandwich.attempts"][0]
        print(f"| {depth:,.0f} | {v_min:,.0f} | {share:.3f} | " + " | ".join(cells)
              + f" | {count:.1f} | {attempts:.1f} |")


# --------------------------------------------------------------------------- figure

def figure(depths, tols, rows, side_rows, png_path, attrs, bound):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, NullLocator

    colors = {d: c for d, c in zip(depths, ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange"))}
    positive = [t for t in tols if t > 0]
    # Log tolerance axis; t = 0 is drawn one step left of the smallest tolerance, labelled "0".
    zero_x = min(positive) / 2.5 if positive else 1e-3
    x_of = {t: (t if t > 0 else zero_x) for t in tols}
    fig, axes = plt.subplots(2, 2, figsize=(13, 10), constrained_layout=True)
    (ax_f, ax_n), (ax_p, ax_a) = axes

    def line(ax, table, depth, ordering, key, se_key=None, scale=1.0, tol_list=tols, kind="main"):
        xs, ys, es = [], [], []
        for tol in tol_list:
            r = find(table, depth, tol, ordering)
            m, s = r[key] if se_key is None else (r[key], r[se_key])
            xs.append(x_of[tol])
            ys.append(m * scale)
            es.append(Z_CHECK * s * scale)
        style = {"main": dict(fmt="o", linestyle="-", markersize=4, markerfacecolor=colors[depth]),
                 "private": dict(fmt="s", linestyle="--", markersize=5, markerfacecolor="white"),
                 "side": dict(fmt="^", linestyle=":", markersize=5, markerfacecolor="white")}[kind]
        ax.errorbar(xs, ys, yerr=es, color=colors[depth], capsize=3, linewidth=1.6, **style)

    for depth in depths:
        # (a) the headline: F, mev and private ordering, the arbitrageur private (default).
        line(ax_f, rows, depth, "mev", "F", "F_se", scale=100)
        line(ax_f, rows, depth, "private", "F", "F_se", scale=100, kind="private")
        # (b) who loses, log scale (t > 0 only: everything is 0 at t = 0).
        line(ax_n, rows, depth, "mev", "F", "F_se", scale=100, tol_list=positive)
        ax_n.plot(positive, [100 * find(rows, depth, t, "mev")["Fa"] for t in positive],
                  linestyle=":", color=colors[depth], linewidth=1.8)
        if depth in bound:
            ax_n.plot(positive, [100 * t * bound[depth][1] for t in positive], linestyle="-.",
                      color=colors[depth], linewidth=0.9, alpha=0.6)
        # (c) the attacker's net profit; (d) the arbitrageur's lost profit; side study dotted.
        line(ax_p, rows, depth, "mev", "sandwich.profit")
        line(ax_a, rows, depth, "mev", "arb_taken", "arb_taken_se", scale=100)
        if side_rows:
            line(ax_p, side_rows, depth, "mev", "sandwich.profit", kind="side")
            line(ax_a, side_rows, depth, "mev", "arb_taken", "arb_taken_se", scale=100, kind="side")
    ax_n.plot(positive, [100 * t for t in positive], color="gray", linewidth=1.0, linestyle="--")
    ax_n.set_yscale("log")

    for ax in axes.flat:
        ax.set_xscale("log")
        ticks = positive if ax is ax_n else tols
        ax.set_xticks([x_of[t] for t in ticks])
        ax.set_xticklabels([f"{100 * t:g}%" if t > 0 else "0" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.grid(True, alpha=0.3)
        ax.set_xlabel("noise traders' slippage tolerance t (fixed; t = 0 drawn off the log scale)"
                      if ax is not ax_n else "noise traders' slippage tolerance t (fixed; log scale)")
    ax_p.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax_f.annotate("t = 0: F = 0 exactly on every path\n(arbitrageur private, no slippage room)",
                  xy=(x_of[tols[0]], 0.0), xytext=(x_of[tols[0]], 0.22 * ax_f.get_ylim()[1]),
                  fontsize=8, ha="left", arrowprops=dict(arrowstyle="->", color="gray"))
    for ax in (ax_f, ax_p, ax_a):
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    if side_rows:
        ax_a.set_ylim(top=105)
    ax_f.set_ylabel("chain.victim_loss / noise.volume (%)")
    ax_f.set_title("(a) extracted F = chain.victim_loss / noise.volume")
    ax_n.set_ylabel("share of noise volume (%), log scale")
    ax_n.set_title("(b) who loses under mev (arbitrageur private)")
    ax_p.set_ylabel("USDC per path (6 hours)")
    ax_p.set_title("(c) sandwich attacker's net profit under mev (after gas and the 50% bribe)")
    ax_a.set_ylabel("% of its private-ordering profit")
    ax_a.set_title("(d) arbitrageur's profit lost under mev (paired with private ordering)")

    handles = [Line2D([], [], color=colors[d], linewidth=2, label=f"pool {pool_label(d)}") for d in depths]
    handles += [Line2D([], [], color="black", linestyle="-", marker="o", markersize=4,
                       label="mev ordering, arbitrageur private (default)"),
                Line2D([], [], color="black", linestyle="--", marker="s", markerfacecolor="white", markersize=5,
                       label="private ordering: exactly 0")]
    ax_f.legend(handles=handles, fontsize=8, loc="upper left")
    handles_n = [Line2D([], [], color="black", linestyle="-", marker="o", markersize=4,
                        label="noise traders' direct loss F(t)"),
                 Line2D([], [], color="black", linestyle=":", linewidth=1.8,
                        label="arbitrageur's lost profit (mev - private)"),
                 Line2D([], [], color="gray", linestyle="--", label="t: every swap loses its whole tolerance")]
    if bound:
        handles_n.append(Line2D([], [], color="black", linestyle="-.", linewidth=0.9, alpha=0.6,
                                label="t x S: S = volume share of swaps > v_min"))
    ax_n.legend(handles=handles_n, fontsize=8, loc="lower right")
    handles_s = [Line2D([], [], color="black", linestyle="-", marker="o", markersize=4,
                        label="arbitrageur private (default)")]
    if side_rows:
        handles_s.append(Line2D([], [], color="black", linestyle=":", marker="^", markerfacecolor="white",
                                markersize=5, label="side study: arbitrageur public (private_channel: false)"))
    ax_p.legend(handles=handles_s, fontsize=8, loc="upper left")
    ax_a.legend(handles=handles_s, fontsize=8, loc="center right")
    n = int(attrs.get("paths", 0))
    blocks = int(attrs.get("blocks", 0))
    hours = blocks * float(attrs.get("block_time_seconds", 12)) / 3600
    fig.suptitle(f"Sandwich attacks on a 30 bp ETH/USDC pool: {n:,} paths x {blocks:,} blocks ({hours:g} h) per "
                 f"scenario; error bars ±{Z_CHECK:g} SE (ratios of means: delta method)", fontsize=11)
    fig.savefig(png_path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main

def describe(path, data, attrs, run_info, rows):
    n = rows[0]["n"]
    wall = run_info.get("wall_seconds")
    wall_text = f", {float(wall):.1f} s on {run_info.get('threads')} thread(s)" if wall is not None else ""
    return (f"{path}: {len(data)} scenarios x {n:,} paths x {int(attrs['blocks']):,} blocks "
            f"(seed {attrs['seed']}, defisim {attrs.get('defisim_version')}, {attrs.get('source_revision')}"
            f"{wall_text})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="?", default=os.path.join(REPO, "results", "sandwich.h5"))
    parser.add_argument("--public-arb", default=None,
                        help="results of the same config with --set agents.arb.private_channel=false (side study)")
    parser.add_argument("--bribe", nargs=3, action="append", default=[],
                        metavar=("B", "PRIVATE_ARB_H5", "PUBLIC_ARB_H5"),
                        help="bribe sensitivity: the config with --set agents.sandwich.bribe_fraction=B, the "
                             "arbitrageur private and public (repeatable; needs --public-arb)")
    parser.add_argument("--figure", default=os.path.join(HERE, "sandwich.png"))
    args = parser.parse_args(argv)
    side = side_rows = None
    if args.bribe and not args.public_arb:
        parser.error("--bribe needs --public-arb (the default bribe's pair)")
    try:
        data, attrs, run_info, config = load(args.results)
        if not arbitrageur_is_private(config):
            raise InputError(f"{args.results}: the arbitrageur is public (private_channel: false); the main run "
                             "must use the default (pass that file as --public-arb)")
        depths, tols, rows = analyse(data)
        if 0.0 not in tols:
            raise InputError(f"{args.results}: the sweep has no tolerance 0 (the control)")
        if args.public_arb:
            side, side_attrs, side_info, side_config = load(args.public_arb)
            if arbitrageur_is_private(side_config):
                raise InputError(f"{args.public_arb}: the arbitrageur is private; run with "
                                 "--set agents.arb.private_channel=false")
            side_depths, side_tols, side_rows = analyse(side)
            if (side_depths, side_tols) != (depths, tols):
                raise InputError(f"{args.public_arb}: not the main file's depths and tolerances")
        bribes = []  # [(bribe, data private arb, rows, data public arb, rows, attrs private, attrs public)]
        for value, private_path, public_path in args.bribe:
            pair = []
            for path, private in ((private_path, True), (public_path, False)):
                b_data, b_attrs, _, b_config = load(path)
                if arbitrageur_is_private(b_config) != private:
                    raise InputError(f"{path}: the arbitrageur is {'public' if private else 'private'}; "
                                     f"--bribe takes the {'private' if private else 'public'} file "
                                     f"{'first' if private else 'second'}")
                if abs(bribe_fraction(b_config) - float(value)) > 1e-12:
                    raise InputError(f"{path}: bribe_fraction {bribe_fraction(b_config):g}, not {value}")
                b_depths, b_tols, b_rows = analyse(b_data)
                if (b_depths, b_tols) != (depths, tols) or not set(SENSITIVITY_TOLS) <= set(tols):
                    raise InputError(f"{path}: not the main file's depths and tolerances")
                pair += [b_data, b_rows, b_attrs]
            bribes.append((float(value), pair[0], pair[1], pair[3], pair[4], pair[2], pair[5]))
    except (OSError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    hours = int(attrs["blocks"]) * float(attrs["block_time_seconds"]) / 3600
    print("# " + describe(args.results, data, attrs, run_info, rows))
    if side is not None:
        print("# side study: " + describe(args.public_arb, side, side_attrs, side_info, side_rows))
    print()
    print(f"Per path ({hours:g} hours), mean ± standard error over paths, USDC at reference prices. "
          "F is a ratio of means with a delta-method SE. The arbitrageur sends privately (the default).")
    print()
    print_table(rows)
    print_headline(depths, tols, rows)
    print_split(rows)
    print_budget(rows, "Arbitrageur private (default)")
    bound = theory(depths, setup_from_config(config, attrs))
    print_theory(depths, tols, rows, bound)
    if side is not None:
        print_side(depths, tols, rows, side_rows)
        print_budget(side_rows, "Side study, arbitrageur public")

    print()
    failures = check_private(data, "main")
    if side is not None:
        failures += check_private(side, "public arb")
    print("check 1 (private: bundles, victim_loss, bribes, attempts, attacks, attacker profit exactly 0 on every "
          f"path{', both files' if side is not None else ''}): {'FAIL' if failures else 'pass'}")
    for line in failures:
        print("  " + line)
    zero_failures, lines = check_zero_tolerance(data, depths)
    print("check 2 (mev, tolerance 0, arbitrageur private: F(0) = 0 and nothing attempted on every path, every "
          f"outcome equal to private ordering's): {'FAIL' if zero_failures else 'pass'}")
    for line in lines:
        print(line)
    mono_failures, lines = check_monotone(depths, tols, rows)
    print(f"check 3 (mev: F non-decreasing in tolerance within {Z_CHECK:g} SE of the paired difference, "
          f"at each depth): {'FAIL' if mono_failures else 'pass'}")
    for line in lines:
        print(line)
    side_failures = []
    if side is not None:
        side_failures = check_side_private(data, side, attrs, side_attrs)
        print("check 4 (private ordering bit-identical with the arbitrageur public and private): "
              f"{'FAIL' if side_failures else 'pass'}")
        for line in side_failures:
            print("  " + line)
    else:
        print("check 4 skipped (no --public-arb file)")
    _, noise_lines = check_monotone(depths, [t for t in tols if t > 0], rows, "Fn", "Fn_psi", "noise cost")
    print("(reported, not checked: the noise traders' total cost per volume, t > 0)")
    for line in noise_lines:
        print(line)
    bribe_failures = []
    if bribes:
        print_bribe(depths, sorted([(bribe_fraction(config), rows, side_rows)]
                                   + [(b[0], b[2], b[4]) for b in bribes], key=lambda study: study[0]))
        for b, b_data, b_rows, b_side, b_side_rows, b_attrs, b_side_attrs in bribes:
            found = check_private(b_data, f"bribe {b:g}") + check_private(b_side, f"bribe {b:g}, public arb")
            found += check_zero_tolerance(b_data, depths)[0] + check_monotone(depths, tols, b_rows)[0]
            found += check_side_private(b_data, b_side, b_attrs, b_side_attrs)
            print(f"checks 1-4 with bribe_fraction {b:g}: {'FAIL' if found else 'pass'}")
            for line in found:
                print("  " + line)
            bribe_failures += found

    figure(depths, tols, rows, side_rows, args.figure, attrs, bound)
    print(f"\nwrote {args.figure}")
    failures += zero_failures + mono_failures + side_failures + bribe_failures
    return exit_status(failures)


if __name__ == "__main__":
    sys.exit(main())
