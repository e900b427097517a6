#!/usr/bin/env python3
"""W1 in NumPy, vectorised over paths (a loop over blocks, arrays over paths).

The same work as experiments/bench/w1.yaml without the framework: exact log
GBM step, the closed-form optimal arbitrage with a 30 bp fee on input, trade
only if profit exceeds gas, a sample every 60 blocks. No file is written. This
is the baseline `run_w1.sh` divides by.
"""
import argparse
import time

import numpy as np

SECONDS_PER_YEAR = 365 * 24 * 3600


def run(paths, blocks, block_time=12.0, sigma=0.8, fee=0.003, record_every=60, seed=1,
        gas_used=120000, gas_price_gwei=10.0):
    rng = np.random.default_rng(seed)
    dt = block_time / SECONDS_PER_YEAR
    drift = -0.5 * sigma * sigma * dt
    vol = sigma * np.sqrt(dt)
    gamma = 1.0 - fee
    log_s = np.full(paths, np.log(2000.0))
    x = np.full(paths, 1000.0)
    y = np.full(paths, 2_000_000.0)
    profit = np.zeros(paths)
    samples = []
    for block in range(1, blocks + 1):
        log_s += drift + vol * rng.standard_normal(paths)
        s = np.exp(log_s)
        gas = gas_used * gas_price_gwei * 1e-9 * s
        buy_x = gamma * s * x > y       # pool too cheap: sell y for x
        sell_x = gamma * y > s * x      # pool too dear: sell x for y
        if buy_x.any():
            dy = (np.sqrt(gamma * x * y * s) - y) / gamma
            dx = x * gamma * dy / (y + gamma * dy)
            gain = s * dx - dy - gas
            do = buy_x & (gain > 0)
            x = np.where(do, x - dx, x)
            y = np.where(do, y + dy, y)
            profit += np.where(do, gain, 0.0)
        if sell_x.any():
            dx = (np.sqrt(gamma * x * y / s) - x) / gamma
            dy = y * gamma * dx / (x + gamma * dx)
            gain = dy - s * dx - gas
            do = sell_x & (gain > 0)
            x = np.where(do, x + dx, x)
            y = np.where(do, y - dy, y)
            profit += np.where(do, gain, 0.0)
        if block % record_every == 0:
            samples.append(profit.copy())
    return profit, samples


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=10000)
    parser.add_argument("--blocks", type=int, default=7200)
    args = parser.parse_args()
    start = time.perf_counter()
    profit, _ = run(args.paths, args.blocks)
    seconds = time.perf_counter() - start
    rate = args.paths * args.blocks / seconds
    print(f"numpy W1: {args.paths} paths x {args.blocks} blocks in {seconds:.2f} s, "
          f"{rate:.3g} path-blocks/s (mean arbitrage profit {profit.mean():.1f})")


if __name__ == "__main__":
    main()
