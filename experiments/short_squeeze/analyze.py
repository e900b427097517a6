#!/usr/bin/env python3
"""A short squeeze on a lending market: tables, figure, checks.

    experiments/short_squeeze/analyze.py [results/short_squeeze.h5] [--wallet results/short_squeeze_wallet.h5]
                                         [--rivals results/short_squeeze_rivals.h5]
                                         [--figure experiments/short_squeeze/short_squeeze.png]

Reads the results of experiments/short_squeeze/short_squeeze.yaml (close
factor x liquidation bonus x CRV/USDC pool depth; the liquidator buys the CRV
it repays on the pool) and, with --wallet, of short_squeeze_wallet.yaml (the
control: the liquidator repays from its own CRV) and, with --rivals, of
short_squeeze_rivals.yaml (3M pool, bonus 5%: one liquidator and one chunk,
3 chunks, a second liquidator). Prints markdown tables
(mean +- standard error over paths), draws the figure and exits 0 if every
check passes, 1 if one fails, 2 on unusable input. The shortfall of a path is
bank.bad_debt (written off, valued at the price when written off) +
bank.underwater_debt (debt above collateral at the end, not yet written off,
at the end price): what the CRV lenders are owed and will not get. A table
also values the written-off CRV at the end price (bank.supplier_loss).

Checks (each can fail):
  1. One liquidator, one chunk: nothing it sends reverts (liq.reverts == 0)
     and every liquidation has its own executed purchase (purchases =
     crv_pool.swaps - arb.trades == liq.liquidations), on every path: the
     liquidator holds no CRV, so a liquidation can only repay CRV it has just
     bought (before the fix, a quarter of the purchases reverted on rounding).
  2. The liquidator never pushes the pool above the price where the bonus
     stops paying: max over samples of spot / reference <= (1 + b)(1 - fee)
     x (1 + 2 fee phi / (1 - fee)) (spot_cap: the fee stays in the pool), in
     every scenario.
  3. Liquidation volume > 0 on every path of every scenario.
  4. Shallowest pool, bonus 5%: debt above collateral at the end on >= 90% of
     paths, and a median shortfall above 25% of the debt at opening.
  5. A deeper pool never raises the shortfall: paired difference (deeper -
     shallower) <= 3 paired standard errors, per close factor and bonus.
  6. A higher bonus never raises it either (here, where the pool limits the
     liquidator, the bonus buys more CRV per block): paired, <= 3 SE.
  7. The close factor does not matter (the pool, not the close factor, caps each
     liquidation): |paired difference| <= 3 SE + 1% of the mean, per bonus and depth.
  8. With --wallet: the control has no shortfall at all on any path, and
     liquidates on every path.
  9. With --rivals, 3 chunks: purchases never revert (executed purchases >=
     liquidation transactions), at most 1% of its transactions revert (a last
     chunk can revert `healthy` once earlier chunks restored the position),
     and the shortfall is the one-chunk shortfall within 3 paired SE + 2%.
 10. With --rivals, a second identical liquidator (same tip, after the
     first in the block): it never liquidates (its purchase, priced on the
     pool as the block started, reverts after the first one's), and the
     shortfall is bit-identical to one liquidator on every path.

Estimators: paths are independent, SE = sd / sqrt(n); scenarios share random
numbers path by path (common random numbers), so differences are paired.
VaR99 is numpy's linear 99% quantile, ES99 the mean of the values at or
beyond it (analysis/FORMAT.md).

Needs numpy, h5py, matplotlib and yaml (Debian: python3-numpy python3-h5py
python3-matplotlib python3-yaml).
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
    from defisim.experiment import InputError, require_swept, scenario_outcomes  # noqa: E402
    from defisim.stats import expected_shortfall, mean_se, var_ci  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with a python3 that has numpy, h5py, "
             "matplotlib and yaml (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib "
             "python3-yaml)")

CF_KEY = "markets.bank.close_factor"
BONUS_KEY = "markets.bank.assets.USDC.liquidation_bonus"
DEPTH_KEY = "markets.crv_pool.reserves"
OUTCOMES = ("bank.bad_debt", "bank.underwater_debt", "bank.supplier_loss", "bank.liquidation_volume", "bank.liquidations",
            "bank.collateral_seized_value", "bank.final_debt_value", "liq.liquidations", "liq.reverts",
            "liq.profit", "liq.skipped_unprofitable", "crv_pool.swaps", "arb.trades", "whale.borrowed_value")
RIVAL_OUTCOMES = ("rival.liquidations", "rival.reverts", "rival.profit")
SERIES = ("bank.debt_value", "bank.supply_value", "bank.bad_debt", "reference.CRV", "crv_pool.spot_price")
Z = 3.0


# mean_se (mean, sd(ddof=1)/sqrt(n)) comes from analysis/defisim (defisim.stats).

def var_es99(x):
    """VaR99 (numpy's linear 99th percentile) and ES99 (mean of the values >= it): the package's default
    ("linear") definitions, as the file's summary."""
    return var_ci(x, 0.99).value, expected_shortfall(x, 0.99)


def money(x: float) -> str:
    return f"{x / 1e6:,.2f}M"


def load(path: str, swept: bool):
    """({(cf, bonus, depth_usdc): {"o": {metric: array}, "s": {metric: array}, "blocks": array}}, config)."""
    data = {}
    with open_results(path) as results:
        config = yaml.safe_load(results.config)
        for scenario in results.scenarios():
            params = require_swept(results, scenario, (CF_KEY, BONUS_KEY, DEPTH_KEY) if swept else (CF_KEY, BONUS_KEY))
            if swept:
                match = re.search(r"USDC\s*:\s*([0-9.eE+-]+)", params[DEPTH_KEY])
                if not match:
                    raise InputError(f"cannot read the USDC reserve from {DEPTH_KEY} = {params[DEPTH_KEY]!r}")
                depth = float(match.group(1))
            else:
                pool = next(m for m in config["markets"] if m["id"] == "crv_pool")
                depth = float(pool["reserves"]["USDC"])
            key = (float(params[CF_KEY]), float(params[BONUS_KEY]), depth)
            index = scenario["index"]
            entry = {"o": scenario_outcomes(results, scenario, OUTCOMES), "s": {}}
            for metric in SERIES:
                blocks, values = results.series(index, metric)
                entry["s"][metric] = np.asarray(values, dtype=float)
            entry["hours"] = results.hours(blocks)
            data[key] = entry
    return data, config


def load_rivals(path: str):
    """{"base" | "chunks" | "rival": {metric: array}} from short_squeeze_rivals.yaml's three scenarios."""
    out = {}
    with open_results(path) as results:
        for scenario in results.scenarios():
            params = scenario["parameters"]
            try:
                chunks = int(float(params["agents.liq.chunks"]))
                rival = float(params["agents.rival.capital.USDC"]) > 0
            except KeyError as error:
                raise InputError(f"{path}: scenario {scenario['name']} does not set {error}") from None
            name = "rival" if rival else ("chunks" if chunks > 1 else "base")
            out[name] = scenario_outcomes(results, scenario, OUTCOMES[:-1] + RIVAL_OUTCOMES)
            out[name]["chunks"] = chunks
    if set(out) != {"base", "chunks", "rival"}:
        raise InputError(f"{path}: expected the scenarios base, chunks and rival, found {sorted(out)}")
    return out


def lenders_crv(config) -> float:
    bank = next(m for m in config["markets"] if m["id"] == "bank")
    crv = bank["assets"]["CRV"]
    rate = crv.get("rate", {})
    if any(float(rate.get(k, 1)) != 0.0 for k in ("base_rate", "slope_below_kink", "slope_above_kink")):
        raise InputError("the CRV rate curve must be zero (the whale's collateral is recovered from supply_value)")
    return float(crv["initial_supply"])


def spot_cap(bonus: float, fee: float) -> float:
    """The highest pool spot / reference a liquidator's purchase can leave.

    It buys until the marginal cost R_pay R_debt / ((R_debt - r)^2 (1 - fee))
    equals P (1 + b). The fee stays in the pool (Uniswap v2), so the spot after,
    (R_pay + cost) / (R_debt - r), is that marginal cost x (1 - fee) x
    (1 + fee r / ((1 - fee) R_debt)); r / R_debt = phi from a pool at the
    reference, a little more from one below it: 2 phi bounds it."""
    phi = 1.0 - 1.0 / math.sqrt((1.0 + bonus) * (1.0 - fee))
    return (1.0 + bonus) * (1.0 - fee) * (1.0 + 2.0 * fee * phi / (1.0 - fee))


def whale_paths(entry, crv_supply: float):
    """(debt value, collateral value) per path and sample, at reference prices.

    With zero interest the lenders' CRV claim is exactly initial_supply until a
    write-off, and a write-off happens only once the collateral is gone, so the
    whale's USDC collateral = supply_value - initial_supply x CRV price before
    it and 0 after."""
    s = entry["s"]
    debt = s["bank.debt_value"]
    collateral = s["bank.supply_value"] - crv_supply * s["reference.CRV"]
    collateral = np.where(s["bank.bad_debt"] > 0.0, 0.0, np.maximum(collateral, 0.0))
    return debt, collateral


def collateral_gone(entry, crv_supply: float):
    """Per path: the whale's collateral ran out (below 1 USDC at the end, or written off).

    A liquidation that repays a hair less than the collateral covers (the
    rounding margin of a purchased repayment) leaves ~1e-9 of it. Since
    fc7738f that is below the bank's write-off threshold (1e-6 of the debt),
    so the debt is written off; before, at 1e-12, it stayed "underwater"."""
    debt, collateral = whale_paths(entry, crv_supply)
    return (collateral[:, -1] < 1.0) | (entry["o"]["bank.bad_debt"] > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default=os.path.join(REPO, "results", "short_squeeze.h5"))
    parser.add_argument("--wallet", help="results of short_squeeze_wallet.yaml (the control)")
    parser.add_argument("--rivals", help="results of short_squeeze_rivals.yaml (chunks, a second liquidator)")
    parser.add_argument("--figure", help="write the figure here (png)")
    args = parser.parse_args()
    try:
        data, config = load(args.results, swept=True)
        control = load(args.wallet, swept=False)[0] if args.wallet else None
        rivals = load_rivals(args.rivals) if args.rivals else None
        crv_supply = lenders_crv(config)
    except (InputError, OSError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    pool = next(m for m in config["markets"] if m["id"] == "crv_pool")
    fee = float(pool.get("fee", 0.003))
    cfs = sorted({k[0] for k in data})
    bonuses = sorted({k[1] for k in data})
    depths = sorted({k[2] for k in data})
    failures = []

    def check(ok: bool, text: str):
        print(f"- [{'PASS' if ok else 'FAIL'}] {text}")
        if not ok:
            failures.append(text)

    short = {k: v["o"]["bank.bad_debt"] + v["o"]["bank.underwater_debt"] for k, v in data.items()}
    any_key = next(iter(data))
    paths = len(short[any_key])
    debt0 = float(data[any_key]["o"]["whale.borrowed_value"].mean())
    print(f"# Short squeeze: {args.results}\n\n{paths} paths per scenario; whale debt at opening {money(debt0)} "
          "USDC of CRV. Shortfall = bad debt written off + debt above collateral at the end (USDC).\n")

    # ---------------------------------------------------------------- main table
    print("| pool (USDC a side) | close factor | bonus | shortfall mean ± SE | P(>0) | median | VaR99 | ES99 "
          "| collateral gone | liquidated debt | liquidations | liquidator profit |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for depth in depths:
        for cf in cfs:
            for bonus in bonuses:
                key = (cf, bonus, depth)
                o = data[key]["o"]
                m, se = mean_se(short[key])
                var, es = var_es99(short[key])
                gone = float(collateral_gone(data[key], crv_supply).mean())
                print(f"| {depth / 1e6:g}M | {cf:g} | {bonus:.0%} | {money(m)} ± {money(se)} | "
                      f"{(short[key] > 0).mean():.1%} | {money(float(np.median(short[key])))} | {money(var)} | "
                      f"{money(es)} | {gone:.1%} | {money(o['bank.liquidation_volume'].mean())} | "
                      f"{o['bank.liquidations'].mean():,.0f} | {money(o['liq.profit'].mean())} |")

    # ---------------------------------------------------------------- valuation of the written-off debt
    print("\nWritten off vs underwater (close factor " f"{cfs[0]:g}; USDC per path, means). bank.bad_debt values "
          "the CRV written off at the price of the moment it was written off; bank.supplier_loss values the same "
          "CRV (the lenders' loss; no reserves, zero rates) at the end price, like bank.underwater_debt. "
          "At end prices = supplier loss + underwater.\n")
    print("| pool | bonus | shortfall (written off + underwater) | written off, at write-off prices "
          "| the same CRV at the end price | underwater at end | at end prices |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for depth in depths:
        for bonus in bonuses:
            o = data[(cfs[0], bonus, depth)]["o"]
            end = o["bank.supplier_loss"] + o["bank.underwater_debt"]
            print(f"| {depth / 1e6:g}M | {bonus:.0%} | {money(short[(cfs[0], bonus, depth)].mean())} "
                  f"| {money(o['bank.bad_debt'].mean())} | {money(o['bank.supplier_loss'].mean())} "
                  f"| {money(o['bank.underwater_debt'].mean())} | {money(end.mean())} ± {money(mean_se(end)[1])} |")

    # ---------------------------------------------------------------- capacity per block
    print("\nPer liquidation the liquidator buys CRV until the pool's marginal cost equals what the CRV earns, "
          "P (1 + b): a share phi = 1 - 1/sqrt((1 + b)(1 - fee)) of the pool's CRV, i.e. phi x the USDC side "
          "in value, leaving the pool at (1 + b)(1 - fee) x the reference.\n")
    print("| pool | bonus | phi | phi x USDC side (block 0) | repaid per liquidation (mean) | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for depth in depths:
        for bonus in bonuses:
            o = data[(cfs[0], bonus, depth)]["o"]
            phi = 1.0 - 1.0 / math.sqrt((1.0 + bonus) * (1.0 - fee))
            per = o["bank.liquidation_volume"].sum() / o["bank.liquidations"].sum()
            print(f"| {depth / 1e6:g}M | {bonus:.0%} | {phi:.4f} | {phi * depth:,.0f} | {per:,.0f} | "
                  f"{per / (phi * depth):.2f} |")

    # ---------------------------------------------------------------- timeline
    print("\nTimeline (close factor " f"{cfs[0]:g}, bonus {bonuses[0]:.0%}): median hour at which the health factor "
          "first fell below 1 and at which the debt first exceeded the collateral (paths where it did), "
          "and the median whale debt and collateral at the end.\n")
    print("| pool | HF < 1 (h) | debt > collateral (h) | share of paths insolvent | debt at end | collateral at end |")
    print("|---:|---:|---:|---:|---:|---:|")
    threshold = float(next(m for m in config["markets"] if m["id"] == "bank")["assets"]["USDC"]["liquidation_threshold"])
    for depth in depths:
        entry = data[(cfs[0], bonuses[0], depth)]
        debt, collateral = whale_paths(entry, crv_supply)
        hours = entry["hours"]
        liquidatable = collateral * threshold < debt
        insolvent = (collateral < debt) & (debt > 0) | (entry["s"]["bank.bad_debt"] > 0)
        first = lambda mask: np.where(mask.any(axis=1), hours[np.argmax(mask, axis=1)], np.nan)  # noqa: E731
        t_liq, t_ins = first(liquidatable), first(insolvent)
        print(f"| {depth / 1e6:g}M | {np.nanmedian(t_liq):.1f} | "
              f"{np.nanmedian(t_ins) if np.isfinite(t_ins).any() else float('nan'):.1f} | "
              f"{np.isfinite(t_ins).mean():.1%} | {money(float(np.median(debt[:, -1])))} | "
              f"{money(float(np.median(collateral[:, -1])))} |")

    # ---------------------------------------------------------------- control
    if control is not None:
        print("\nControl (short_squeeze_wallet.yaml): the liquidator repays from its own CRV.\n")
        print("| close factor | bonus | shortfall mean | paths with shortfall | liquidated debt | liquidations |")
        print("|---:|---:|---:|---:|---:|---:|")
        for key in sorted(control):
            o = control[key]["o"]
            s = o["bank.bad_debt"] + o["bank.underwater_debt"]
            print(f"| {key[0]:g} | {key[1]:.0%} | {money(s.mean())} | {int((s > 0).sum())} | "
                  f"{money(o['bank.liquidation_volume'].mean())} | {o['bank.liquidations'].mean():,.1f} |")

    # ---------------------------------------------------------------- rivals
    if rivals is not None:
        print("\nChunks and a rival (short_squeeze_rivals.yaml: 3M pool, bonus 5%, close factor 0.5, "
              f"{len(rivals['base']['liq.liquidations'])} paths; per path means).\n")
        print("| scenario | shortfall mean ± SE | liquidated debt | liq transactions | liq reverts | executed purchases "
              "| liq profit | rival liquidations | rival reverts | rival profit |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, label in (("base", "one liquidator, 1 chunk"), ("chunks", "one liquidator, 3 chunks"),
                            ("rival", "two liquidators, 1 chunk")):
            o = rivals[name]
            m, se = mean_se(o["bank.bad_debt"] + o["bank.underwater_debt"])
            print(f"| {label} | {money(m)} ± {money(se)} | {money(o['bank.liquidation_volume'].mean())} | "
                  f"{o['liq.liquidations'].mean():,.1f} | {o['liq.reverts'].mean():,.2f} | "
                  f"{(o['crv_pool.swaps'] - o['arb.trades']).mean():,.1f} | {money(o['liq.profit'].mean())} | "
                  f"{o['rival.liquidations'].mean():,.1f} | {o['rival.reverts'].mean():,.1f} | "
                  f"{o['rival.profit'].mean():,.0f} |")

    # ---------------------------------------------------------------- checks
    print("\n## Checks\n")
    bad, reverts, unmatched = [], 0.0, 0.0
    for key, entry in data.items():
        o = entry["o"]
        purchases = o["crv_pool.swaps"] - o["arb.trades"]
        reverts += float(o["liq.reverts"].sum())
        unmatched += float(np.abs(purchases - o["liq.liquidations"]).sum())
        if (o["liq.reverts"] != 0).any() or not np.array_equal(purchases, o["liq.liquidations"]):
            bad.append(key)
    check(not bad, f"1. one liquidator, one chunk: {reverts:.0f} of its transactions reverted (0 expected) and "
          f"{unmatched:.0f} liquidations without their own executed purchase or purchases without a liquidation "
          "(0 expected), over all paths and scenarios" + (f"; fails in {bad}" if bad else ""))
    worst = []
    for (cf, bonus, depth), entry in data.items():
        ratio = float((entry["s"]["crv_pool.spot_price"] / entry["s"]["reference.CRV"]).max())
        cap = spot_cap(bonus, fee)
        worst.append((ratio / cap, depth, bonus, ratio))
    ratio_cap, depth, bonus, ratio = max(worst)
    check(ratio_cap <= 1.0, f"2. pool spot / reference never above (1 + b)(1 - fee)(1 + 2 fee phi / (1 - fee)): "
          f"worst {ratio:.5f} (pool {depth / 1e6:g}M, bonus {bonus:.0%}; cap {spot_cap(bonus, fee):.5f})")
    zero = [k for k, v in data.items() if (v["o"]["bank.liquidation_volume"] <= 0).any()]
    check(not zero, "3. liquidation volume > 0 on every path of every scenario" + (f"; not in {zero}" if zero else ""))
    shallow = (cfs[0], bonuses[0], depths[0])
    share = float((short[shallow] > 0).mean())
    median = float(np.median(short[shallow]))
    check(share >= 0.9 and median > 0.25 * debt0,
          f"4. shallowest pool ({depths[0] / 1e6:g}M, bonus {bonuses[0]:.0%}): debt above collateral at the end on "
          f"{share:.1%} of paths (>= 90%), median shortfall {money(median)} (> 25% of {money(debt0)})")
    # The largest paired z-score of "more shortfall" over neighbouring values
    # of one parameter (`key(step_from, step_to, fixed...)` names the two
    # scenarios): z > Z would mean the step increases the shortfall.
    def worst_increase(steps, fixed_a, fixed_b, key):
        worst = None
        for x in fixed_a:
            for y in fixed_b:
                for a, b in zip(steps, steps[1:]):
                    m, se = mean_se(short[key(b, x, y)] - short[key(a, x, y)])
                    z = m / se if se > 0 else (0.0 if m <= 0 else math.inf)
                    if worst is None or z > worst[0]:
                        worst = (z, x, y, a, b, m)
        return worst

    z, cf, bonus, a, b, m = worst_increase(depths, cfs, bonuses, lambda step, cf, bonus: (cf, bonus, step))
    check(z <= Z, f"5. deeper pool -> no more shortfall: largest paired z = {z:.2f} (close factor {cf:g}, bonus "
          f"{bonus:.0%}, {a / 1e6:g}M -> {b / 1e6:g}M: {money(m)})")
    z, cf, depth, a, b, m = worst_increase(bonuses, cfs, depths, lambda step, cf, depth: (cf, step, depth))
    check(z <= Z, f"6. higher bonus -> no more shortfall: largest paired z = {z:.2f} (close factor {cf:g}, pool "
          f"{depth / 1e6:g}M, {a:.0%} -> {b:.0%}: {money(m)})")
    worst7 = None
    for bonus in bonuses:
        for depth in depths:
            base = short[(cfs[0], bonus, depth)]
            for cf in cfs[1:]:
                d = short[(cf, bonus, depth)] - base
                m, se = mean_se(d)
                excess = abs(m) - (Z * se + 0.01 * abs(base.mean()))
                if worst7 is None or excess > worst7[0]:
                    worst7 = (excess, bonus, depth, cf, m, se)
    excess, bonus, depth, cf, m, se = worst7
    check(excess <= 0, f"7. close factor {cfs[0]:g} vs {cf:g} changes the mean shortfall by at most 3 SE + 1%: "
          f"worst {money(m)} ± {money(se)} (bonus {bonus:.0%}, pool {depth / 1e6:g}M)")
    if control is not None:
        any_short = sum(int(((v["o"]["bank.bad_debt"] + v["o"]["bank.underwater_debt"]) > 0).sum())
                        for v in control.values())
        no_liq = sum(int((v["o"]["bank.liquidation_volume"] <= 0).sum()) for v in control.values())
        check(any_short == 0 and no_liq == 0, f"8. control: {any_short} paths with a shortfall (0 expected), "
              f"{no_liq} paths without a liquidation (0 expected)")

    if rivals is not None:
        base, chunked, rival = rivals["base"], rivals["chunks"], rivals["rival"]
        s_base = base["bank.bad_debt"] + base["bank.underwater_debt"]
        s_chunks = chunked["bank.bad_debt"] + chunked["bank.underwater_debt"]
        s_rival = rival["bank.bad_debt"] + rival["bank.underwater_debt"]
        purchases = chunked["crv_pool.swaps"] - chunked["arb.trades"]
        short_purchases = int((purchases < chunked["liq.liquidations"]).sum())
        revert_share = float(chunked["liq.reverts"].sum() / max(chunked["liq.liquidations"].sum(), 1.0))
        m, se = mean_se(s_chunks - s_base)
        within = abs(m) <= Z * se + 0.02 * abs(s_base.mean())
        check(short_purchases == 0 and revert_share <= 0.01 and within,
              f"9. {chunked['chunks']} chunks: {short_purchases} paths with fewer executed purchases than liquidation "
              f"transactions (0 expected), {revert_share:.3%} of its transactions reverted (<= 1%), shortfall "
              f"{money(m)} ± {money(se)} vs one chunk (within 3 SE + 2% of {money(s_base.mean())})")
        identical = bool(np.array_equal(s_rival, s_base))
        rival_liq = int(rival["rival.liquidations"].sum())
        tried = int((rival["rival.reverts"] > 0).sum())
        check(identical and rival_liq == 0 and tried > 0,
              f"10. a second liquidator: {rival_liq} liquidations by it (0 expected; it tried and reverted on "
              f"{tried} of {len(s_rival)} paths), shortfall {'bit-identical' if identical else 'NOT identical'} "
              "to one liquidator on every path")

    if args.figure:
        figure(data, short, cfs, bonuses, depths, crv_supply, fee, control, args.figure)
        print(f"\nwrote {args.figure}")
    if failures:
        print(f"\n{len(failures)} check(s) FAILED", file=sys.stderr)
        return 1
    return 0


def figure(data, short, cfs, bonuses, depths, crv_supply, fee, control, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    colors = {d: c for d, c in zip(depths, ("tab:red", "tab:orange", "tab:blue", "tab:green", "tab:purple"))}

    ax = axes[0, 0]
    for bonus, marker in zip(bonuses, ("o", "s", "^", "D")):
        for cf, style in zip(cfs, ("-", "--", ":")):
            means = [mean_se(short[(cf, bonus, d)]) for d in depths]
            ax.errorbar([d / 1e6 for d in depths], [m / 1e6 for m, _ in means],
                        yerr=[2 * s / 1e6 for _, s in means], marker=marker, linestyle=style, capsize=3,
                        label=f"bonus {bonus:.0%}, close factor {cf:g}")
    if control is not None:
        ax.axhline(0.0, color="black", lw=0.8)
        ax.text(depths[0] / 1e6, 0.5, "control: CRV from the liquidator's wallet: 0 on every path", fontsize=8,
                va="bottom")
    ax.set_xscale("log")
    ax.set_xticks([d / 1e6 for d in depths], [f"{d / 1e6:g}M" for d in depths])
    ax.set_xlabel("CRV/USDC pool depth (USDC a side)")
    ax.set_ylabel("shortfall at 6 h, million USDC (mean ± 2 SE)")
    ax.set_title("Bad debt + underwater debt vs pool depth")
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    for depth in depths:
        entry = data[(cfs[0], bonuses[0], depth)]
        debt, collateral = whale_paths(entry, crv_supply)
        hours = entry["hours"]
        ax.plot(hours, np.median(debt, axis=0) / 1e6, color=colors[depth], label=f"debt, pool {depth / 1e6:g}M")
        ax.plot(hours, np.median(collateral, axis=0) / 1e6, color=colors[depth], ls="--",
                label=f"collateral, pool {depth / 1e6:g}M")
    ref = data[(cfs[0], bonuses[0], depths[0])]["s"]["reference.CRV"]
    debt0 = data[(cfs[0], bonuses[0], depths[0])]["s"]["bank.debt_value"][:, 0]
    ax.plot(hours, np.median(debt0[:, None] * ref / ref[:, :1], axis=0) / 1e6, color="grey", lw=0.8,
            label="debt, never liquidated")
    ax.set_xlabel("hours")
    ax.set_ylabel("million USDC (median over paths)")
    ax.set_title(f"The whale's debt and collateral (bonus {bonuses[0]:.0%}, close factor {cfs[0]:g})")
    ax.legend(fontsize=7, ncol=2)

    ax = axes[1, 0]
    for depth in depths:
        for bonus, style in zip(bonuses, ("-", "--")):
            entry = data[(cfs[0], bonus, depth)]
            debt, collateral = whale_paths(entry, crv_supply)
            insolvent = ((collateral < debt) & (debt > 0)) | (entry["s"]["bank.bad_debt"] > 0)
            ax.plot(entry["hours"], insolvent.mean(axis=0), color=colors[depth], ls=style,
                    label=f"pool {depth / 1e6:g}M, bonus {bonus:.0%}")
    ax.set_xlabel("hours")
    ax.set_ylabel("share of paths")
    ax.set_title("Debt above collateral (or written off) so far")
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    for bonus, color in zip(bonuses, ("tab:red", "tab:purple")):
        entry = data[(cfs[0], bonus, depths[0])]
        gap = entry["s"]["crv_pool.spot_price"] / entry["s"]["reference.CRV"] - 1.0
        hours = entry["hours"]
        ax.plot(hours, gap.mean(axis=0) * 100, color=color, label=f"mean, bonus {bonus:.0%}")
        ax.fill_between(hours, np.quantile(gap, 0.05, axis=0) * 100, np.quantile(gap, 0.95, axis=0) * 100,
                        color=color, alpha=0.15, lw=0)
        ax.axhline(((1 + bonus) * (1 - fee) - 1) * 100, color=color, ls=":", lw=1,
                   label=f"(1 + b)(1 - fee) - 1 = {((1 + bonus) * (1 - fee) - 1):.2%}")
    ax.set_xlabel("hours")
    ax.set_ylabel("pool spot / reference - 1, % (5-95% band)")
    ax.set_title(f"The squeeze on the pool ({depths[0] / 1e6:g}M a side, end of block)")
    ax.legend(fontsize=8)

    fig.suptitle("Short squeeze: a 39M USDC CRV borrow against 60M USDC while CRV rises 2.65x in 6 h (median), "
                 "liquidators buying CRV on a thin pool", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
