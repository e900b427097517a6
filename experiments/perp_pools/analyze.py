#!/usr/bin/env python3
"""Perpetual pools: LP outcomes of gmx_glp, gtrade_vault and vamm under bull and crash paths.

    experiments/perp_pools/analyze.py [results/perp_pools.h5] [results/perp_pools_sweep.h5]
        [--figure experiments/perp_pools/perp_pools.png]

Reads the results of perp_pools.yaml (bull and crash path sets, each as
configured, without funding and without caps) and perp_sweep.yaml (crash,
leverage limit x position fee) with analysis/defisim, prints markdown
tables, draws the figure. Exit status: 0 if every check passes, 1 if one
fails, 2 on unusable input.

Per pool, per path, numeraire (USDC) at reference prices (docs/ARCHITECTURE.md):
  lp_pnl        the LPs' result: fees + trader_pnl + delta_pnl
  fees          fees and funding the pool received
  trader_pnl    the pool as counterparty (open trades marked)
  delta_pnl     the pool's own holdings repriced (GLP's ETH; 0 otherwise)
  max_drawdown  the largest fall of the LP share price from its running peak,
                checked every block
The vamm's "LPs" are its insurance fund (10M USDC, as the other two pools).

Estimators: paths are independent; scenarios of a file share random numbers
path by path (common random numbers), so differences are paired.
  mean ± SE            SE = sd / sqrt(n)
  p95, p99             empirical quantiles of max_drawdown (numpy, linear)
  P(insolvent) ± SE    binomial
  paired differences   mean and SE of the per-path difference

Checks (expectations from the mechanisms, not from the output):
  1. The PnL split adds up on every path: |fees + trader_pnl + delta_pnl -
     lp_pnl| <= 1e-9 x (|fees| + |trader_pnl| + |delta_pnl| + 1).
  2. Only GLP holds the traded asset: gdai.delta_pnl and vamm.delta_pnl are 0
     on every path.
  3. GLP's delta PnL has the sign of the price move: mean > 0 beyond 3 SE on
     the bull path set, < 0 beyond 3 SE on the crash path set (its basket is
     half ETH).
  4. The oracle-lag arbitrage pays on the oracle-priced pools: the mean
     profit of glp_arbitrageur and gdai_arbitrageur is > 0 beyond 3 SE in
     every scenario of perp_pools.h5 (the push feed lags by up to 0.5%).
  5. Funding off means funding off: in the no-funding scenarios
     funding_to_pool is exactly 0 for glp (borrow fees) and vamm on every path.
  6. Fees scale with the fee: in the sweep, at each leverage limit, every
     pool's mean position_fees rises with f, each step beyond 3 SE (paired).
  7. Leverage limits bind: in the sweep, at each fee, the mean notional
     opened on glp and vamm rises with the leverage limit, each step beyond 3
     SE (paired): the traders' leverage is drawn up to the limit. On gdai the
     per-side open-interest cap (3M) binds instead: its traders' refused
     opens (gdai_momentum.skipped + gdai_random.skipped) are more at 40x than
     at 5x at every fee, beyond 3 SE.

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
    from defisim.experiment import InputError, scenario_outcomes  # noqa: E402
    from defisim.stats import mean_se  # noqa: E402
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with a python3 that has numpy, h5py, "
             "matplotlib and yaml (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib "
             "python3-yaml)")

POOLS = ("glp", "gdai", "vamm")
POOL_NAMES = {"glp": "gmx_glp (GLP)", "gdai": "gtrade_vault", "vamm": "vamm (insurance fund)"}
COLORS = {"glp": "#1f77b4", "gdai": "#d62728", "vamm": "#2ca02c"}
POOL_METRICS = ("lp_pnl", "fees", "trader_pnl", "delta_pnl", "max_drawdown", "insolvent", "funding_to_pool",
                "position_fees", "positions_opened", "notional_opened", "liquidations", "bad_debt",
                "uncovered_bad_debt", "peak_open_interest", "mean_skew", "final_share_price")
DRIFT_KEY = "price.drift.ETH"
FUNDING_KEY = "markets.gdai.funding_rate"
CAPS_KEY = "markets.gdai.max_open_interest"
LEVERAGE_KEY = "markets.gdai.max_leverage"
FEE_KEY = "markets.gdai.open_fee"
Z_CHECK = 3.0


def load(path: str, expected_name: str):
    """[(parameters, {metric: float64[paths]})] in scenario order, and the embedded config."""
    scenarios = []
    with open_results(path) as results:
        config = yaml.safe_load(results.config)
        if config["experiment"]["name"] != expected_name:
            raise InputError(f"{path}: experiment '{config['experiment']['name']}', expected '{expected_name}'")
        for scenario in results.scenarios():
            available = results.outcome_metrics(scenario["index"])
            wanted = [f"{p}.{m}" for p in POOLS for m in POOL_METRICS]
            wanted += [m for m in available if m.split(".")[0].endswith(("_momentum", "_random", "_arbitrageur", "_lp"))]
            outcomes = scenario_outcomes(results, scenario, wanted, max_named=5)
            scenarios.append((dict(scenario["parameters"]), outcomes))
    return scenarios, config


def label(parameters: dict) -> tuple:
    """(path set, variant) of a perp_pools.yaml scenario."""
    path_set = "bull" if float(parameters[DRIFT_KEY]) > 0 else "crash"
    variant = "no funding" if FUNDING_KEY in parameters else "no caps" if CAPS_KEY in parameters else "as configured"
    return path_set, variant


def fmt_k(x: float) -> str:
    return f"{x / 1e3:,.1f}k"


def fmt_mean_se(x) -> str:
    m, s = mean_se(x)
    return f"{fmt_k(m)} ± {fmt_k(s)}"


# --------------------------------------------------------------------------- tables

def main_tables(main):
    by_label = {label(p): o for p, o in main}
    for path_set in ("bull", "crash"):
        o = by_label[(path_set, "as configured")]
        n = len(o["glp.lp_pnl"])
        print(f"\n### {path_set} path set, pools as configured ({n} paths; USDC, mean ± SE)\n")
        print("| pool | LP PnL | fees | trader PnL | delta PnL | drawdown p50 / p95 / p99 | P(insolvent) | "
              "liquidations | bad debt | funding to pool | peak OI | mean skew |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for pool in POOLS:
            dd = np.quantile(o[f"{pool}.max_drawdown"], [0.5, 0.95, 0.99])
            ins, ins_se = mean_se(o[f"{pool}.insolvent"])
            print(f"| {POOL_NAMES[pool]} | {fmt_mean_se(o[f'{pool}.lp_pnl'])} | {fmt_k(o[f'{pool}.fees'].mean())} | "
                  f"{fmt_k(o[f'{pool}.trader_pnl'].mean())} | {fmt_k(o[f'{pool}.delta_pnl'].mean())} | "
                  f"{dd[0]:.2%} / {dd[1]:.2%} / {dd[2]:.2%} | {ins:.3f} ± {ins_se:.3f} | "
                  f"{o[f'{pool}.liquidations'].mean():.1f} | {fmt_k(o[f'{pool}.bad_debt'].mean())} | "
                  f"{fmt_k(o[f'{pool}.funding_to_pool'].mean())} | {o[f'{pool}.peak_open_interest'].mean() / 1e6:.2f}M | "
                  f"{o[f'{pool}.mean_skew'].mean():+.2f} |")
        agents = sorted({m.split(".")[0] for m in o if m.split(".")[0].endswith(("_momentum", "_random",
                                                                                   "_arbitrageur", "_lp"))})
        print(f"\n{path_set}: the other side (USDC, mean ± SE)\n")
        print("| agent | PnL or profit | positions | liquidated | win rate / left |")
        print("|---|---|---|---|---|")
        for agent in agents:
            if agent.endswith("_arbitrageur"):
                print(f"| {agent} | {fmt_mean_se(o[f'{agent}.profit'])} | {o[f'{agent}.trades'].mean():.1f} | "
                      f"{o[f'{agent}.liquidated'].mean():.2f} | mean edge {o[f'{agent}.mean_edge'].mean():.3%} |")
            elif agent.endswith("_lp"):
                print(f"| {agent} (1M deposit, leaves after a 5% drawdown) | {fmt_mean_se(o[f'{agent}.pnl'])} | | | "
                      f"left on {o[f'{agent}.left'].mean():.0%} of paths |")
            else:
                print(f"| {agent} | {fmt_mean_se(o[f'{agent}.pnl'])} | {o[f'{agent}.positions_opened'].mean():.0f} | "
                      f"{o[f'{agent}.liquidated'].mean():.1f} | {o[f'{agent}.win_rate'].mean():.1%} |")


def variant_table(main):
    by_label = {label(p): o for p, o in main}
    print("\n### Without funding, without caps: paired differences from the pools as configured (USDC, mean ± SE)\n")
    print("| path set | variant | pool | LP PnL change | fees change | trader PnL change | drawdown p99 (configured -> variant) |")
    print("|---|---|---|---|---|---|---|")
    for path_set in ("bull", "crash"):
        base = by_label[(path_set, "as configured")]
        for variant in ("no funding", "no caps"):
            o = by_label[(path_set, variant)]
            for pool in POOLS:
                diff = {m: o[f"{pool}.{m}"] - base[f"{pool}.{m}"] for m in ("lp_pnl", "fees", "trader_pnl")}
                p99 = (np.quantile(base[f"{pool}.max_drawdown"], 0.99), np.quantile(o[f"{pool}.max_drawdown"], 0.99))
                print(f"| {path_set} | {variant} | {POOL_NAMES[pool]} | {fmt_mean_se(diff['lp_pnl'])} | "
                      f"{fmt_mean_se(diff['fees'])} | {fmt_mean_se(diff['trader_pnl'])} | {p99[0]:.2%} -> {p99[1]:.2%} |")


def sweep_grid(sweep):
    """{(L, f): outcomes}."""
    return {(float(p[LEVERAGE_KEY]), float(p[FEE_KEY])): o for p, o in sweep}


def sweep_table(sweep):
    grid = sweep_grid(sweep)
    leverages = sorted({k[0] for k in grid})
    fees = sorted({k[1] for k in grid})
    n = len(next(iter(grid.values()))["glp.lp_pnl"])
    print(f"\n### Crash path set: leverage limit x position fee ({n} paths per cell; LP PnL mean ± SE, "
          "drawdown p99, liquidations)\n")
    print("| L | f | " + " | ".join(POOL_NAMES[p] for p in POOLS) + " |")
    print("|---|---|" + "---|" * len(POOLS))
    for leverage in leverages:
        for fee in fees:
            o = grid[(leverage, fee)]
            cells = [f"{fmt_mean_se(o[f'{p}.lp_pnl'])}, {np.quantile(o[f'{p}.max_drawdown'], 0.99):.1%}, "
                     f"{o[f'{p}.liquidations'].mean():.0f}" for p in POOLS]
            print(f"| {leverage:g} | {fee:.2%} | " + " | ".join(cells) + " |")


# --------------------------------------------------------------------------- checks

def checks(main, sweep) -> bool:
    ok = True

    def report(passed: bool, text: str):
        nonlocal ok
        ok = ok and passed
        print(f"- [{'pass' if passed else 'FAIL'}] {text}")

    print("\n### Checks\n")
    worst = 0.0
    for _, o in main + sweep:
        for pool in POOLS:
            parts = o[f"{pool}.fees"] + o[f"{pool}.trader_pnl"] + o[f"{pool}.delta_pnl"]
            scale = np.abs(o[f"{pool}.fees"]) + np.abs(o[f"{pool}.trader_pnl"]) + np.abs(o[f"{pool}.delta_pnl"]) + 1.0
            worst = max(worst, float(np.max(np.abs(parts - o[f"{pool}.lp_pnl"]) / scale)))
    report(worst <= 1e-9, f"1. fees + trader_pnl + delta_pnl = lp_pnl on every path (worst relative error {worst:.1e})")
    nonzero = sum(int(np.count_nonzero(o[f"{pool}.delta_pnl"])) for _, o in main + sweep for pool in ("gdai", "vamm"))
    report(nonzero == 0, f"2. gdai and vamm have no delta PnL ({nonzero} non-zero paths)")
    by_label = {label(p): o for p, o in main}
    for path_set, sign in (("bull", 1.0), ("crash", -1.0)):
        m, s = mean_se(by_label[(path_set, "as configured")]["glp.delta_pnl"])
        report(sign * m > Z_CHECK * s, f"3. GLP delta PnL on the {path_set} paths: {fmt_k(m)} ± {fmt_k(s)}")
    for parameters, o in main:
        for agent in ("glp_arbitrageur", "gdai_arbitrageur"):
            m, s = mean_se(o[f"{agent}.profit"])
            report(m > Z_CHECK * s, f"4. {agent} profit, {' / '.join(label(parameters))}: {fmt_k(m)} ± {fmt_k(s)}")
    for parameters, o in main:
        if label(parameters)[1] != "no funding":
            continue
        paid = sum(int(np.count_nonzero(o[f"{pool}.funding_to_pool"])) for pool in ("glp", "vamm"))
        report(paid == 0, f"5. no funding ({label(parameters)[0]}): glp and vamm funding_to_pool are 0 "
                          f"({paid} non-zero paths)")
    grid = sweep_grid(sweep)
    leverages = sorted({k[0] for k in grid})
    fees = sorted({k[1] for k in grid})
    for pool in POOLS:
        steps = []
        for leverage in leverages:
            for low, high in zip(fees, fees[1:]):
                steps.append(mean_se(grid[(leverage, high)][f"{pool}.position_fees"] -
                                     grid[(leverage, low)][f"{pool}.position_fees"]))
        worst_z = min(m / s if s > 0 else math.inf for m, s in steps)
        report(worst_z > Z_CHECK, f"6. {pool}: position fees rise with f at every L (smallest step {worst_z:.1f} SE)")
        steps = []
        if pool == "gdai":
            def refused(o):
                return o["gdai_momentum.skipped"] + o["gdai_random.skipped"]
            for fee in fees:
                steps.append(mean_se(refused(grid[(leverages[-1], fee)]) - refused(grid[(leverages[0], fee)])))
            worst_z = min(m / s if s > 0 else math.inf for m, s in steps)
            report(worst_z > Z_CHECK, f"7. gdai: the open-interest cap refuses more opens at {leverages[-1]:g}x than at "
                                      f"{leverages[0]:g}x at every f (smallest difference {worst_z:.1f} SE)")
            continue
        for fee in fees:
            for low, high in zip(leverages, leverages[1:]):
                steps.append(mean_se(grid[(high, fee)][f"{pool}.notional_opened"] -
                                     grid[(low, fee)][f"{pool}.notional_opened"]))
        worst_z = min(m / s if s > 0 else math.inf for m, s in steps)
        report(worst_z > Z_CHECK, f"7. {pool}: notional opened rises with L at every f (smallest step {worst_z:.1f} SE)")
    return ok


# --------------------------------------------------------------------------- figure

def exceedance(ax, values, **style):
    x = np.sort(np.asarray(values))
    p = 1.0 - np.arange(len(x)) / len(x)  # P(X >= x_i)
    ax.step(x * 100.0, p, where="post", **style)


def figure(main, sweep, path: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    by_label = {label(p): o for p, o in main}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    ax = axes[0, 0]
    for pool in POOLS:
        for path_set, style in (("bull", ":"), ("crash", "-")):
            exceedance(ax, by_label[(path_set, "as configured")][f"{pool}.max_drawdown"], color=COLORS[pool],
                       linestyle=style, label=f"{POOL_NAMES[pool]}, {path_set}")
    ax.set_yscale("log")
    ax.set_xlabel("LP max drawdown over the day, % of the peak share price")
    ax.set_ylabel("P(drawdown ≥ x)")
    ax.set_title("(a) LP drawdown: bull (+20% median) vs crash (-30%)")
    ax.legend(fontsize=7)

    ax = axes[0, 1]
    for pool in POOLS:
        for variant, style in (("as configured", "-"), ("no funding", "--"), ("no caps", ":")):
            exceedance(ax, by_label[("crash", variant)][f"{pool}.max_drawdown"], color=COLORS[pool], linestyle=style,
                       label=f"{POOL_NAMES[pool]}, {variant}")
    ax.set_yscale("log")
    ax.set_xlabel("LP max drawdown over the day, %")
    ax.set_ylabel("P(drawdown ≥ x)")
    ax.set_title("(b) Crash paths: with and without funding and caps")
    ax.legend(fontsize=7)

    ax = axes[1, 0]
    width = 0.13
    parts = (("fees", "#7f7f7f"), ("trader_pnl", "#ff7f0e"), ("delta_pnl", "#9467bd"))
    positions = []
    for i, pool in enumerate(POOLS):
        for j, path_set in enumerate(("bull", "crash")):
            o = by_label[(path_set, "as configured")]
            x = i + (j - 0.5) * 0.4
            positions.append((x, f"{pool}\n{path_set}"))
            for k, (part, color) in enumerate(parts):
                ax.bar(x + (k - 1) * width, o[f"{pool}.{part}"].mean() / 1e3, width, color=color,
                       label=part if i == 0 and j == 0 else None)
            m, s = mean_se(o[f"{pool}.lp_pnl"])
            ax.errorbar(x, m / 1e3, yerr=3 * s / 1e3, fmt="D", color="black", markersize=5,
                        label="LP PnL (± 3 SE)" if i == 0 and j == 0 else None)
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xticks([p[0] for p in positions])
    ax.set_xticklabels([p[1] for p in positions], fontsize=8)
    ax.set_ylabel("thousand USDC per path (mean)")
    ax.set_title("(c) The LPs' PnL and its split, pools as configured")
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    grid = sweep_grid(sweep)
    leverages = sorted({k[0] for k in grid})
    fees = sorted({k[1] for k in grid})
    for pool in POOLS:
        for fee, style in zip(fees, (":", "-", "--")):
            stats = [mean_se(grid[(leverage, fee)][f"{pool}.trader_pnl"] + grid[(leverage, fee)][f"{pool}.fees"])
                     for leverage in leverages]
            ax.errorbar(leverages, [m / 1e3 for m, _ in stats], yerr=[3 * s / 1e3 for _, s in stats],
                        color=COLORS[pool], linestyle=style, marker="o", markersize=3, capsize=2,
                        label=f"{POOL_NAMES[pool]}, fee {fee:.2%}")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(leverages)
    ax.set_xticklabels([f"{leverage:g}x" for leverage in leverages])
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlabel("leverage limit")
    ax.set_ylabel("fees + trader PnL, k USDC per path (± 3 SE)")
    ax.set_title("(d) Crash paths: leverage limit x position fee (GLP's delta PnL left out)")
    ax.legend(fontsize=6, ncol=3)

    fig.suptitle("Perpetual pools: what LPs lose when traders win (experiments/perp_pools)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("main", nargs="?", default="results/perp_pools.h5")
    parser.add_argument("sweep", nargs="?", default="results/perp_pools_sweep.h5")
    parser.add_argument("--figure", default=os.path.join(HERE, "perp_pools.png"))
    args = parser.parse_args()
    try:
        main_scenarios, main_config = load(args.main, "perp_pools")
        sweep_scenarios, sweep_config = load(args.sweep, "perp_pools_sweep")
        labels = [label(p) for p, _ in main_scenarios]
        for path_set in ("bull", "crash"):
            for variant in ("as configured", "no funding", "no caps"):
                if (path_set, variant) not in labels:
                    raise InputError(f"{args.main}: no {path_set} scenario {variant}; run perp_pools.yaml")
        # The sweep's world is the main study's: only the swept keys differ.
        for section in ("markets", "agents", "oracles", "chain", "assets"):
            if main_config.get(section) != sweep_config.get(section):
                raise InputError(f"{args.sweep}: its `{section}` differs from {args.main}'s; perp_sweep.yaml must "
                                 "keep perp_pools.yaml's world")
    except (InputError, OSError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    main_tables(main_scenarios)
    variant_table(main_scenarios)
    sweep_table(sweep_scenarios)
    passed = checks(main_scenarios, sweep_scenarios)
    figure(main_scenarios, sweep_scenarios, args.figure)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
