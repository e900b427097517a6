#!/usr/bin/env python3
"""TWAMM vs manual TWAP vs one swap: the cost of buying ETH with 100,000 USDC over 8 hours.

    experiments/twamm_vs_twap/analyze.py [--one-swap results/twamm_vs_twap_one_swap.h5]
        [--manual results/twamm_vs_twap_manual_twap.h5] [--twamm results/twamm_vs_twap_twamm.h5]
        [--band results/twamm_vs_twap_band.h5] [--figure experiments/twamm_vs_twap/twamm_vs_twap.png]

Reads the results of one_swap.yaml, manual_twap.yaml and twamm.yaml (written by
experiments/twamm_vs_twap/reproduce), prints markdown tables, draws the figure,
and exits 1 if a sanity check fails (exit 2 on unusable input). The setup and
the definitions are in experiments/twamm_vs_twap/README.md.

Per path i (all three files share the seed, price process and market, so path i
has the same reference prices in every scenario: common random numbers), with
the buyer's outcomes (agents/execution_tracker.hpp):

    cost_vs_twap     = execution_price / reference_twap - 1             (fraction; shown in bp)
    total cost       = (cost_vs_twap_numeraire + gas_paid) / amount      (bp of the 100,000 USDC)

and the decomposition of the total cost, in bp of the amount:

    fee       = f * sold / amount                    the pool's fee on the buyer's own input (swaps or virtual trades)
    impact    = cost_vs_twap_numeraire[private] / amount - fee
                price impact net of arbitrage: what the buyer pays above the TWAP
                besides the fee when its transactions are private (no one can sandwich)
    sandwich  = (cost_vs_twap_numeraire[mev] - cost_vs_twap_numeraire[private]) / amount
                paired per path: the same program, prices and arbitrageur, sent
                publicly (mev ordering) and through a private relay
    gas       = gas_paid / amount

The twap_trader also records its own sandwich loss from its receipts
(buyer.sandwich_loss: (amount_out_unattacked - amount_out) x the reference
price of the slice's block, summed over its sandwiched slices, and
buyer.sandwiched_slices); the analysis checks it against the paired difference
above and against the builder's chain.victim_loss (see check_sandwich_loss).

Standard errors are sd / sqrt(paths); for a difference between two scenarios
the paired SE is sd(x_i - y_i) / sqrt(paths), next to the unpaired
sqrt(SE_x^2 + SE_y^2) it would be with independent paths.

Needs numpy, h5py and matplotlib (analysis/python.sh prints a python3 that has them) and PyYAML.
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
    from defisim import open_results
    from defisim.stats import mean_se
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with the python3 printed by "
             "analysis/python.sh (Debian: apt-get install python3-numpy python3-h5py python3-matplotlib python3-yaml)")

BP = 1e4
BUYER = "buyer"
ATTACKER = "sandwich"
ARB = "arb"

# Every outcome the analysis reads. A missing one is an error (exit 2), never a silent zero: a renamed
# metric (reverted_slices became failed_slices in 1ede2be) must not turn a check into a vacuous pass.
COMMON_METRICS = [f"{BUYER}.{m}" for m in ("cost_vs_twap", "cost_vs_twap_numeraire", "cost_vs_arrival",
                                           "execution_price", "sold", "bought", "reference_twap", "gas_paid",
                                           "filled_fraction")] + \
    [f"{ATTACKER}.{m}" for m in ("attacks", "profit", "gross_profit")] + \
    [f"{ARB}.{m}" for m in ("profit", "trades")] + ["chain.victim_loss"]
TWAP_METRICS = [f"{BUYER}.{m}" for m in ("failed_slices", "sandwiched_slices", "sandwich_loss")]


class MissingMetric(Exception):
    pass


# --------------------------------------------------------------------------- reading

class Scenario:
    """One scenario of one file: its program, ordering, slippage limit and outcomes."""

    def __init__(self, family: str, base: dict, parameters: dict, outcomes: dict, path: str, index):
        self.family = family          # one_swap | manual_twap | twamm
        self.path = path
        self.index = index
        self.parameters = parameters
        buyer = next(a for a in base["agents"] if a.get("id") == BUYER)
        market = base["markets"][0]

        def value(key, default):
            text = parameters.get(key)
            return yaml.safe_load(text) if text is not None else default

        # "mev": the buyer's transactions are public under mev ordering (the strategy as studied);
        # "private": they go through a private relay (or the chain has no public mempool), so no one can
        # sandwich them: the paired counterfactual.
        chain_ordering = value("chain.ordering", base.get("chain", {}).get("ordering", "fifo"))
        private = bool(value(f"agents.{BUYER}.private_channel", buyer.get("private_channel", False)))
        self.ordering = "private" if private or chain_ordering == "private" else chain_ordering
        self.fee = float(value(f"markets.{market['id']}.fee", market.get("fee", 0.003)))
        self.amount = float(value(f"agents.{BUYER}.amount", buyer["amount"]))
        self.gas_gwei = float(value("chain.gas_price_gwei", base.get("chain", {}).get("gas_price_gwei", 0)))
        if family == "twamm":
            self.slices = None
            self.interval = None
            self.tolerance = None
            self.window = (int(buyer.get("start_block", 1)),
                           int(buyer.get("start_block", 1)) + int(buyer.get("window_blocks", buyer["duration_blocks"])))
        else:
            self.slices = int(value(f"agents.{BUYER}.slices", buyer.get("slices", 1)))
            self.interval = int(value(f"agents.{BUYER}.interval_blocks", buyer.get("interval_blocks", 1)))
            self.tolerance = float(value(f"agents.{BUYER}.slippage_tolerance", buyer.get("slippage_tolerance", 0.01)))
            start = int(buyer.get("start_block", 1))
            self.window = (start, start + int(buyer.get("window_blocks", self.slices * self.interval)))
        self.o = outcomes
        required = COMMON_METRICS + (TWAP_METRICS if family != "twamm" else [])
        missing = [m for m in required if m not in outcomes]
        if missing:
            raise MissingMetric(f"{path}, scenario {index} ({parameters}): missing outcome(s) {', '.join(missing)}; "
                                f"the buyer has: {', '.join(sorted(k for k in outcomes if k.startswith(BUYER + '.')))}")
        self.paths = len(outcomes[f"{BUYER}.cost_vs_twap"])

    def key(self):
        """(strategy, tolerance): the scenario's program, ignoring the ordering."""
        return (self.strategy(), self.tolerance)

    def strategy(self) -> str:
        if self.family == "twamm":
            return "TWAMM order"
        if self.slices == 1:
            return "one swap"
        return f"TWAP N={self.interval}"

    def label(self) -> str:
        if self.family == "twamm":
            return "TWAMM order (2 txs)"
        if self.slices == 1:
            return "one swap"
        return f"TWAP every {self.interval} blocks ({self.slices} x {self.amount / self.slices:,.0f})"

    def get(self, metric: str) -> np.ndarray:
        if metric not in self.o:
            raise MissingMetric(f"{self.path}, scenario {self.index}: no outcome '{metric}'")
        return self.o[metric]


def load(path: str, family: str):
    if not os.path.exists(path):
        sys.exit(f"error: {path} not found (run experiments/twamm_vs_twap/reproduce)")
    scenarios = []
    with open_results(path) as results:
        base = yaml.safe_load(results.config)
        attrs = results.attrs
        wall = results.run_info.get("wall_seconds", float("nan"))
        for s in results.scenarios():
            scenarios.append(Scenario(family, base, dict(s["parameters"]), results.outcomes(s["index"]), path,
                                      s["index"]))
    return scenarios, attrs, wall


# --------------------------------------------------------------------------- statistics

# mean_se (mean, sd(ddof=1)/sqrt(n)) comes from analysis/defisim (defisim.stats).

def fmt_mse(x: np.ndarray, digits: int = 1) -> str:
    m, s = mean_se(x)
    return f"{m:.{digits}f} ± {s:.{digits if s >= 10 ** -digits else digits + 1}f}"


def q(x, p):
    return float(np.quantile(x, p))


# --------------------------------------------------------------------------- main

def main() -> int:
    try:
        return run()
    except MissingMetric as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one-swap", default=os.path.join(REPO, "results/twamm_vs_twap_one_swap.h5"))
    parser.add_argument("--manual", default=os.path.join(REPO, "results/twamm_vs_twap_manual_twap.h5"))
    parser.add_argument("--twamm", default=os.path.join(REPO, "results/twamm_vs_twap_twamm.h5"))
    parser.add_argument("--band", default=os.path.join(REPO, "results/twamm_vs_twap_band.h5"),
                        help="twamm.yaml re-run with series every 10 blocks (optional: the pool-premium panel)")
    parser.add_argument("--figure", default=os.path.join(HERE, "twamm_vs_twap.png"))
    args = parser.parse_args()

    scenarios = []
    info = {}
    for path, family in ((args.one_swap, "one_swap"), (args.manual, "manual_twap"), (args.twamm, "twamm")):
        loaded, attrs, wall = load(path, family)
        scenarios += loaded
        info[family] = (attrs, wall, len(loaded))

    failures = []

    def check(ok: bool, message: str):
        print(f"- [{'pass' if ok else 'FAIL'}] {message}")
        if not ok:
            failures.append(message)

    # Common setup: same seed, paths, blocks and price process in all files.
    seeds = {int(a["seed"]) for a, _, _ in info.values()}
    paths = {int(a["paths"]) for a, _, _ in info.values()}
    if len(seeds) != 1 or len(paths) != 1:
        print(f"error: the three files must share seed and paths (seeds {seeds}, paths {paths})", file=sys.stderr)
        return 2
    n_paths = paths.pop()

    # Index: (strategy, tolerance, ordering) -> scenario.
    table = {}
    for s in scenarios:
        table[(s.strategy(), s.tolerance, s.ordering)] = s
    twamm_mev = table.get(("TWAMM order", None, "mev"))
    twamm_private = table.get(("TWAMM order", None, "private"))
    if twamm_mev is None or twamm_private is None:
        print("error: twamm.yaml must have a public (mev) and a private scenario", file=sys.stderr)
        return 2

    main_tolerance = 0.01
    # The strategies as studied: public transactions (mev), 1% slippage limit; TWAMM first.
    studied = sorted([s for s in scenarios if s.ordering == "mev" and s.family != "twamm"
                      and s.tolerance == main_tolerance], key=lambda s: -s.slices)
    studied = [twamm_mev] + studied

    def private_of(s):
        return table.get((s.strategy(), main_tolerance if s.family != "twamm" else None, "private"))

    # ------------------------------------------------------------------ per-path quantities
    def decomposition(s):
        p = private_of(s)
        amount = s.amount
        sold = s.get(f"{BUYER}.sold")
        fee = s.fee * sold / amount * BP
        cost_mev = s.get(f"{BUYER}.cost_vs_twap_numeraire")
        cost_private = p.get(f"{BUYER}.cost_vs_twap_numeraire")
        impact = cost_private / amount * BP - fee
        sandwich = (cost_mev - cost_private) / amount * BP
        gas = s.get(f"{BUYER}.gas_paid") / amount * BP
        total = (cost_mev + s.get(f"{BUYER}.gas_paid")) / amount * BP
        return {"fee": fee, "impact": impact, "sandwich": sandwich, "gas": gas, "total": total}

    decomp = {s.strategy(): decomposition(s) for s in studied}

    def paired_loss(s):
        """The buyer's cost public minus the same program private, per path (USDC); the private run of the
        main limit pairs the 0.5% scenarios too (a private slice is never sandwiched, its limit never binds)."""
        p = table.get((s.strategy(), s.tolerance, "private")) or table.get((s.strategy(), main_tolerance, "private"))
        return s.get(f"{BUYER}.cost_vs_twap_numeraire") - p.get(f"{BUYER}.cost_vs_twap_numeraire")

    def allowance_bp(s):
        """t x the value at the TWAP of what the same program bought when private, bp of amount."""
        p = private_of(s)
        value = p.get(f"{BUYER}.bought") * p.get(f"{BUYER}.reference_twap")
        return s.tolerance * value / s.amount * BP

    # ------------------------------------------------------------------ sanity checks
    print("## Sanity checks\n")
    ref = twamm_mev.get(f"{BUYER}.reference_twap")
    same_twap = all(np.array_equal(s.get(f"{BUYER}.reference_twap"), ref) for s in scenarios)
    check(same_twap, "common random numbers: reference_twap of path i is bit-identical in all "
          f"{len(scenarios)} scenarios of the three files (same seed, price process and window)")
    windows = {s.window for s in scenarios}
    check(len(windows) == 1, f"every program is measured over the same window of blocks: {sorted(windows)}")
    for s in scenarios:
        filled = s.get(f"{BUYER}.filled_fraction")
        tag = f"{s.label()}, {'public' if s.ordering == 'mev' else s.ordering}" + (f", tolerance {s.tolerance:g}" if s.tolerance is not None else "")
        # Up to rounding in the sum of the slices' inputs (1e-9 is far below one slice of any program here;
        # 100,000 / 96 or / 24 is not exact in binary, and since 1ede2be the last slice sells what is left).
        if s.family == "twamm":
            check(bool(np.all(filled >= 1.0 - 1e-9)),
                  f"{tag}: filled its whole amount on every path (min filled_fraction {filled.min():.10g})")
        else:
            failed = s.get(f"{BUYER}.failed_slices")
            check(bool(np.all(filled >= 1.0 - 1e-9)) and failed.sum() == 0,
                  f"{tag}: filled its whole amount on every path (min filled_fraction {filled.min():.10g}, "
                  f"failed slices {failed.sum():.0f})")
    tw_equal = np.array_equal(twamm_mev.get(f"{BUYER}.bought"), twamm_private.get(f"{BUYER}.bought"))
    tw_attacks = twamm_mev.get(f"{ATTACKER}.attacks").sum()
    check(tw_equal or tw_attacks > 0,
          f"a TWAMM order cannot be sandwiched: its purchases are bit-identical with public and private "
          f"transactions ({'identical' if tw_equal else 'different'}; attacker's sandwiches in that run: {tw_attacks:.0f})")
    for s in studied:
        if s.family == "twamm":
            continue
        d = decomp[s.strategy()]
        loss, se = mean_se(d["sandwich"])
        # A sandwiched slice receives at least (1 - t) of its quote, so the loss is at most about t of the
        # value bought (the quote is taken on the pool before the block; an arbitrage ahead of the slice in
        # the same block and the changed path afterwards make this approximate per path, not on average).
        limit = float(np.mean(allowance_bp(s)))
        check(loss <= limit + 3 * se,
              f"{s.label()}: sandwich loss {loss:.1f} ± {se:.2f} bp is within its slippage allowance "
              f"(t x value bought = {limit:.1f} bp)")
    one = table.get(("one swap", main_tolerance, "private"))
    if one is not None:
        # Closed form (markets/README.md): one swap of A on the pool's initial reserves (x USDC, y ETH)
        # buys y g A / (x + g A); the pool at block 300 sits somewhere in the arbitrageur's no-trade band
        # around the reference, so the mean cost vs the arrival price is this within a few bp.
        g = 1.0 - one.fee
        x0, y0, s0 = 2_000_000.0, 1000.0, 2000.0
        bought = y0 * g * one.amount / (x0 + g * one.amount)
        closed = (one.amount / bought) / s0 - 1.0
        measured, se = mean_se(one.get(f"{BUYER}.cost_vs_arrival"))
        check(abs(measured - closed) * BP < 5.0,
              f"one swap through a private relay: cost vs arrival {measured * BP:.1f} ± {se * BP:.1f} bp against the "
              f"Uniswap v2 closed form {closed * BP:.1f} bp on the initial pool (within 5 bp: the pool's "
              "position in the no-trade band at block 300 is random)")
    tw_fee = decomp["TWAMM order"]["fee"]
    check(bool(np.allclose(tw_fee, twamm_mev.fee * BP)),
          f"the TWAMM order paid the pool fee on all of its input: {tw_fee.mean():.2f} bp (f = {twamm_mev.fee})")

    # ------------------------------------------------------------------ tables
    print(f"\n## Cost of each strategy ({n_paths:,} paths; public transactions, `mev` ordering, slippage limit "
          f"{main_tolerance:.0%} per swap)\n")
    print("cost_vs_twap = execution price / reference TWAP over [300, 2700) − 1, in bp; "
          "total = (cost_vs_twap_numeraire + gas) / 100,000 USDC, in bp.\n")
    print("| strategy | cost_vs_twap mean ± SE (bp) | p5 | p50 | p95 | cost_vs_twap_numeraire (USDC) | gas (USDC) "
          "| total cost (bp of amount) | filled_fraction (min) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in studied:
        c = s.get(f"{BUYER}.cost_vs_twap") * BP
        print(f"| {s.label()} | {fmt_mse(c, 1)} | {q(c, .05):.1f} | {q(c, .5):.1f} | {q(c, .95):.1f} "
              f"| {fmt_mse(s.get(f'{BUYER}.cost_vs_twap_numeraire'), 1)} | {s.get(f'{BUYER}.gas_paid').mean():.1f} "
              f"| {fmt_mse(decomp[s.strategy()]['total'], 2)} | {s.get(f'{BUYER}.filled_fraction').min():.4f} |")

    print("\n## Decomposition of the total cost (bp of the amount, mean ± SE)\n")
    print("fee = 0.3% of the buyer's own input; impact = the rest of the cost above the TWAP when the buyer's "
          "transactions go through a private relay; sandwich = the same program public minus private, paired per "
          "path; gas = the buyer's gas.\n")
    print("| strategy | fee | impact (net of arbitrage) | sandwich | gas | total | sandwich loss / (t × value bought) |")
    print("|---|---|---|---|---|---|---|")
    for s in studied:
        d = decomp[s.strategy()]
        allowance = ("n/a (no swap)" if s.tolerance is None
                     else f"{d['sandwich'].mean() / allowance_bp(s).mean():.1%}")
        print(f"| {s.label()} | {d['fee'].mean():.2f} | {fmt_mse(d['impact'], 2)} | {fmt_mse(d['sandwich'], 2)} "
              f"| {fmt_mse(d['gas'], 3)} | {fmt_mse(d['total'], 2)} | {allowance} |")

    print("\n## The sandwich attacker and the arbitrageur (means per path, USDC unless counted)\n")
    print("`buyer.sandwiched_slices` and `buyer.sandwich_loss` come from the buyer's own receipts; "
          "`chain.victim_loss` sums over every victim; the paired loss is the buyer's "
          "cost_vs_twap_numeraire public − private, per path.\n")
    print("| strategy | buyer's transactions | slippage limit | `buyer.sandwiched_slices` (of its swaps) "
          "| `buyer.sandwich_loss` | paired public − private | `chain.victim_loss` "
          "| attacker profit (net) | attacker gross | arb.profit | arb.trades |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = sorted(scenarios, key=lambda s: (s.family != "twamm", -(s.slices or 10 ** 6),
                                              {"mev": 0, "private": 1}.get(s.ordering, 2), -(s.tolerance or 0)))
    for s in rows:
        loss = paired_loss(s)
        tol = "–" if s.tolerance is None else f"{s.tolerance:.1%}"
        channel = "public (mev)" if s.ordering == "mev" else "private relay"
        if s.family == "twamm":
            sandwiched, own = "– (no swap)", "–"
        else:
            sandwiched = f"{s.get(f'{BUYER}.sandwiched_slices').mean():.3f} (of {s.slices})"
            own = fmt_mse(s.get(f"{BUYER}.sandwich_loss"), 1)
        print(f"| {s.label()} | {channel} | {tol} | {sandwiched} | {own} "
              f"| {'0 (this is the counterfactual)' if s.ordering == 'private' else fmt_mse(loss, 1)} "
              f"| {s.get('chain.victim_loss').mean():.1f} "
              f"| {s.get(f'{ATTACKER}.profit').mean():.1f} | {s.get(f'{ATTACKER}.gross_profit').mean():.1f} "
              f"| {s.get(f'{ARB}.profit').mean():.1f} | {s.get(f'{ARB}.trades').mean():.1f} |")

    print()
    arb_private = all(bool(a.get("private_channel", True)) for a in yaml.safe_load(open_config(args.manual))["agents"]
                      if a.get("type") == "arbitrageur")
    check_sandwich_loss(scenarios, paired_loss, check, arb_private,
                        table.get(("one swap", main_tolerance, "mev")),
                        table.get(("one swap", main_tolerance, "private")))

    print("\n## Sensitivity: slippage limit 0.5% instead of 1% (public transactions)\n")
    print("| strategy | cost_vs_twap at 1% (bp) | at 0.5% (bp) | paired difference (bp) |")
    print("|---|---|---|---|")
    for s in studied:
        if s.family == "twamm":
            continue
        t = table.get((s.strategy(), 0.005, "mev"))
        if t is None:
            continue
        a = s.get(f"{BUYER}.cost_vs_twap") * BP
        b = t.get(f"{BUYER}.cost_vs_twap") * BP
        print(f"| {s.label()} | {fmt_mse(a, 2)} | {fmt_mse(b, 2)} | {fmt_mse(b - a, 2)} |")

    # Which slice sizes a lone sandwicher attacks: the exact optimal sandwich on the initial pool.
    attacker = next(a for a in yaml.safe_load(open_config(args.manual))["agents"] if a.get("id") == ATTACKER)
    gas_attack = 2 * attacker.get("gas_used", 150000) * twamm_mev.gas_gwei * 1e-9 * 2000.0
    bribe = attacker.get("bribe_fraction", 0.5)
    print("\n## Which slices get sandwiched: the optimal sandwich on the initial pool vs the measured loss\n")
    print(f"Pool 2,000,000 USDC / 1000 ETH, fee f = {twamm_mev.fee}; the attacker keeps (1 − bribe) = "
          f"{1 - bribe:.2f} of the gross profit and pays {gas_attack:.1f} USDC of gas for its two transactions. "
          "Linearised: gross ≈ t (q − f R), so it attacks iff q > f R + gas / ((1 − bribe) t) = "
          + ", ".join(f"{twamm_mev.fee * 2e6 + gas_attack / ((1 - bribe) * tol):,.0f} USDC at t = {tol:.1%}"
                      for tol in (0.01, 0.005)) + ".\n")
    thresholds = {tol: twamm_mev.fee * 2e6 + gas_attack / ((1 - bribe) * tol) for tol in (0.01, 0.005)}
    decisions = []
    print("| slice q (USDC) | t | optimal front-run (USDC) | gross (USDC) | net after bribe and gas | attacked? "
          "| slices sandwiched (measured) | buyer.sandwich_loss / (t × value bought) |")
    print("|---|---|---|---|---|---|---|---|")
    for s in sorted([x for x in scenarios if x.ordering == "mev" and x.family != "twamm"],
                    key=lambda x: (-(x.tolerance or 0), x.amount / x.slices)):
        size = s.amount / s.slices
        front, gross = optimal_sandwich(2e6, 1000.0, s.fee, size, s.tolerance)
        net = (1 - bribe) * gross - gas_attack
        share = s.get(f"{BUYER}.sandwich_loss").mean() / np.mean(allowance_bp(s) / BP * s.amount)
        hit = s.get(f"{BUYER}.sandwiched_slices").mean() / s.slices
        print(f"| {size:,.0f} | {s.tolerance:.1%} | {front:,.0f} | {gross:.1f} | {net:+.1f} | "
              f"{'yes' if net > 0 else 'no'} | {hit:.1%} | {share:.1%} |")
        decisions.append(((net > 0) == (share > 0.5), size, s.tolerance))
    print()
    check(all(ok for ok, _, _ in decisions),
          "the closed-form attack decision (attack iff net > 0) matches the measured loss (> 50% of the "
          "allowance taken) for every slice size and limit" +
          "".join(f"; MISMATCH at q = {q_:,.0f}, t = {t_:.1%}" for ok, q_, t_ in decisions if not ok))

    model = premium_model(twamm_mev, n_paths=20000)
    print("\n## The TWAMM order's premium: a one-dimensional model\n")
    print(f"log(pool mid / reference) z moves each block by the order's push {model['drift']:.3f} bp minus the "
          f"reference's move N(0, {model['sigma']:.2f} bp); when |z| exceeds γ + w = {model['edge']:.1f} bp the "
          f"arbitrageur resets it to ±γ = ±{model['gamma']:.1f} bp. Mean z while the order runs: "
          f"**{model['mean']:.2f} bp** (model, 20,000 paths) against {decomp['TWAMM order']['impact'].mean():.2f} bp "
          f"measured (impact column) and cost_vs_twap − (1/(1−f) − 1) = "
          f"{(twamm_mev.get(f'{BUYER}.cost_vs_twap').mean() - (1 / (1 - twamm_mev.fee) - 1)) * BP:.2f} bp.")

    print("\n## Paired differences against the TWAMM order (strategy − TWAMM, per path)\n")
    print("| strategy | Δ cost_vs_twap (bp) | paired SE | unpaired SE | Δ total cost incl. gas (bp of amount) "
          "| paired SE | unpaired SE | paths where TWAMM is cheaper (total) |")
    print("|---|---|---|---|---|---|---|---|")
    base_c = twamm_mev.get(f"{BUYER}.cost_vs_twap") * BP
    base_t = decomp["TWAMM order"]["total"]
    paired_rows = []
    for s in studied[1:]:
        c = s.get(f"{BUYER}.cost_vs_twap") * BP
        t = decomp[s.strategy()]["total"]
        dc, sec = mean_se(c - base_c)
        dt, set_ = mean_se(t - base_t)
        uc = math.hypot(mean_se(c)[1], mean_se(base_c)[1])
        ut = math.hypot(mean_se(t)[1], mean_se(base_t)[1])
        paired_rows.append((s, dc, sec, uc, dt, set_, ut))
        print(f"| {s.label()} | {dc:+.2f} | {sec:.3f} | {uc:.3f} | {dt:+.2f} | {set_:.3f} | {ut:.3f} "
              f"| {np.mean(t > base_t):.1%} |")

    # Pool premium under the TWAMM order (optional series file).
    band = None
    if args.band and os.path.exists(args.band):
        with open_results(args.band) as results:
            for sc in results.scenarios():
                if sc["parameters"].get("chain.ordering", "mev") == "mev":
                    blocks, spot = results.series(sc["index"], "tw.spot_price")
                    _, reference = results.series(sc["index"], "reference.ETH")
                    band = (blocks, np.log(spot / reference) * BP, results.attrs)
                    break
    if band is not None:
        blocks, z, _ = band
        lo, hi = twamm_mev.window
        inside = (blocks >= lo) & (blocks < hi)
        before = (blocks >= 100) & (blocks < lo)
        gamma = -math.log(1.0 - twamm_mev.fee)
        # Gas-bounded band: the arbitrageur trades when its profit sqrt(kS) e^{gamma/2} (e^{w/2} - 2 + e^{-w/2})
        # ~ sqrt(kS) w^2 / 4 exceeds its gas (120,000 gas at 15 gwei), w = overshoot beyond gamma.
        gas_usdc = 120000 * twamm_mev.gas_gwei * 1e-9 * 2000.0
        w = 2.0 * math.sqrt(gas_usdc / math.sqrt(2_000_000.0 * 1000.0 * 2000.0))
        print(f"\n## Where the pool sits while the TWAMM order runs ({z.shape[0]} paths, every "
              f"{int(blocks[1] - blocks[0])} blocks)\n")
        print(f"log(pool mid / reference) in bp: mean {z[:, inside].mean():+.2f} over the order's window "
              f"[{lo}, {hi}), {z[:, before].mean():+.2f} before it (blocks 100-299); range "
              f"[{z[:, inside].min():.1f}, {z[:, inside].max():.1f}]. The arbitrageur's gas-bounded no-trade band: "
              f"±(γ + w) = ±({gamma * BP:.1f} + {w * BP:.1f}) = ±{(gamma + w) * BP:.1f} bp.")

    print("\n## Run\n")
    for family, (attrs, wall, count) in info.items():
        print(f"- {family}: {count} scenarios × {int(attrs['paths']):,} paths × {int(attrs['blocks']):,} blocks, "
              f"{wall:.1f} s (defisim {attrs.get('defisim_version')}, {attrs.get('source_revision')})")

    if args.figure:
        figure(args.figure, studied, decomp, table, paired_rows, band, twamm_mev, main_tolerance, n_paths, thresholds)
        print(f"\nwrote {args.figure}")

    if failures:
        print(f"\n{len(failures)} sanity check(s) FAILED", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- sandwich-loss cross-check

# Tolerances of the three comparisons of the buyer's own sandwich_loss (check_sandwich_loss):
VICTIM_LOSS_RTOL = 1e-9     # vs chain.victim_loss, per path: the same terms summed in the same order
ONE_SWAP_RTOL = 1e-12       # one swap, per path in ETH: the same swap on the same pool, attacked or not
PAIRED_MEAN_RTOL = 1e-3     # vs the paired public - private difference, on the mean: see below


def check_sandwich_loss(scenarios, paired_loss, check, arb_private, one_public, one_private):
    """The buyer's sandwich_loss (from its receipts) against two other measures of the same loss.

    1. chain.victim_loss sums (amount_out_unattacked - amount_out) x reference price over every sandwiched
       swap of the block builder; the twap_trader sums the same terms from its receipts. With the arbitrageur
       sending privately and no other public swapper, the buyer is the only possible victim, so the two must
       agree per path to rounding (they are the same doubles added in the same order; 1e-9 relative allows
       for nothing else). sandwiched_slices must likewise equal sandwich.attacks per path.
    2. The paired difference public - private of cost_vs_twap_numeraire measures the loss through the whole
       path. It differs from sandwich_loss per path for two zero-mean-ish reasons: it values the lost ETH at
       the window's TWAP instead of the slice block's reference price (sd ~ loss x sigma sqrt(T/3) ~ 1.2%
       of the loss for the one swap), and after an attack the pool and the arbitrageur's next trades differ,
       so later slices see a pool up to one arbitrage band apart (up to ~slice x 0.6%, tens of USDC on a
       path). On the mean over 10,000 paths these leave a few 0.01% of the loss; 0.1% is the tolerance.
       On paths and programs that are never attacked the two runs must be bit-identical (difference 0).
    3. For the one swap the path has nothing after the swap, so per path the ETH it lost (private bought
       minus public bought) must equal sandwich_loss / the reference price of the swap's block (the arrival
       price) to rounding (1e-12 relative).
    Returns rows (scenario, own mean, paired mean, difference mean, its paired SE)."""
    rows = []
    for s in scenarios:
        if s.family == "twamm":
            continue
        own = s.get(f"{BUYER}.sandwich_loss")
        sandwiched = s.get(f"{BUYER}.sandwiched_slices")
        tag = f"{s.label()}, {'public' if s.ordering == 'mev' else s.ordering}, limit {s.tolerance:g}"
        if s.ordering == "private":
            check(bool(np.all(own == 0) and np.all(sandwiched == 0) and np.all(s.get("chain.victim_loss") == 0)),
                  f"{tag}: never sandwiched (sandwiched_slices, sandwich_loss and chain.victim_loss all 0)")
            continue
        if arb_private:
            victim = s.get("chain.victim_loss")
            worst = float(np.max(np.abs(own - victim) / np.maximum(np.abs(victim), 1.0)))
            same_count = bool(np.array_equal(sandwiched, s.get(f"{ATTACKER}.attacks")))
            check(worst <= VICTIM_LOSS_RTOL and same_count,
                  f"{tag}: buyer.sandwich_loss = chain.victim_loss per path (max relative difference {worst:.1e}, "
                  f"tolerance {VICTIM_LOSS_RTOL:.0e}) and buyer.sandwiched_slices = sandwich.attacks per path "
                  f"({'equal' if same_count else 'DIFFERENT'})")
        paired = paired_loss(s)
        if not np.any(sandwiched > 0):
            check(bool(np.all(paired == 0)),
                  f"{tag}: never attacked, and its public and private runs are bit-identical "
                  f"(max |public − private| {np.abs(paired).max():.3g} USDC)")
            rows.append((s, 0.0, 0.0, 0.0, 0.0))
            continue
        d, se = mean_se(own - paired)
        m_paired = float(paired.mean())
        rel = abs(d) / m_paired
        check(rel <= PAIRED_MEAN_RTOL,
              f"{tag}: mean buyer.sandwich_loss {own.mean():.2f} vs paired public − private {m_paired:.2f} USDC: "
              f"difference {d:+.3f} ± {se:.3f} USDC ({rel:.4%}, tolerance {PAIRED_MEAN_RTOL:.1%}); per path sd "
              f"{np.std(own - paired, ddof=1):.1f}, max |.| {np.abs(own - paired).max():.1f} USDC")
        rows.append((s, float(own.mean()), m_paired, d, se))
    if one_public is not None and one_private is not None:
        arrival = one_private.get(f"{BUYER}.execution_price") / (1.0 + one_private.get(f"{BUYER}.cost_vs_arrival"))
        lost_eth = one_private.get(f"{BUYER}.bought") - one_public.get(f"{BUYER}.bought")
        own_eth = one_public.get(f"{BUYER}.sandwich_loss") / arrival
        worst = float(np.max(np.abs(own_eth - lost_eth) / np.maximum(np.abs(lost_eth), 1e-9)))
        attacked = int((one_public.get(f"{BUYER}.sandwiched_slices") > 0).sum())
        check(worst <= ONE_SWAP_RTOL,
              f"one swap, per path: ETH lost (private − public bought) = buyer.sandwich_loss / arrival price "
              f"on all {len(lost_eth):,} paths ({attacked:,} attacked; max relative difference {worst:.1e}, "
              f"tolerance {ONE_SWAP_RTOL:.0e})")
    return rows


# --------------------------------------------------------------------------- models

def open_config(path: str):
    with open_results(path) as results:
        return results.config


def amount_out(reserve_in, reserve_out, fee, amount_in):
    g = 1.0 - fee
    return reserve_out * g * amount_in / (reserve_in + g * amount_in)


def optimal_sandwich(usdc, eth, fee, q, tolerance):
    """(front-run, gross profit in USDC) of the best sandwich of a buy of q USDC with a slippage limit,
    on a pool of (usdc, eth): front-run a USDC for ETH, the victim's swap, sell the ETH back; the victim
    must still get (1 - tolerance) of its quote. Grid search over a up to the victim's limit (bisection)."""
    limit = (1.0 - tolerance) * amount_out(usdc, eth, fee, q)

    def victim_out(a):
        e = amount_out(usdc, eth, fee, a)
        return amount_out(usdc + a, eth - e, fee, q)

    def profit(a):
        e = amount_out(usdc, eth, fee, a)
        v = amount_out(usdc + a, eth - e, fee, q)
        return amount_out(eth - e - v, usdc + a + q, fee, e) - a

    lo, hi = 0.0, usdc
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if victim_out(mid) >= limit else (lo, mid)
    grid = np.linspace(0.0, lo, 20001)
    profits = np.array([profit(a) for a in grid])
    best = int(np.argmax(profits))
    return float(grid[best]), float(max(profits[best], 0.0))


def premium_model(twamm, n_paths=20000, seed=1):
    """Mean log premium of the pool's mid over the reference while a TWAMM buy order runs, in a 1-D model:
    z += push - sigma_b * N(0,1) per block; an arbitrageur resets z to +-gamma when |z| > gamma + w, w the
    overshoot at which its profit sqrt(kS) e^{gamma/2} (e^{w/2} - 2 + e^{-w/2}) pays its gas."""
    rng = np.random.default_rng(seed)
    fee = twamm.fee
    gamma = -math.log(1.0 - fee)
    sigma_b = 0.7 * math.sqrt(12.0 / (365.0 * 24 * 3600))
    usdc, eth, price = 2_000_000.0, 1000.0, 2000.0
    lo, hi = twamm.window
    rate = twamm.amount / (hi - lo)
    push = (2.0 * (1.0 - fee) + fee) * rate / usdc          # d log(y/x) of selling `rate` USDC (fee stays in the pool)
    gas = 120000 * twamm.gas_gwei * 1e-9 * price
    w = 2.0 * math.acosh(1.0 + gas / (math.sqrt(usdc * eth * price) * math.exp(gamma / 2.0)) / 2.0)
    z = np.zeros(n_paths)
    total = 0.0
    for block in range(hi):
        if block >= lo:
            total += float(np.mean(z)) + push / 2.0           # the segment trades at the mid as it moves
            z += push
        z -= sigma_b * rng.standard_normal(n_paths)
        z[z > gamma + w] = gamma
        z[z < -gamma - w] = -gamma
    return {"mean": total / (hi - lo) * BP, "drift": push * BP, "sigma": sigma_b * BP, "edge": (gamma + w) * BP,
            "gamma": gamma * BP}


# --------------------------------------------------------------------------- figure

def figure(png, studied, decomp, table, paired_rows, band, twamm_mev, main_tolerance, n_paths, thresholds):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"fee": "#8c8c8c", "impact": "#4c72b0", "sandwich": "#c44e52", "gas": "#dd8452"}
    fig, axes = plt.subplots(2, 2, figsize=(15, 10.5), constrained_layout=True)
    fig.suptitle(f"Buying ETH with 100,000 USDC over 8 h on a 1000 ETH / 2,000,000 USDC pool (fee 0.3%, "
                 f"σ = 0.7, gas 15 gwei, {n_paths:,} paths; swaps public with a {main_tolerance:.0%} "
                 "slippage limit, mev ordering)", fontsize=11)
    short = {s.strategy(): ("TWAMM" if s.family == "twamm" else
                            "one\nswap" if s.slices == 1 else f"N={s.interval}\n{s.slices}×") for s in studied}

    # (a) distributions of cost_vs_twap, log scale.
    ax = axes[0, 0]
    data = [s.get(f"{BUYER}.cost_vs_twap") * BP for s in studied]
    positive = [d[d > 0] for d in data]
    parts = ax.violinplot(positive, showextrema=False, widths=0.85)
    for body, s in zip(parts["bodies"], studied):
        body.set_facecolor("#55a868" if s.family == "twamm" else "#4c72b0")
        body.set_alpha(0.45)
    ax.boxplot(positive, widths=0.18, whis=(5, 95), showfliers=False, medianprops={"color": "black"})
    ax.plot(range(1, len(studied) + 1), [d.mean() for d in data], "o", color="white", markeredgecolor="black",
            markersize=5, label="mean", zorder=3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_yscale("log")
    ax.set_xticks(range(1, len(studied) + 1), [short[s.strategy()] for s in studied], fontsize=9)
    ax.set_ylabel("cost vs reference TWAP (bp, log scale)")
    ax.set_title("(a) execution price vs TWAP per path (violin; box 25-75%, whiskers 5-95%)")
    ax.grid(True, which="both", axis="y", alpha=0.3)
    dropped = sum(int((d <= 0).sum()) for d in data)
    if dropped:
        ax.text(0.01, 0.01, f"{dropped} paths with cost ≤ 0 not shown (log scale)", transform=ax.transAxes,
                fontsize=8)

    # (b) mean total cost vs N with 3-SE bars.
    ax = axes[0, 1]
    twap = [s for s in studied if s.family != "twamm"]
    n = np.array([s.interval if s.slices > 1 else 2400 for s in twap], dtype=float)
    for label, key, tol, color, marker in (
            ("manual TWAP / one swap, public swaps (1% limit)", "mev", main_tolerance, "#4c72b0", "o"),
            ("same, 0.5% limit", "mev", 0.005, "#8172b3", "s"),
            ("same, sent through a private relay", "private", main_tolerance, "#937860", "^")):
        means, errs = [], []
        for s in twap:
            t = table.get((s.strategy(), tol, key))
            if t is None:
                means.append(np.nan); errs.append(0.0); continue
            tot = (t.get(f"{BUYER}.cost_vs_twap_numeraire") + t.get(f"{BUYER}.gas_paid")) / t.amount * BP
            m, se = mean_se(tot)
            means.append(m); errs.append(3 * se)
        ax.errorbar(n, means, yerr=errs, color=color, marker=marker, capsize=3, label=label, linewidth=1.4)
    # The linearised attack threshold q* = f R + gas / ((1 - bribe) t) as an interval: N* = 2400 q* / amount.
    for tol, color in ((main_tolerance, "#4c72b0"), (0.005, "#8172b3")):
        if tol in thresholds:
            n_star = 2400.0 * thresholds[tol] / twamm_mev.amount
            ax.axvline(n_star, color=color, linestyle=":", linewidth=1.2)
            left = tol == main_tolerance
            ax.text(n_star * (0.97 if left else 1.03), 450,
                    f"sandwich pays above\n{thresholds[tol]:,.0f} USDC a slice\nat t = {tol:.1%} (N ≈ {n_star:.0f})",
                    fontsize=7.5, color=color, va="center", ha="right" if left else "left")
    m, se = mean_se(decomp["TWAMM order"]["total"])
    ax.axhspan(m - 3 * se, m + 3 * se, color="#55a868", alpha=0.3)
    ax.axhline(m, color="#55a868", linewidth=2, label=f"TWAMM order: {m:.1f} ± {se:.2f} bp")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(n, [f"{int(v)}" + ("\n(one swap)" if v == 2400 else "") for v in n], fontsize=8)
    ax.minorticks_off()
    ax.set_yticks([50, 70, 100, 150, 200, 300, 500, 700], ["50", "70", "100", "150", "200", "300", "500", "700"])
    ax.set_xlabel("blocks between slices N (slices = 2400 / N)")
    ax.set_ylabel("mean total cost incl. gas (bp of 100,000 USDC, log scale)")
    ax.set_title("(b) mean total cost, error bars ±3 SE")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")

    # (c) decomposition, stacked bars.
    ax = axes[1, 0]
    x = np.arange(len(studied))
    bottom = np.zeros(len(studied))
    ylim = 230.0
    for part, label in (("fee", "pool fee on own input (0.3%)"), ("impact", "price impact net of arbitrage"),
                        ("sandwich", "sandwich loss (paired public − private)"), ("gas", "gas")):
        values = np.array([decomp[s.strategy()][part].mean() for s in studied])
        ax.bar(x, values, bottom=bottom, color=colors[part], label=label, width=0.7)
        bottom += values
    for i, total in enumerate(bottom):
        if total > ylim:
            ax.text(i, ylim * 0.98, f"↑ {total:.0f}\n(clipped)", ha="center", va="top", fontsize=8,
                    color="white", fontweight="bold")
        else:
            ax.text(i, total + 2, f"{total:.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, ylim)
    ax.set_xticks(x, [short[s.strategy()] for s in studied], fontsize=9)
    ax.set_ylabel("mean cost (bp of 100,000 USDC)")
    ax.set_title("(c) decomposition of the mean total cost")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)

    # (d) where the pool sits while the TWAMM order runs, or the paired differences.
    ax = axes[1, 1]
    if band is not None:
        blocks, z, _ = band
        hours = blocks * 12.0 / 3600.0
        q05, q25, q50, q75, q95 = np.quantile(z, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        ax.fill_between(hours, q05, q95, color="#55a868", alpha=0.18, linewidth=0, label="5-95% of paths")
        ax.fill_between(hours, q25, q75, color="#55a868", alpha=0.4, linewidth=0, label="25-75%")
        ax.plot(hours, z.mean(axis=0), color="#2d6a3e", linewidth=1.6, label="mean")
        gamma = -math.log(1.0 - twamm_mev.fee) * BP
        gas_usdc = 120000 * twamm_mev.gas_gwei * 1e-9 * 2000.0
        w = 2.0 * math.sqrt(gas_usdc / math.sqrt(2_000_000.0 * 1000.0 * 2000.0)) * BP
        for sign in (1, -1):
            ax.axhline(sign * (gamma + w), color="black", linestyle="--", linewidth=1)
            ax.axhline(sign * gamma, color="black", linestyle=":", linewidth=1)
        ax.text(0.1, gamma + w + 2, f"arbitrageur trades beyond ±(γ + gas) = ±{gamma + w:.0f} bp", fontsize=8)
        ax.text(0.1, gamma + 2, f"fee γ = {gamma:.0f} bp", fontsize=8)
        lo, hi = twamm_mev.window
        ax.axvspan(lo * 12 / 3600, hi * 12 / 3600, color="#cccccc", alpha=0.25, linewidth=0)
        inside = (blocks >= lo) & (blocks < hi)
        ax.text((lo + hi) / 2 * 12 / 3600, -gamma - w - 10,
                f"order runs: mean premium {z[:, inside].mean():+.1f} bp", ha="center", fontsize=8)
        ax.set_ylim(-gamma - w - 18, gamma + w + 12)
        ax.set_xlim(hours[0], hours[-1])
        ax.set_xlabel("time (hours)")
        ax.set_ylabel("log(pool mid price / reference) (bp)")
        ax.set_title(f"(d) TWAMM run: the pool's premium over the reference ({z.shape[0]} paths)")
        ax.legend(fontsize=8, loc="lower left")
        ax.grid(True, alpha=0.3)
    else:
        labels = [short[r[0].strategy()] for r in paired_rows]
        y = np.arange(len(paired_rows))
        ax.errorbar([r[4] for r in paired_rows], y, xerr=[3 * r[6] for r in paired_rows], fmt="none",
                    ecolor="#bbbbbb", elinewidth=6, label="±3 unpaired SE")
        ax.errorbar([r[4] for r in paired_rows], y, xerr=[3 * r[5] for r in paired_rows], fmt="o",
                    color="black", capsize=3, label="±3 paired SE")
        ax.set_xscale("symlog", linthresh=10)
        ax.set_yticks(y, labels)
        ax.axvline(0, color="#55a868")
        ax.set_xlabel("total cost − TWAMM's, per path (bp)")
        ax.set_title("(d) paired differences against the TWAMM order")
        ax.legend(fontsize=8)
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
