#!/usr/bin/env python3
"""Maker-style auctions when gas spikes and keepers stop bidding: tables, figure, checks.

    experiments/zero_bid_auctions/analyze.py [results/zero_bid_auctions.h5]
        [--dry results/zero_bid_auctions_dry.h5] [--figure experiments/zero_bid_auctions/zero_bid_auctions.png]

Reads the results of experiments/zero_bid_auctions/zero_bid_auctions.yaml (a
grid over oracles.ETH.delay_blocks x markets.vat.auction.reset x
chain.gas_process.spike_per_percent_drop, written by `reproduce`) and, with
--dry, the side study (the same crash with keepers' default 100 ETH of gas
money). Prints markdown tables, draws the figure, and exits 0 if every check
passes, 1 if one fails, 2 on unusable input.

Loss measures (per path, DAI at reference prices):
  written off  vat.bad_debt: debt written off within the window (gross);
  kept         vat.protocol_collateral_value: with reset off, the lots of
               auctions closed unsold, which the protocol keeps, valued at the
               final price (0 with reset on);
  net          written off - kept;
  in auction   vat.auction_debt_value: debt of auctions still running at the
               end (not yet raised);
  lots in auction  vat.auction_collateral_value: the collateral of those
               auctions (their lots), valued at the final reference price;
  uncovered    in auction - lots in auction: the debt still in auction net of
               the collateral behind it, summed over the market (negative when
               the lots are worth more than the debt). Per auction a lot worth
               more than its debt returns the excess to the vault owner and
               cannot cover another auction, and keepers pay below the
               reference (check 6), so this is a lower bound on what the
               running auctions would lose if sold at the final price.

Checks (each can fail; Z = 3 standard errors, paired across scenarios, which
share random numbers path by path):
  1. No spike, reset on, OSM delay: mean bad debt below 0.1% of the mean debt
     drawn by the vaults (Liquidations 2.0 works when keepers bid).
  2. More gas spike -> not less loss: for every (delay, reset), every step of
     the spike grid and each of written off and net, mean(x(k+1) - x(k)) > -Z SE.
  3. Reset off, strongest spike, each delay: P(written off > 0) > 0.5, and
     written off(reset off) - written off(reset on) > +Z SE.
  4. Reset off never writes off less than reset on: mean(off - on) > -Z SE in
     every scenario pair.
  5. The mechanism: at the strongest spike, fewer takes and more
     skipped_unprofitable than with no spike, and a lower average price paid
     relative to the reference (keepers wait for a discount that covers gas),
     each by more than Z SE (paired).
  6. No keeper pays above the reference on average: on every path with takes,
     vat.liquidation_volume <= vat.collateral_seized_value.
  7. Bookkeeping of the two reset settings: with reset on no auction closes
     stale and the protocol keeps no collateral; with reset off no auction is
     reset (every path). Gas makes auctions go stale: at the strongest spike,
     more resets (reset on) / stale closes (reset off) than with no spike (> Z SE).
  8. Reset defers rather than saves: at the strongest spike, of the extra debt
     reset off writes off, more is still in running auctions with reset on
     than was recovered by takes after a reset, i.e. more than half:
     mean(in auction(on) - in auction(off)) - 0.5 x mean(written off(off) -
     written off(on)) > Z SE (paired). 50% is where "defers" outweighs
     "saves"; an earlier version used 75%, chosen after seeing 97-99%.
  9. The main sweep's premise: keepers with 100,000 ETH are never unfunded
     (keeper*.unfunded = 0 on every path of every scenario).
 10. (side study) Keepers with 100 ETH, reset off, strongest spike: unfunded
     transactions > 0 (> Z SE), fewer barks and more written off than with
     ample gas money (each > Z SE).

Estimators: mean +- sd/sqrt(n) over independent paths; the average price paid
over the reference value is a ratio of means, sum(liquidation_volume) /
sum(collateral_seized_value), with a delta-method standard error. VaR99 and
ES99 of the bad debt: the 99% quantile and the mean of the paths at or above it.
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
    from defisim.experiment import InputError, require_swept, scenario_outcomes  # noqa: E402
    from defisim.stats import expected_shortfall, mean_se, ratio_of_means, var_ci  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with a python3 that has numpy, h5py, "
             "matplotlib and yaml (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib "
             "python3-yaml)")

DELAY_KEY = "oracles.ETH.delay_blocks"
RESET_KEY = "markets.vat.auction.reset"
SPIKE_KEY = "chain.gas_process.spike_per_percent_drop"
METRICS = (
    "vat.bad_debt", "vat.any_bad_debt", "vat.auctions_started", "vat.auction_takes", "vat.liquidation_volume",
    "vat.collateral_seized_value", "vat.supplier_loss", "vaults.borrowed_value", "vat.underwater_debt",
    "vat.auction_debt_value", "vat.auction_collateral_value", "vat.protocol_collateral_value", "vat.auction_resets", "vat.auctions_closed_stale",
    "keeper1.profit", "keeper1.takes", "keeper1.barks", "keeper1.gas_paid", "keeper1.skipped_unprofitable",
    "keeper1.reverts", "keeper1.unfunded",
    "keeper2.profit", "keeper2.takes", "keeper2.gas_paid", "keeper2.skipped_unprofitable", "keeper2.reverts",
    "keeper2.unfunded", "chain.gas_paid", "chain.peak_base_gas_price_gwei",
)
SERIES = ("vat.bad_debt", "vat.liquidatable_debt", "chain.base_gas_price_gwei", "reference.ETH", "keeper1.profit")
Z = 3.0


# --------------------------------------------------------------------------- statistics

# mean_se (mean, sd(ddof=1)/sqrt(n)) and ratio_of_means ((R, SE, psi): R = mean(num)/mean(den), its
# delta-method SE, the per-path influence psi) come from analysis/defisim (defisim.stats).

def zscore(m, s):
    return m / s if s > 0 else (math.inf if m >= 0 else -math.inf)


def tail(x, level=0.99):
    """VaR (numpy's linear quantile) and ES (mean of the values >= it) at `level`: the package's default
    ("linear") definitions, as the file's summary."""
    return var_ci(x, level).value, expected_shortfall(x, level)


def fmt(pair, digits=0):
    return f"{pair[0]:,.{digits}f} ± {pair[1]:,.{digits}f}"


def onoff(reset):
    return "on" if reset else "off"


# --------------------------------------------------------------------------- reading

def load(path):
    data = {}
    with open_results(path) as results:
        config = yaml.safe_load(results.config)
        attrs = dict(results.attrs)
        run_info = dict(results.run_info)
        for scenario in results.scenarios():
            params = require_swept(results, scenario, (DELAY_KEY, RESET_KEY, SPIKE_KEY),
                                   "run experiments/zero_bid_auctions/zero_bid_auctions.yaml")
            key = (int(params[DELAY_KEY]), params[RESET_KEY].strip() == "true", float(params[SPIKE_KEY]))
            o = scenario_outcomes(results, scenario, METRICS,
                                  note=" (rebuild defisim: these metrics need commit b0b1fc3 or later)")
            o["net"] = o["vat.bad_debt"] - o["vat.protocol_collateral_value"]
            o["uncovered"] = o["vat.auction_debt_value"] - o["vat.auction_collateral_value"]
            o["takes"] = o["keeper1.takes"] + o["keeper2.takes"]
            o["skipped"] = o["keeper1.skipped_unprofitable"] + o["keeper2.skipped_unprofitable"]
            for m in SERIES:
                blocks, o["series." + m] = results.series(scenario["index"], m)
            o["hours"] = results.hours(blocks)
            o["vat.liquidatable_debt_end"] = o["series.vat.liquidatable_debt"][:, -1]
            data[key] = o
    return data, config, attrs, run_info


def last_change_hours(hours, series):
    """Per path, the last sample hour at which the series changed (0 if never)."""
    changed = np.abs(np.diff(series, axis=1)) > 0
    return np.array([hours[1:][c].max() if c.any() else 0.0 for c in changed])


# --------------------------------------------------------------------------- analysis

def analyse(data):
    rows = []
    for key in sorted(data, key=lambda k: (-k[0], not k[1], k[2])):
        o = data[key]
        row = {"delay": key[0], "reset": key[1], "spike": key[2], "n": len(o["vat.bad_debt"])}
        for m in METRICS + ("net", "uncovered", "takes", "skipped"):
            row[m] = mean_se(o[m])
        row["p_bad"] = float((o["vat.bad_debt"] > 0).mean())
        row["var99"], row["es99"] = tail(o["vat.bad_debt"])
        row["price_ratio"], row["price_ratio_se"], row["price_psi"] = ratio_of_means(
            o["vat.liquidation_volume"], o["vat.collateral_seized_value"])
        rows.append(row)
    return rows


def find(rows, delay, reset, spike):
    for r in rows:
        if r["delay"] == delay and r["reset"] == reset and r["spike"] == spike:
            return r
    raise InputError(f"missing scenario delay {delay}, reset {reset}, spike {spike:g}")


def delay_label(delay, block_time=12):
    return f"OSM {delay * block_time / 3600:g} h" if delay else "no delay"


def print_tables(rows, data, spikes, delays, base_gwei):
    d = max(delays)
    print("Gas along the crash (depends only on the ETH path, so it is the same in every scenario of a spike): "
          "median over paths and 5-minute samples of hours 1-6, the mean peak per path, and 30 + 140 x spike:")
    print()
    print("| spike | base gas, hours 1-6 (median) | 10-90% of samples | peak per path (mean) | 30 + 140 x spike |")
    print("|---|---|---|---|---|")
    for s in spikes:
        o = data[(d, True, s)]
        late = o["series.chain.base_gas_price_gwei"][:, o["hours"] >= 1.0]
        print(f"| {s:g} | {np.median(late):,.0f} gwei | {np.quantile(late, 0.1):,.0f}-{np.quantile(late, 0.9):,.0f} "
              f"| {o['chain.peak_base_gas_price_gwei'].mean():,.0f} | {base_gwei + 140 * s:,.0f} |")
    print()
    print("Losses (DAI per path, mean ± SE): written off within the 6 hours (gross, `vat.bad_debt`), P(>0), VaR99 "
          "and ES99 of it; with reset off, the collateral of auctions closed unsold that the protocol keeps "
          "(`vat.protocol_collateral_value`, at the final price) and the net loss (written off - kept); the debt "
          "still in running auctions at the end (`vat.auction_debt_value`), the collateral behind it (their lots, "
          "`vat.auction_collateral_value`, at the final price) and the debt in auction net of it (uncovered = debt "
          "- lots; negative: the lots are worth more); suppliers' loss; the debt the vaults drew:")
    print()
    print("| oracle | reset | spike | written off | P(>0) | VaR99 | ES99 | kept collateral | net | "
          "debt still in auction | lots in auction | uncovered | supplier loss | debt drawn |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {delay_label(r['delay'])} | {onoff(r['reset'])} | {r['spike']:g} "
              f"| {fmt(r['vat.bad_debt'])} | {r['p_bad']:.3f} | {r['var99']:,.0f} | {r['es99']:,.0f} "
              f"| {fmt(r['vat.protocol_collateral_value'])} | {fmt(r['net'])} "
              f"| {r['vat.auction_debt_value'][0] / 1e6:,.2f} M | {r['vat.auction_collateral_value'][0] / 1e6:,.2f} M "
              f"| {fmt(r['uncovered'])} | {fmt(r['vat.supplier_loss'])} "
              f"| {r['vaults.borrowed_value'][0] / 1e6:,.2f} M |")
    print()
    print("Auctions and keepers (per path): barks, takes (both keepers), resets (reset on), auctions closed unsold "
          "(reset off), keeper-auction-blocks skipped because gas exceeded the take's profit, average price paid / "
          "reference value (ratio of means ± SE), keepers' profit and gas (DAI; keeper1 also pays for every bark), "
          "reverted takes, and transactions not included for want of gas money (both keepers):")
    print()
    print("| oracle | reset | spike | barks | takes | resets | closed unsold | skipped unprofitable "
          "| price paid / reference | keeper1 profit | keeper1 gas | keeper2 profit | keeper2 gas | reverts "
          "| unfunded |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        reverts = r["keeper1.reverts"][0] + r["keeper2.reverts"][0]
        unfunded = r["keeper1.unfunded"][0] + r["keeper2.unfunded"][0]
        print(f"| {delay_label(r['delay'])} | {onoff(r['reset'])} | {r['spike']:g} "
              f"| {r['keeper1.barks'][0]:,.1f} | {r['takes'][0]:,.1f} | {r['vat.auction_resets'][0]:,.1f} "
              f"| {r['vat.auctions_closed_stale'][0]:,.1f} "
              f"| {r['skipped'][0]:,.0f} | {100 * r['price_ratio']:.2f} ± {100 * r['price_ratio_se']:.2f} % "
              f"| {fmt(r['keeper1.profit'])} | {r['keeper1.gas_paid'][0]:,.0f} | {fmt(r['keeper2.profit'])} "
              f"| {r['keeper2.gas_paid'][0]:,.0f} | {reverts:,.1f} | {unfunded:,.0f} |")
    print()
    print("Paired differences (DAI per path, mean ± SE of the per-path difference). Reset off - reset on: written "
          "off, net, debt still in auction, its uncovered part, and net + uncovered (the loss if the running auctions sold at the final price, netted over auctions); the OSM delay's effect (delay - no delay) on reset on's written off "
          "and reset off's net:")
    print()
    hi, lo = max(delays), min(delays)
    head = []
    for dl in delays:
        head += [f"off - on written off, {delay_label(dl)}", f"off - on net, {delay_label(dl)}",
                 f"off - on in auction, {delay_label(dl)}", f"off - on uncovered, {delay_label(dl)}",
                 f"off - on net + uncovered, {delay_label(dl)}"]
    head += ["OSM - none, reset on written off", "OSM - none, reset off net"]
    print("| spike | " + " | ".join(head) + " |")
    print("|---|" + "---|" * len(head))
    for s in spikes:
        cells = []
        for dl in delays:
            off, on = data[(dl, False, s)], data[(dl, True, s)]
            for m in ("vat.bad_debt", "net", "vat.auction_debt_value", "uncovered"):
                cells.append(fmt(mean_se(off[m] - on[m])))
            cells.append(fmt(mean_se(off["net"] + off["uncovered"] - on["net"] - on["uncovered"])))
        cells.append(fmt(mean_se(data[(hi, True, s)]["vat.bad_debt"] - data[(lo, True, s)]["vat.bad_debt"])))
        cells.append(fmt(mean_se(data[(hi, False, s)]["net"] - data[(lo, False, s)]["net"])))
        print(f"| {s:g} | " + " | ".join(cells) + " |")
    print()
    print("What the spike adds over no spike (DAI per path, paired mean ± SE of spike s - spike 0, same oracle and "
          "reset): written off, net, debt still in auction at the end, and that debt net of its lots (uncovered):")
    print()
    print("| oracle | reset | spike | written off | net | debt still in auction | uncovered |")
    print("|---|---|---|---|---|---|---|")
    for dl in delays:
        for reset in (True, False):
            base = data[(dl, reset, 0.0)]
            for s in spikes[1:]:
                o = data[(dl, reset, s)]
                cells = [fmt(mean_se(o[m] - base[m])) for m in ("vat.bad_debt", "net", "vat.auction_debt_value",
                                                                 "uncovered")]
                print(f"| {delay_label(dl)} | {onoff(reset)} | {s:g} | " + " | ".join(cells) + " |")


# --------------------------------------------------------------------------- checks

def run_checks(rows, data, spikes, delays):
    failures = []
    top = max(spikes)

    def check(ok, text):
        print(f"- [{'pass' if ok else 'FAIL'}] {text}")
        if not ok:
            failures.append(text)

    print()
    print("Checks:")
    d_osm = max(delays)
    r0 = find(rows, d_osm, True, 0.0)
    share = r0["vat.bad_debt"][0] / r0["vaults.borrowed_value"][0]
    check(share < 1e-3, f"1. no spike, reset on, {delay_label(d_osm)}: bad debt {r0['vat.bad_debt'][0]:,.0f} DAI "
                        f"= {100 * share:.4f}% of the debt drawn (< 0.1%)")
    worst = None
    for measure in ("vat.bad_debt", "net"):
        for d in delays:
            for reset in (True, False):
                for a, b in zip(spikes, spikes[1:]):
                    m, s = mean_se(data[(d, reset, b)][measure] - data[(d, reset, a)][measure])
                    z = zscore(m, s)
                    if worst is None or z < worst[0]:
                        worst = (z, measure, d, reset, a, b, m, s)
    z, measure, d, reset, a, b, m, s = worst
    check(z > -Z, f"2. more spike, not less loss (written off and net): the smallest paired z over every step is "
                  f"{z:.2f} ({'written off' if measure == 'vat.bad_debt' else 'net'}, {delay_label(d)}, reset "
                  f"{onoff(reset)}, spike {a:g} -> {b:g}: {m:,.0f} ± {s:,.0f})")
    for d in delays:
        off, on = data[(d, False, top)]["vat.bad_debt"], data[(d, True, top)]["vat.bad_debt"]
        p = float((off > 0).mean())
        m, s = mean_se(off - on)
        check(p > 0.5 and m > Z * s, f"3. {delay_label(d)}, spike {top:g}, reset off: P(written off > 0) = {p:.3f}; "
                                     f"off - on = {m:,.0f} ± {s:,.0f} DAI (> {Z:g} SE)")
    worst = None
    for d in delays:
        for sp in spikes:
            m, s = mean_se(data[(d, False, sp)]["vat.bad_debt"] - data[(d, True, sp)]["vat.bad_debt"])
            z = zscore(m, s)
            if worst is None or z < worst[0]:
                worst = (z, d, sp, m, s)
    z, d, sp, m, s = worst
    check(z > -Z, f"4. reset off never writes off less than reset on: smallest paired z {z:.2f} "
                  f"({delay_label(d)}, spike {sp:g}: {m:,.0f} ± {s:,.0f})")
    for d in delays:
        for reset in (True, False):
            hi, lo = data[(d, reset, top)], data[(d, reset, 0.0)]
            takes = mean_se(hi["takes"] - lo["takes"])
            skipped = mean_se(hi["skipped"] - lo["skipped"])
            rh, rl = find(rows, d, reset, top), find(rows, d, reset, 0.0)
            dr = (rh["price_ratio"] - rl["price_ratio"], mean_se(rh["price_psi"] - rl["price_psi"])[1])
            ok = takes[0] < -Z * takes[1] and skipped[0] > Z * skipped[1] and dr[0] < -Z * dr[1]
            check(ok, f"5. {delay_label(d)}, reset {onoff(reset)}, spike {top:g} vs 0: takes "
                      f"{takes[0]:+,.1f} ± {takes[1]:,.1f}, skipped {skipped[0]:+,.0f} ± {skipped[1]:,.0f}, "
                      f"price paid / reference {100 * dr[0]:+.2f} ± {100 * dr[1]:.2f} points")
    bad_paths = 0
    for key, o in data.items():
        has = o["vat.auction_takes"] > 0
        bad_paths += int((o["vat.liquidation_volume"][has] > o["vat.collateral_seized_value"][has]).sum())
    check(bad_paths == 0, f"6. paths where takers paid more than the reference value of what they bought: {bad_paths}")
    wrong = 0
    for (d, reset, s), o in data.items():
        if reset:
            wrong += int(((o["vat.auctions_closed_stale"] != 0) | (o["vat.protocol_collateral_value"] != 0)).sum())
        else:
            wrong += int((o["vat.auction_resets"] != 0).sum())
    stale = []
    for d in delays:
        for reset in (True, False):
            m = "vat.auction_resets" if reset else "vat.auctions_closed_stale"
            stale.append((mean_se(data[(d, reset, top)][m] - data[(d, reset, 0.0)][m]), d, reset))
    ok = wrong == 0 and all(ms[0] > Z * ms[1] for ms, _, _ in stale)
    check(ok, f"7. paths that close stale with reset on, keep collateral with reset on, or reset with reset off: "
              f"{wrong}; spike {top:g} - 0: "
              + "; ".join(f"{delay_label(d)} {'resets' if reset else 'closed unsold'} {fmt(ms, 1)}"
                          for ms, d, reset in stale))
    for d in delays:
        on, off = data[(d, True, top)], data[(d, False, top)]
        written = mean_se(off["vat.bad_debt"] - on["vat.bad_debt"])
        deferred = mean_se(on["vat.auction_debt_value"] - off["vat.auction_debt_value"])
        margin = mean_se((on["vat.auction_debt_value"] - off["vat.auction_debt_value"])
                         - 0.5 * (off["vat.bad_debt"] - on["vat.bad_debt"]))
        uncovered = mean_se(on["uncovered"] - off["uncovered"])
        share = deferred[0] / written[0] if written[0] > 0 else math.nan
        check(margin[0] > Z * margin[1],
              f"8. {delay_label(d)}, spike {top:g}: reset off writes off {fmt(written)} more; with reset on, "
              f"{fmt(deferred)} more is still in auction at the end ({100 * share:.0f}% of it; > 50% by "
              f"{fmt(margin)}, > {Z:g} SE), of which {fmt(uncovered)} is not covered by its lots at the final price")
    unfunded = sum(int(((o["keeper1.unfunded"] + o["keeper2.unfunded"]) > 0).sum()) for o in data.values())
    check(unfunded == 0, f"9. paths of the main sweep on which a keeper with 100,000 ETH was unfunded: {unfunded}")
    return failures


# --------------------------------------------------------------------------- side study: keepers' gas money

def keeper_budgets(config):
    return {a["id"]: float(a.get("gas_budget_native", 100)) for a in config["agents"] if a["type"] == "liquidator"}


def side_study(data, dry, dry_config):
    """Keepers with the default 100 ETH of gas money against the main run's ample budget, scenario by scenario."""
    failures = []
    print()
    budgets = keeper_budgets(dry_config)
    n = len(next(iter(dry.values()))["vat.bad_debt"])
    print("Side study: the same crash with keepers' gas money at "
          + ", ".join(f"{k} {v:,.0f} ETH" for k, v in budgets.items())
          + f" (the default gas_budget_native) instead of 100,000 ETH, first {n} paths. Per path: written off, "
          "Δ = dry - ample (paired), kept collateral, net, debt still in auction at the end and its uncovered part (net of its lots), unsafe vaults' debt "
          "never barked by the end (liquidatable, at reference prices), debt of vaults underwater at the end (not "
          "in auction), barks and takes (ample in brackets), transactions not included for want of gas money "
          "(`keeper*.unfunded`), the hour keeper1 last paid for anything (median), keepers' gas (DAI):")
    print()
    print("| oracle | reset | spike | written off | Δ written off | kept collateral | net | debt still in auction "
          "| uncovered "
          "| unbarked unsafe debt at end | underwater debt at end | barks (ample) | takes (ample) "
          "| keeper1 unfunded | keeper2 unfunded | keeper1 last pays (h) | keepers' gas |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(dry, key=lambda k: (-k[0], not k[1], k[2])):
        o, a = dry[key], data.get(key)
        if a is None:
            raise InputError(f"the side study's scenario {key} is not in the main file")
        a = {m: v[:n] if isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) >= n and m != "hours" else v
             for m, v in a.items()}
        d_bad = mean_se(o["vat.bad_debt"] - a["vat.bad_debt"])
        dry_hour = np.median(last_change_hours(o["hours"], o["series.keeper1.profit"]))
        print(f"| {delay_label(key[0])} | {onoff(key[1])} | {key[2]:g} | {fmt(mean_se(o['vat.bad_debt']))} "
              f"| {fmt(d_bad)} | {fmt(mean_se(o['vat.protocol_collateral_value']))} | {fmt(mean_se(o['net']))} "
              f"| {o['vat.auction_debt_value'].mean() / 1e6:,.2f} M | {fmt(mean_se(o['uncovered']))} "
              f"| {fmt(mean_se(o['vat.liquidatable_debt_end']))} | {fmt(mean_se(o['vat.underwater_debt']))} "
              f"| {o['keeper1.barks'].mean():,.0f} ({a['keeper1.barks'].mean():,.0f}) "
              f"| {o['takes'].mean():,.0f} ({a['takes'].mean():,.0f}) "
              f"| {o['keeper1.unfunded'].mean():,.0f} | {o['keeper2.unfunded'].mean():,.0f} | {dry_hour:.2f} "
              f"| {(o['keeper1.gas_paid'] + o['keeper2.gas_paid']).mean():,.0f} |")
    print()
    print("Side-study check:")
    top = max(k[2] for k in dry)
    for key in sorted(dry):
        if key[1] or key[2] != top:
            continue
        o, a = dry[key], data[key]
        m, s = mean_se(o["vat.bad_debt"] - a["vat.bad_debt"][:n])
        b, bs = mean_se(o["keeper1.barks"] - a["keeper1.barks"][:n])
        u, us = mean_se(o["keeper1.unfunded"] + o["keeper2.unfunded"])
        ok = m > Z * s and b < -Z * bs and u > Z * us
        text = (f"10. {delay_label(key[0])}, reset off, spike {top:g}: keepers with 100 ETH of gas money have "
                f"{u:,.0f} ± {us:,.0f} transactions unfunded, bark {b:+,.0f} ± {bs:,.0f} auctions and write off "
                f"{m:+,.0f} ± {s:,.0f} DAI more than with ample gas money (each > 3 SE)")
        print(f"- [{'pass' if ok else 'FAIL'}] {text}")
        if not ok:
            failures.append(text)
    return failures


# --------------------------------------------------------------------------- figure

def figure(rows, data, spikes, delays, dry, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13.5, 10))
    ax = axes[0, 0]
    styles = {max(delays): "-", min(delays): "--"}
    lines = (("vat.bad_debt", True, "tab:blue", "o", "reset on: written off"),
             ("vat.bad_debt", False, "tab:red", "o", "reset off: written off (gross)"),
             ("net", False, "tab:orange", "D", "reset off: net of the collateral kept"))
    for d in delays:
        for measure, reset, colour, marker, label in lines:
            rs = [find(rows, d, reset, s) for s in spikes]
            y = np.array([r[measure][0] for r in rs])
            e = np.array([r[measure][1] for r in rs])
            ax.errorbar(spikes, np.maximum(y, 1e-2), yerr=e, color=colour, ls=styles[d], marker=marker, ms=4,
                        capsize=3, label=f"{label}, {delay_label(d)}")
    if dry:
        keys = sorted(k for k in dry if k[0] == max(delays) and not k[1])
        for measure, ls, marker, label in (("vat.bad_debt", "-", "s", "written off"), ("net", ":", "D", "net")):
            ax.plot([k[2] for k in keys], [max(dry[k][measure].mean(), 1e-2) for k in keys], color="k", ls=ls,
                    marker=marker, ms=5, label=f"side study (100 ETH of gas money), reset off, {label}")
    ax.set_yscale("symlog", linthresh=100)
    ax.set_xlabel("gas spike: excess gas per 1% one-block ETH drop, x base (30 gwei)")
    ax.set_ylabel("DAI per path (mean ± SE; symlog)")
    ax.set_title("(a) bad debt vs gas-spike intensity")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)

    ax = axes[0, 1]
    d = max(delays)
    colours = plt.cm.viridis(np.linspace(0.1, 0.9, len(spikes)))
    for s, c in zip(spikes, colours):
        o = data[(d, True, s)]
        gas = o["series.chain.base_gas_price_gwei"]
        ax.plot(o["hours"], np.median(gas, axis=0), color=c, lw=1.2, label=f"spike {s:g}")
        ax.fill_between(o["hours"], np.quantile(gas, 0.1, axis=0), np.quantile(gas, 0.9, axis=0), color=c,
                        alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_ylabel("base gas price, gwei (median, 10-90% band)")
    ax2 = ax.twinx()
    o = data[(d, True, spikes[0])]
    ax2.plot(o["hours"], np.median(o["series.reference.ETH"], axis=0), color="k", lw=1, ls=":",
             label="ETH reference (median)")
    ax2.set_ylabel("ETH, DAI")
    ax2.legend(fontsize=8, loc="lower left")
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    ax.set_xlabel("hours")
    ax.set_title("(b) the base gas price along the crash (chain.base_gas_price_gwei, 5-min samples)")
    ax.grid(alpha=0.3)

    ax = axes[1, 0]
    # Where the spike's extra loss ends up, by the end of the window: per spike, reset on and off side by side,
    # each relative to the same setting with no spike.
    width = 0.38
    x = np.arange(len(spikes))
    for j, reset in enumerate((True, False)):
        base = data[(d, reset, 0.0)]
        net, kept, held, lots = [], [], [], []
        for s in spikes:
            o = data[(d, reset, s)]
            net.append((o["net"] - base["net"]).mean() / 1e3)
            kept.append((o["vat.protocol_collateral_value"] - base["vat.protocol_collateral_value"]).mean() / 1e3)
            held.append((o["vat.auction_debt_value"] - base["vat.auction_debt_value"]).mean() / 1e3)
            lots.append((o["vat.auction_collateral_value"] - base["vat.auction_collateral_value"]).mean() / 1e3)
        net, kept, held, lots = map(np.array, (net, kept, held, lots))
        pos = x + (j - 0.5) * width
        hatch = None if reset else "//"
        ax.bar(pos, net, width, color="tab:red", hatch=hatch, edgecolor="k", lw=0.5,
               label=f"reset {onoff(reset)}{'' if reset else ' (hatched)'}: net bad debt")
        ax.bar(pos, kept, width, bottom=net, color="tab:orange", hatch=hatch, edgecolor="k", lw=0.5,
               label="reset off: written off but backed by the collateral kept" if not reset else None)
        ax.bar(pos, held, width, bottom=net + kept, color="tab:gray", hatch=hatch, edgecolor="k", lw=0.5,
               label=f"reset {onoff(reset)}: more debt still in auction at the end")
        # The lots behind that debt, at the final price: a tick at the level the debt bar would reach if it were
        # as large as its collateral (above the bar top: the extra lots more than cover the extra debt).
        ax.scatter(pos, net + kept + lots, marker="_", s=260, linewidths=2.2, color="k", zorder=3,
                   label="more collateral in those auctions (lots, final price), stacked like the debt"
                   if reset else None)
    ax.set_xticks(x, [f"spike {s:g}\n(on | off)" for s in spikes])
    ax.set_ylabel("thousand DAI per path, over the same setting with no spike")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_title(f"(c) where the spike's extra debt is after 6 h, {delay_label(d)} (lots at the final price)")
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(alpha=0.3, axis="y")

    ax = axes[1, 1]
    chosen = [s for s in spikes if s in (0.0, 5.0, max(spikes))] or spikes
    bins = np.linspace(0.93, 1.0, 57)
    for s, c in zip(chosen, plt.cm.plasma(np.linspace(0.1, 0.8, len(chosen)))):
        o = data[(d, True, s)]
        ok = o["vat.collateral_seized_value"] > 0
        ratio = o["vat.liquidation_volume"][ok] / o["vat.collateral_seized_value"][ok]
        ax.hist(ratio, bins=bins, color=c, alpha=0.55, label=f"spike {s:g}: mean {ratio.mean():.4f}")
    ax.set_xlabel("price paid / reference value, per path (vat.liquidation_volume / vat.collateral_seized_value)")
    ax.set_ylabel("paths")
    ax.set_title(f"(d) what takers paid, reset on, {delay_label(d)}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle("Maker Dutch auctions in a 43%/6 h crash when gas spikes: keepers take only if profit covers gas",
                 fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=105)
    print(f"\nwrote {path}")


# --------------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=os.path.join(REPO, "results", "zero_bid_auctions.h5"))
    parser.add_argument("--dry", default=None,
                        help="side study: the same file run with the keepers' default 100 ETH of gas money")
    parser.add_argument("--figure", default=None, help="PNG to write")
    args = parser.parse_args(argv)
    try:
        data, config, attrs, run_info = load(args.results)
        spikes = sorted({k[2] for k in data})
        delays = sorted({k[0] for k in data}, reverse=True)
        for d in delays:
            for reset in (True, False):
                for s in spikes:
                    if (d, reset, s) not in data:
                        raise InputError(f"missing scenario delay {d}, reset {reset}, spike {s:g}")
        if 0.0 not in spikes or len(spikes) < 2:
            raise InputError("the spike grid must include 0 and at least one positive value")
        dry = dry_config = None
        if args.dry:
            dry, dry_config, dry_attrs, _ = load(args.dry)
            if (dry_attrs.get("seed"), dry_attrs.get("blocks")) != (attrs.get("seed"), attrs.get("blocks")):
                raise InputError(f"{args.dry}: not the same seed and blocks as {args.results}")
            if len(next(iter(dry.values()))["vat.bad_debt"]) > len(next(iter(data.values()))["vat.bad_debt"]):
                raise InputError(f"{args.dry}: more paths than {args.results} (paths are paired by index)")
            if any(v >= 1000 for v in keeper_budgets(dry_config).values()):
                raise InputError(f"{args.dry}: its keepers have ample gas money; run with --set "
                                 "agents.keeper1.gas_budget_native=100 --set agents.keeper2.gas_budget_native=100")
    except (InputError, OSError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    n = len(next(iter(data.values()))["vat.bad_debt"])
    print(f"{args.results}: {len(data)} scenarios x {n} paths x {attrs.get('blocks', '?')} blocks, "
          f"seed {attrs.get('seed', '?')}, {run_info.get('wall_seconds', float('nan')):.1f} s wall on "
          f"{run_info.get('threads', '?')} thread(s)")
    print()
    rows = analyse(data)
    print_tables(rows, data, spikes, delays, float(config["chain"]["gas_price_gwei"]))
    failures = run_checks(rows, data, spikes, delays)
    if dry:
        try:
            failures += side_study(data, dry, dry_config)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.figure:
        figure(rows, data, spikes, delays, dry, args.figure)
    if failures:
        print(f"\n{len(failures)} check(s) FAILED", file=sys.stderr)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
