#!/usr/bin/env python3
"""Tests of the analysis toolkit (analysis/defisim: stats, tables, results, plots, cli).

    "$(analysis/python.sh)" tests/python/test_python_toolkit.py [--defisim build/release/bin/defisim]

1. The statistics against closed forms: normal quantiles, the binomial, the
   exact coverage of the order-statistic quantile intervals, Wilson intervals
   against published values, weighted estimators with equal weights, the
   bootstrap's reproducibility.
2. With --defisim: runs a tiny two-parameter YAML sweep and checks the scenario
   table, the outcome matrix, the summaries with intervals against the stored
   summary, per-path weights, the format-version error, every figure function
   (PNG files) and the command line.

Exit status 0 if everything passed. Runs under unittest (no pytest needed).
"""
import contextlib
import importlib.util
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS = os.path.normpath(os.path.join(HERE, "..", "..", "analysis"))
sys.path.insert(0, ANALYSIS)

try:
    import h5py
    import numpy as np
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with the python3 printed by "
             "analysis/python.sh (apt-get install python3-numpy python3-h5py python3-matplotlib)")

from defisim import WEIGHTS_DATASET, ResultsFormatError, open_results, stats  # noqa: E402
from defisim.tables import markdown_table, parse_value  # noqa: E402

DEFISIM = None
if "--defisim" in sys.argv:
    i = sys.argv.index("--defisim")
    DEFISIM = sys.argv[i + 1]
    del sys.argv[i:i + 2]
DEFISIM = DEFISIM or os.environ.get("DEFISIM")

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAVE_PANDAS = importlib.util.find_spec("pandas") is not None  # optional: tested either way

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def exact_binomial_cdf(k, n, p):
    """P(Bin(n, p) <= k) summed with math.comb."""
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(0, min(k, n) + 1)) if k >= 0 else 0.0


# --------------------------------------------------------------------------- statistics

class NormalTest(unittest.TestCase):
    def test_known_quantiles(self):
        self.assertAlmostEqual(stats.normal_ppf(0.975), 1.959963984540054, places=14)
        self.assertAlmostEqual(stats.normal_ppf(0.995), 2.5758293035489004, places=14)
        self.assertAlmostEqual(stats.normal_ppf(0.8413447460685429), 1.0, places=13)
        self.assertEqual(stats.normal_ppf(0.5), 0.0)
        self.assertAlmostEqual(stats.z_value(0.95), 1.959963984540054, places=14)
        self.assertAlmostEqual(stats.z_value(0.90), 1.6448536269514722, places=14)
        self.assertEqual(stats.normal_ppf(0.0), -math.inf)
        self.assertEqual(stats.normal_ppf(1.0), math.inf)
        with self.assertRaises(ValueError):
            stats.normal_ppf(1.5)
        with self.assertRaises(ValueError):
            stats.z_value(1.0)

    def test_inverse_of_the_cdf(self):
        for p in list(np.logspace(-300, -1, 60)) + list(np.linspace(0.01, 0.99, 99)):
            x = stats.normal_ppf(p)
            self.assertLess(abs(stats.normal_cdf(x) - p) / p, 1e-12, p)
            if p >= 1e-3:  # symmetry (1 - p is rounded: only where that costs nothing)
                self.assertAlmostEqual(stats.normal_ppf(1 - p), -x, delta=1e-11)


class BinomialTest(unittest.TestCase):
    def test_pmf_and_cdf_against_math_comb(self):
        for n in (0, 1, 2, 5, 17, 40):
            for p in (0.01, 0.3, 0.5, 0.9, 0.99):
                pmf = stats.binomial_pmf(n, p)
                exact = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
                np.testing.assert_allclose(pmf, exact, rtol=1e-9, atol=1e-300)
                for k in range(-1, n + 2):
                    self.assertAlmostEqual(stats.binomial_cdf(k, n, p), exact_binomial_cdf(k, n, p), places=12)

    def test_large_n_moments(self):
        n, p = 200_000, 0.99
        pmf = stats.binomial_pmf(n, p)
        k = np.arange(n + 1)
        self.assertAlmostEqual(pmf.sum(), 1.0, places=12)
        self.assertAlmostEqual(float(k @ pmf) / (n * p), 1.0, places=10)
        self.assertAlmostEqual(float(((k - n * p) ** 2) @ pmf) / (n * p * (1 - p)), 1.0, places=6)


class QuantileIntervalTest(unittest.TestCase):
    def test_exact_coverage_small_n(self):
        """Each tail <= (1 - level)/2, coverage >= level, and no tighter pair of ranks keeps that."""
        for level in (0.9, 0.95):
            alpha = (1 - level) / 2
            for n in range(1, 41):
                for q in (0.05, 0.25, 0.5, 0.9, 0.99):
                    lo, hi = stats.quantile_ci_ranks(n, q, level)
                    self.assertTrue(0 <= lo < hi <= n + 1, (n, q, lo, hi))
                    below = exact_binomial_cdf(lo - 1, n, q)        # P(X_(lo) > xi_q)
                    above = 1 - exact_binomial_cdf(hi - 1, n, q)    # P(X_(hi) < xi_q)
                    self.assertLessEqual(below, alpha + 1e-12, (n, q, level))
                    self.assertLessEqual(above, alpha + 1e-12, (n, q, level))
                    self.assertGreaterEqual(1 - below - above, level - 1e-12)
                    if lo < n:  # one rank higher would put more than alpha below
                        self.assertGreater(exact_binomial_cdf(lo, n, q), alpha)
                    if hi > 1:
                        self.assertGreater(1 - exact_binomial_cdf(hi - 2, n, q), alpha)

    def test_textbook_values(self):
        self.assertEqual(stats.quantile_ci_ranks(100, 0.5, 0.95), (40, 61))
        # 0.99^n > 0.025 below n = 368: no upper bound for the 99th percentile
        self.assertEqual(stats.quantile_ci_ranks(367, 0.99, 0.95)[1], 368)
        self.assertLessEqual(stats.quantile_ci_ranks(368, 0.99, 0.95)[1], 368)

    def test_large_n_window_equals_full_binomial(self):
        for n in (500, 5000, 50_000):
            for q in (0.001, 0.01, 0.5, 0.99, 0.999):
                cdf = np.cumsum(stats.binomial_pmf(n, q))
                lo = int(np.searchsorted(cdf, 0.025, side="right"))
                hi = min(n + 1, int(np.searchsorted(cdf, 0.975, side="left")) + 1)
                self.assertEqual(stats.quantile_ci_ranks(n, q, 0.95), (lo, hi), (n, q))

    def test_simulated_coverage(self):
        """Uniform samples: the empirical coverage matches the exact binomial coverage."""
        n, q, level, reps = 30, 0.9, 0.9, 4000
        lo, hi = stats.quantile_ci_ranks(n, q, level)
        exact = exact_binomial_cdf(hi - 1, n, q) - exact_binomial_cdf(lo - 1, n, q)
        rng = np.random.default_rng(1)
        sample = np.sort(rng.random((reps, n)), axis=1)
        low = sample[:, lo - 1] if lo >= 1 else np.full(reps, -np.inf)
        high = sample[:, hi - 1] if hi <= n else np.full(reps, np.inf)
        covered = np.mean((low <= q) & (q <= high))
        self.assertLess(abs(covered - exact), 4 * math.sqrt(exact * (1 - exact) / reps))

    def test_quantile_ci_uses_those_ranks(self):
        x = np.random.default_rng(2).normal(size=250)
        est = stats.quantile_ci(x, 0.9, 0.95)
        lo, hi = stats.quantile_ci_ranks(250, 0.9, 0.95)
        xs = np.sort(x)
        self.assertEqual(est.value, float(np.quantile(x, 0.9)))
        self.assertEqual((est.lo, est.hi), (xs[lo - 1], xs[hi - 1]))
        self.assertLessEqual(est.lo, est.value)
        self.assertLessEqual(est.value, est.hi)
        self.assertEqual(est, stats.quantile_ci(x, 0.9, 0.95))  # se is NaN: still equal
        few = stats.quantile_ci(x[:20], 0.99)
        self.assertEqual(few.hi, math.inf)
        self.assertIn("open", few.format())

    def test_var_on_the_risk_tail(self):
        x = np.random.default_rng(3).normal(size=101)
        self.assertEqual(stats.var_ci(x, 0.95, "lower_is_worse").value, float(np.quantile(x, 0.05)))
        self.assertEqual(stats.var_ci(x, 0.99, "higher_is_worse").value, float(np.quantile(x, 0.99)))
        v = float(np.quantile(x, 0.05))
        self.assertEqual(stats.expected_shortfall(x, 0.95, "lower_is_worse"), float(x[x <= v].mean()))
        with self.assertRaises(ValueError):
            stats.var_ci(x, 0.95, "sideways")


class MeanAndWeightsTest(unittest.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(4).lognormal(size=500)

    def test_mean_ci_normal(self):
        est = stats.mean_ci(self.x, 0.9)
        se = self.x.std(ddof=1) / math.sqrt(len(self.x))
        self.assertAlmostEqual(est.value, self.x.mean(), places=12)
        self.assertAlmostEqual(est.se, se, places=12)
        self.assertAlmostEqual(est.hi - est.value, stats.z_value(0.9) * se, places=12)
        self.assertEqual(stats.mean_se(self.x), (est.value, est.se))
        value, lo, hi = est  # unpacks as (value, lo, hi)
        self.assertEqual(value, est.value)

    def test_equal_weights_equal_unweighted(self):
        # Likelihood ratios of an untilted run are all 1: the estimates are the plain ones.
        ones = np.ones(len(self.x))
        plain, weighted = stats.mean_ci(self.x), stats.mean_ci(self.x, weights=ones)
        self.assertAlmostEqual(weighted.value, plain.value, places=12)
        self.assertAlmostEqual(weighted.se, plain.se, places=12)
        # The self-normalised helpers ignore a constant factor.
        w = np.full(len(self.x), 3.7)
        self.assertAlmostEqual(stats.weighted_mean(self.x, w), self.x.mean(), places=12)
        self.assertAlmostEqual(stats.effective_sample_size(w), len(self.x), places=9)
        for q in (0.01, 0.05, 0.3, 0.5, 0.95, 0.99, 1.0):
            self.assertEqual(stats.weighted_quantile(self.x, w, q),
                             float(np.quantile(self.x, q, method="inverted_cdf")), q)
        event = self.x > 2
        p, pw = stats.probability_ci(event), stats.probability_ci(event, weights=ones)
        n = len(self.x)
        self.assertAlmostEqual(pw.value, p.value, places=12)
        # the sample SE of the indicator: sqrt(p (1 - p) / (n - 1))
        self.assertAlmostEqual(pw.se, math.sqrt(p.value * (1 - p.value) / (n - 1)), places=12)

    def test_importance_sampling_is_unbiased_for_a_gaussian_tail(self):
        # X ~ N(theta, 1) tilted from N(0, 1), w = exp(-theta X + theta^2 / 2):
        # (1/n) sum w 1{X > 3} estimates P(Z > 3) = 1.3499e-3 (closed form)
        # within 3 SE, with an SE far below the binomial one at equal n; the
        # mean weight is 1.
        rng = np.random.default_rng(11)
        theta, n = 3.0, 20000
        x = rng.standard_normal(n) + theta
        w = np.exp(-theta * x + theta * theta / 2)
        exact = 0.5 * math.erfc(3.0 / math.sqrt(2.0))
        est = stats.probability_ci(x > 3.0, weights=w)
        self.assertLess(abs(est.value - exact), 3 * est.se)
        self.assertLess(est.se, math.sqrt(exact * (1 - exact) / n) / 5)
        # The weights' sample SE badly understates theirs at a 3-sd tilt
        # (lognormal, variance e^(theta^2) - 1 = 8102): use the exact one.
        mean_w = stats.mean_ci(np.ones(n), weights=w)
        self.assertLess(abs(mean_w.value - 1.0), 3 * math.sqrt(math.expm1(theta * theta) / n))

    def test_integer_weights_are_repetitions(self):
        w = np.random.default_rng(5).integers(1, 4, size=len(self.x))
        repeated = np.repeat(self.x, w)
        self.assertAlmostEqual(stats.weighted_mean(self.x, w), repeated.mean(), places=12)
        for q in (0.1, 0.5, 0.9):
            self.assertEqual(stats.weighted_quantile(self.x, w, q),
                             float(np.quantile(repeated, q, method="inverted_cdf")))
        self.assertAlmostEqual(stats.expected_shortfall(self.x, 0.9, "higher_is_worse", w),
                               float(repeated[repeated >= np.quantile(repeated, 0.9, method="inverted_cdf")].mean()),
                               places=12)

    def test_effective_sample_size(self):
        self.assertEqual(stats.effective_sample_size([0, 0, 5, 0]), 1.0)
        self.assertAlmostEqual(stats.effective_sample_size([1, 1, 2, 2]), 36 / 10)
        with self.assertRaises(ValueError):
            stats.mean_ci(self.x, weights=-np.ones(len(self.x)))
        with self.assertRaises(ValueError):
            stats.mean_ci(self.x, weights=np.ones(3))

    def test_paired_difference(self):
        rng = np.random.default_rng(6)
        common = rng.normal(100, 20, 400)
        a, b = common + rng.normal(1, 1, 400), common
        d = stats.paired_difference(a, b)
        direct = stats.mean_ci(a - b)
        self.assertEqual((d.value, d.se), (direct.value, direct.se))
        self.assertLess(d.se, 0.1 * math.hypot(stats.mean_se(a)[1], stats.mean_se(b)[1]))
        with self.assertRaisesRegex(ValueError, "same paths"):
            stats.paired_difference(a, b[:-1])

    def test_ratio_of_means(self):
        rng = np.random.default_rng(7)
        num, den = rng.normal(5, 2, 300), rng.uniform(1, 3, 300)
        r, se, psi = stats.ratio_of_means(num, den)
        self.assertAlmostEqual(r, num.sum() / den.sum(), places=12)
        self.assertAlmostEqual(float(psi.mean()), 0.0, places=12)  # the influence of a ratio of means
        self.assertEqual(se, stats.mean_se(psi)[1])
        # A constant denominator c: R = mean(num) / c with the SE of that mean over c.
        r, se, _ = stats.ratio_of_means(num, np.full(300, 2.0))
        self.assertAlmostEqual(r, float(num.mean()) / 2.0, places=12)
        self.assertAlmostEqual(se, stats.mean_se(num)[1] / 2.0, places=12)


class WilsonTest(unittest.TestCase):
    def test_published_examples(self):
        """Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (score)."""
        for (k, n), (lo, hi) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                                 (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}.items():
            got = stats.wilson_interval(k, n, 0.95)
            self.assertAlmostEqual(got[0], lo, places=4, msg=(k, n))
            self.assertAlmostEqual(got[1], hi, places=4, msg=(k, n))

    def test_hand_computed(self):
        # 8 of 10 at 95%: z^2 = 3.8415, centre (0.8 + 0.19207)/1.38415 = 0.71674,
        # half = 1.95996/1.38415 * sqrt(0.016 + 0.0096037) = 0.22664
        lo, hi = stats.wilson_interval(8, 10)
        self.assertAlmostEqual(lo, 0.49016, places=4)
        self.assertAlmostEqual(hi, 0.94332, places=4)
        z = stats.z_value(0.95)
        centre = (0.8 + z * z / 20) / (1 + z * z / 10)
        half = z / (1 + z * z / 10) * math.sqrt(0.8 * 0.2 / 10 + z * z / 400)
        self.assertAlmostEqual(lo, centre - half, places=14)
        self.assertEqual(stats.wilson_interval(10, 10)[1], 1.0)
        lows, highs = stats.wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
        self.assertEqual(len(lows), 3)
        est = stats.probability_ci(np.array([True] * 8 + [False] * 2))
        self.assertEqual((est.value, est.lo, est.hi), (0.8, lo, hi))
        self.assertAlmostEqual(est.se, math.sqrt(0.8 * 0.2 / 10))


class BootstrapTest(unittest.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(7).standard_t(4, size=300)

    def test_reproducible_with_its_seed(self):
        a = stats.es_ci(self.x, 0.95, "higher_is_worse", n_boot=500, seed=11)
        b = stats.es_ci(self.x, 0.95, "higher_is_worse", n_boot=500, seed=11)
        c = stats.es_ci(self.x, 0.95, "higher_is_worse", n_boot=500, seed=12)
        self.assertEqual(a, b)
        self.assertNotEqual((a.lo, a.hi), (c.lo, c.hi))
        self.assertEqual(a.value, c.value)
        self.assertEqual(a.value, stats.expected_shortfall(self.x, 0.95, "higher_is_worse"))
        self.assertLess(a.lo, a.value)
        self.assertLess(a.value, a.hi)

    def test_vectorized_equals_loop(self):
        q = stats._tail_q(0.9, "higher_is_worse")
        loop = stats.bootstrap_ci(self.x, lambda v: stats.expected_shortfall(v, 0.9), n_boot=300, seed=3)
        vec = stats.bootstrap_ci(self.x, lambda m: stats._es_rows(m, q, "higher_is_worse"), n_boot=300,
                                 seed=3, vectorized=True)
        self.assertAlmostEqual(loop.lo, vec.lo, places=12)
        self.assertAlmostEqual(loop.hi, vec.hi, places=12)

    def test_bootstrap_se_of_the_mean(self):
        x = np.random.default_rng(8).normal(size=400)
        boot = stats.bootstrap_ci(x, np.mean, n_boot=2000, seed=1)
        self.assertAlmostEqual(boot.se / stats.mean_se(x)[1], 1.0, delta=0.1)

    def test_weighted_bootstrap(self):
        w = np.random.default_rng(9).uniform(0.5, 2.0, size=len(self.x))
        a = stats.es_ci(self.x, 0.9, weights=w, n_boot=200, seed=5)
        self.assertEqual(a, stats.es_ci(self.x, 0.9, weights=w, n_boot=200, seed=5))
        self.assertAlmostEqual(a.ess, stats.effective_sample_size(w))
        v = stats.var_ci(self.x, 0.9, weights=w, n_boot=200, seed=5)
        self.assertEqual(v.value, stats.weighted_quantile(self.x, w, 0.9))
        self.assertIn("bootstrap", v.method)


def legacy_tail_stats(x, q=0.99, boot=2000, seed=12345):
    """experiments/crash_stress/analyze.py's tail_stats (VaR order statistic and CI, ES bootstrap),
    copied verbatim but for its helpers, as the reference the package must reproduce."""
    def binom_cdf(k, n, p):
        if k < 0:
            return 0.0
        if k >= n:
            return 1.0
        logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
                + (n - i) * math.log1p(-p) for i in range(0, k + 1)]
        top = max(logs)
        return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))

    def quantile_ci_ranks(n, q, level=0.95):
        alpha = (1.0 - level) / 2.0
        l = int(math.floor(n * q))
        while l > 0 and binom_cdf(l - 1, n, q) > alpha:
            l -= 1
        u = int(math.ceil(n * q))
        while u <= n and 1.0 - binom_cdf(u - 1, n, q) > alpha:
            u += 1
        return max(l, 1), u

    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    k = int(math.ceil(q * n))
    var = float(x[k - 1])
    l, u = quantile_ci_ranks(n, q)
    var_lo = float(x[l - 1])
    var_hi = float(x[u - 1]) if u <= n else float("inf")
    es = float(x[k - 1:].mean())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(boot, n))
    samples = np.sort(x[idx], axis=1)
    es_boot = samples[:, k - 1:].mean(axis=1)
    es_lo, es_hi = (float(v) for v in np.quantile(es_boot, [0.025, 0.975]))
    return {"var": var, "var_lo": var_lo, "var_hi": var_hi, "es": es, "es_lo": es_lo, "es_hi": es_hi}


class CrashStressEquivalenceTest(unittest.TestCase):
    def test_order_statistic_method_reproduces_crash_stress(self):
        rng = np.random.default_rng(13)
        for n in (1000, 400):
            # like bad debt: zero on most paths, heavy right tail
            x = np.where(rng.random(n) < 0.9, 0.0, rng.pareto(1.5, n) * 1000)
            want = legacy_tail_stats(x)
            var = stats.var_ci(x, 0.99, "higher_is_worse", method="order_statistic")
            es = stats.es_ci(x, 0.99, "higher_is_worse", n_boot=2000, seed=12345, method="order_statistic")
            self.assertEqual((var.value, var.lo, var.hi), (want["var"], want["var_lo"], want["var_hi"]))
            self.assertEqual((es.value, es.lo, es.hi), (want["es"], want["es_lo"], want["es_hi"]))
            # the file's definition: ties at the VaR belong to the tail
            linear = stats.expected_shortfall(x, 0.99, "higher_is_worse")
            v = float(np.quantile(x, 0.99))
            self.assertEqual(linear, float(x[x >= v].mean()))


class EstimateByNameTest(unittest.TestCase):
    def test_names(self):
        x = np.random.default_rng(10).normal(size=200)
        self.assertEqual(stats.estimate(x, "mean").value, stats.mean_ci(x).value)
        self.assertEqual(stats.estimate(x, "p5").value, float(np.quantile(x, 0.05)))
        self.assertEqual(stats.estimate(x, 0.05).value, float(np.quantile(x, 0.05)))
        self.assertEqual(stats.estimate(x, "median").value, float(np.median(x)))
        self.assertEqual(stats.estimate(x, "var99", "lower_is_worse").value, float(np.quantile(x, 0.01)))
        self.assertEqual(stats.estimate(x, "es95", n_boot=50).value, stats.expected_shortfall(x, 0.95))
        self.assertEqual(stats.estimate(x, "prob>0").value, float(np.mean(x > 0)))
        self.assertEqual(stats.estimate(x, "prob<=-1").value, float(np.mean(x <= -1)))
        self.assertEqual(stats.estimate(x, np.std, n_boot=50).value, float(np.std(x)))
        with self.assertRaises(ValueError):
            stats.estimate(x, "kurtosis")
        summary = stats.summarize(x, "lower_is_worse", probs=(0.95, 0.999), n_boot=50)
        self.assertEqual(sorted(summary), sorted(["n", "mean", "var95", "es95", "var99.9", "es99.9"]))


class TablesTest(unittest.TestCase):
    def test_parse_value(self):
        self.assertEqual(parse_value("0.003"), 0.003)
        self.assertEqual(parse_value("10"), 10)
        self.assertEqual(parse_value("1e-3"), 0.001)
        self.assertEqual(parse_value("[0.9, 1.1]"), (0.9, 1.1))
        self.assertEqual(parse_value("[a, [1, 2]]"), ("a", (1, 2)))
        self.assertEqual(parse_value("true"), True)
        self.assertEqual(parse_value("fifo"), "fifo")
        self.assertEqual(parse_value("'0.5'"), "0.5")
        self.assertEqual(parse_value(".inf"), math.inf)
        self.assertEqual(parse_value("{a: 1}"), "{a: 1}")

    def test_markdown(self):
        text = markdown_table([{"a": 1, "b": 0.5}, {"a": 2, "c": "x|y"}])
        lines = text.splitlines()
        self.assertEqual(len(lines), 4)
        self.assertTrue(lines[0].startswith("| a"))
        self.assertIn("x\\|y", lines[3])


# --------------------------------------------------------------------------- a real results file

SWEEP_YAML = """\
experiment:
  name: toolkit-test
  seed: 7
  paths: {paths}
  blocks: 600
  block_time: 12
  record: {{every: 60}}
assets: [ETH, USDC]
numeraire: USDC
chain: {{gas_price_gwei: 10, ordering: fifo}}
price:
  process: gbm
  initial: {{ETH: 2000}}
  volatility: {{ETH: 0.8}}
markets:
  - {{id: pool, type: cpmm, pair: [ETH, USDC], reserves: {{ETH: 1000, USDC: 2000000}}, fee: 0.003}}
agents:
  - {{id: arb, type: arbitrageur, markets: [pool], gas_used: 120000}}
  - {{id: lp, type: lp, market: pool, deposit_numeraire: 400000}}
sweep:
  grid:
    markets.pool.fee: [0.0005, 0.003, 0.01]
    price.volatility.ETH: [0.4, 0.8]
"""
PATHS = 200
FEES = (0.0005, 0.003, 0.01)
VOLS = (0.4, 0.8)
PNL = "lp.pnl_vs_hodl"


@unittest.skipIf(not DEFISIM, "no defisim binary (--defisim PATH or $DEFISIM)")
class SweepFileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="defisim_test_python_toolkit_")
        config = os.path.join(cls.dir, "sweep.yaml")
        with open(config, "w") as out:
            out.write(SWEEP_YAML.format(paths=PATHS))
        cls.path = os.path.join(cls.dir, "sweep.h5")
        subprocess.run([DEFISIM, "run", config, "-o", cls.path, "-q", "--threads", "2"], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def copy(self, name):
        path = os.path.join(self.dir, name)
        shutil.copy(self.path, path)
        return path

    def test_scenario_table(self):
        with open_results(self.path) as r:
            self.assertEqual(r.swept_parameters(), ["markets.pool.fee", "price.volatility.ETH"])
            expected = [{"scenario": k, "markets.pool.fee": fee, "price.volatility.ETH": vol}
                        for k, (fee, vol) in enumerate((f, v) for f in FEES for v in VOLS)]
            self.assertEqual(r.scenario_table(), expected)  # first key varies slowest
            raw = r.scenario_table(parse=False)
            self.assertEqual(raw[1]["price.volatility.ETH"], "0.8")
            text = r.scenario_markdown()
            self.assertIn("| scenario | markets.pool.fee | price.volatility.ETH |", text)
            self.assertEqual(len(text.splitlines()), 2 + len(expected))
            self.assertEqual(r.scenario_csv().splitlines()[0], "scenario,markets.pool.fee,price.volatility.ETH")
            self.assertEqual(r.scenario_label(3), "fee=0.003, ETH=0.8")
            self.assertEqual(r.select_scenarios({"price.volatility.ETH": 0.8}), [1, 3, 5])
            self.assertEqual(r.select_scenarios({"markets.pool.fee": "0.01", "price.volatility.ETH": 0.4}), [4])
            with self.assertRaisesRegex(KeyError, "does not sweep"):
                r.select_scenarios({"markets.pool.reserves": 1})
            if HAVE_PANDAS:
                frame = r.scenario_dataframe()
                self.assertEqual(list(frame.columns), ["markets.pool.fee", "price.volatility.ETH"])
                self.assertEqual(len(frame), 6)
            else:
                with self.assertRaisesRegex(ImportError, "pandas"):
                    r.scenario_dataframe()

    def test_outcome_matrix_every_scenario(self):
        with open_results(self.path) as r:
            m = r.outcome_matrix(PNL)
            self.assertEqual(m.shape, (6, PATHS))
            for k in range(6):
                self.assertTrue(np.array_equal(m[k], r.outcomes(k, PNL)))
                self.assertTrue(np.array_equal(r.outcomes(str(k), PNL), m[k]))
                self.assertTrue(np.array_equal(r.outcomes({"index": k}, PNL), m[k]))
                blocks, values = r.series(k, "lp.value")
                self.assertEqual(values.shape, (PATHS, len(blocks)))
            sub = r.outcome_matrix(PNL, scenarios=[5, 0])
            self.assertTrue(np.array_equal(sub, m[[5, 0]]))
            by = r.outcomes_by_scenario(PNL, where={"markets.pool.fee": 0.003})
            self.assertEqual(list(by), ["ETH=0.4", "ETH=0.8"])  # only what differs among them
            self.assertEqual(r.scenario_labels([1, 3])[3], "fee=0.003")
            self.assertEqual(r.scenario_labels([3])[3], "fee=0.003, ETH=0.8")
            with self.assertRaises(KeyError):
                r.outcome_matrix("no.such")

    def test_summary_ci_agrees_with_the_stored_summary(self):
        with open_results(self.path) as r:
            for k in range(6):
                stored = r.summary(k)
                computed = r.summary_ci(k, level=0.95, n_boot=100)
                self.assertEqual(sorted(computed), sorted(stored))
                for metric, row in computed.items():
                    s = stored[metric]
                    self.assertEqual(row["n"], s["count"])
                    for name, column in (("mean", "mean"), ("var95", "var95"), ("var99", "var99"),
                                         ("es95", "es95"), ("es99", "es99")):
                        np.testing.assert_allclose(row[name].value, s[column], rtol=1e-12, atol=1e-12,
                                                   err_msg=f"{k} {metric} {name}")
                    np.testing.assert_allclose(row["mean"].se, s["standard_error"], rtol=1e-12, atol=1e-12)
                    self.assertEqual(row["var95"].value, s["var95"])  # bit for bit, as numpy
                    # The file's own 95% intervals (format 1.2) are the package's: the
                    # normal interval of the mean, and the same order statistics for the VaR.
                    np.testing.assert_allclose([row["mean"].lo, row["mean"].hi],
                                               [s["mean_ci95_low"], s["mean_ci95_high"]], rtol=1e-12, atol=1e-9)
                    for var in ("var95", "var99"):
                        self.assertEqual((row[var].lo, row[var].hi), (s[f"{var}_ci95_low"], s[f"{var}_ci95_high"]),
                                         f"{k} {metric} {var}")
            one = r.summary_ci(3, PNL, level=0.9, probs=(0.99,), n_boot=100)
            self.assertEqual(sorted(one), ["es99", "mean", "n", "var99"])
            self.assertEqual(one["mean"].level, 0.9)

    def test_paired_difference_and_sweep_rows(self):
        with open_results(self.path) as r:
            m = r.outcome_matrix(PNL)
            d = r.paired_difference(PNL, 5, 1)  # fee 0.01 vs 0.0005 at volatility 0.8
            self.assertAlmostEqual(d.value, float((m[5] - m[1]).mean()), places=9)
            self.assertAlmostEqual(d.se, float((m[5] - m[1]).std(ddof=1) / math.sqrt(PATHS)), places=9)
            rows = r.sweep(PNL, "p50", where={"price.volatility.ETH": 0.4})
            self.assertEqual([row["scenario"] for row in rows], [0, 2, 4])
            for row in rows:
                self.assertEqual(row["estimate"].value, float(np.median(m[row["scenario"]])))

    def test_weights(self):
        path = self.copy("weighted.h5")
        with open_results(self.path) as r:
            self.assertIsNone(r.weights(0))
        rng = np.random.default_rng(0)
        w = rng.uniform(0.2, 3.0, PATHS)
        with h5py.File(path, "r+") as f:
            for k in range(6):
                f[f"scenarios/{k}/outcomes"].create_dataset(WEIGHTS_DATASET, data=np.ones(PATHS) if k < 5 else w)
        with open_results(path) as r, open_results(self.path) as plain:
            self.assertTrue(np.array_equal(r.weights(0), np.ones(PATHS)))
            equal = r.summary_ci(0, PNL, n_boot=50)
            unweighted = plain.summary_ci(0, PNL, n_boot=50)
            self.assertAlmostEqual(equal["mean"].value, unweighted["mean"].value, places=10)
            self.assertAlmostEqual(equal["mean"].se, unweighted["mean"].se, places=10)
            self.assertAlmostEqual(equal["ess"], PATHS, places=6)
            x = r.outcomes(5, PNL)
            weighted = r.summary_ci(5, PNL, n_boot=50)
            self.assertAlmostEqual(weighted["mean"].value, float(w @ x / len(x)), places=10)  # (1/n) sum w x
            self.assertAlmostEqual(weighted["ess"], stats.effective_sample_size(w))
            self.assertNotAlmostEqual(r.summary_ci(5, PNL, weights=None, n_boot=50)["mean"].value,
                                      weighted["mean"].value, places=6)

    def test_format_version_mismatch(self):
        path = self.copy("future.h5")
        with h5py.File(path, "r+") as f:
            f.attrs["format_version"] = np.array([2, 3], dtype=np.int32)
        with self.assertRaises(ResultsFormatError) as caught:
            open_results(path)
        message = str(caught.exception)
        self.assertIn(path, message)
        self.assertIn("2.3", message)
        self.assertIn("1.x", message)
        shard = self.copy("shard.h5")
        with h5py.File(shard, "r+") as f:
            f.attrs["filetype"] = "defisim-results-shard"
        with self.assertRaisesRegex(ResultsFormatError, "defisim merge"):
            open_results(shard)

    def test_experiment_helpers(self):
        from defisim.experiment import InputError, exit_status, require_swept, scenario_outcomes

        with open_results(self.path) as r:
            scenario = r.scenarios()[3]
            params = require_swept(r, scenario, ("markets.pool.fee",))
            self.assertEqual(params["price.volatility.ETH"], "0.8")
            with self.assertRaises(InputError) as caught:
                require_swept(r, scenario, ("markets.pool.fee", "a.b", "c.d"), "run x.yaml")
            self.assertEqual(str(caught.exception), f"{self.path}: scenario 3 does not sweep a.b, c.d; run x.yaml")
            self.assertIsInstance(caught.exception, ValueError)  # the scripts catch ValueError or InputError
            with self.assertRaisesRegex(InputError, r"does not sweep a\.b$"):
                require_swept(r, scenario, ("a.b",))
            outcomes = scenario_outcomes(r, scenario, [PNL, "lp.value"])
            self.assertEqual(list(outcomes), [PNL, "lp.value"])
            self.assertEqual(outcomes[PNL].dtype, np.float64)
            self.assertTrue(np.array_equal(outcomes[PNL], r.outcomes(3, PNL)))
            with self.assertRaises(InputError) as caught:
                scenario_outcomes(r, scenario, [PNL, "x.1", "x.2", "x.3"], note=" (rebuild)", max_named=2)
            self.assertEqual(str(caught.exception), f"{self.path}: scenario 3 has no outcome x.1, x.2 (rebuild)")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(exit_status([]), 0)
            self.assertEqual(err.getvalue(), "")
            self.assertEqual(exit_status(["a", "b"]), 1)
        self.assertEqual(err.getvalue(), "2 check(s) failed\n")

    @unittest.skipIf(not HAVE_MATPLOTLIB, "matplotlib not installed")
    def test_figures(self):
        from defisim import plots

        out = os.path.join(self.dir, "figures")

        def check(ax, name):
            png = plots.save(ax, os.path.join(out, name + ".png"))
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), PNG_MAGIC, name)

        with open_results(self.path) as r:
            samples = r.outcomes_by_scenario(PNL)
            check(plots.series_fan_chart(r, "lp.value", where={"price.volatility.ETH": 0.8}), "fan")
            blocks, values = r.series(0, "lp.value")
            check(plots.fan_chart(values, r.hours(blocks), weights=np.ones(PATHS), center="mean",
                                  label="weighted"), "fan_weighted")
            check(plots.distribution_plot(samples), "hist")
            check(plots.distribution_plot(samples, kind="ecdf"), "ecdf")
            check(plots.exceedance_plot(samples, tail="lower_is_worse", band=True), "exceedance_lower")
            check(plots.exceedance_plot(np.abs(r.outcomes(1, PNL)), band=True), "exceedance_upper")
            check(plots.sweep_heatmap(r, PNL, "markets.pool.fee", "price.volatility.ETH"), "heatmap_mean")
            check(plots.sweep_heatmap(r, PNL, "markets.pool.fee", "price.volatility.ETH", "var95"),
                  "heatmap_var")
            check(plots.sweep_plot(r, PNL, "markets.pool.fee", group="price.volatility.ETH", errors="se",
                                   z=1.96, logx=True), "sweep_mean_se")
            check(plots.sweep_plot(r, PNL, "markets.pool.fee", "p5",
                                   where={"price.volatility.ETH": 0.8}), "sweep_quantile_ci")
            with self.assertRaisesRegex(ValueError, "price.volatility.ETH"):
                plots.sweep_plot(r, PNL, "markets.pool.fee")
            with self.assertRaisesRegex(ValueError, "no standard error"):
                plots.sweep_plot(r, PNL, "markets.pool.fee", "p5", group="price.volatility.ETH", errors="se")
            with self.assertRaises(KeyError):
                plots.sweep_heatmap(r, PNL, "markets.pool.fee", "no.such")

        # the exceedance curve's points, by hand: ties count together
        ax = plots.exceedance_plot({"x": np.array([2.0, 0.0, 1.0, 0.0, 0.0])})
        xs, ps = ax.lines[0].get_data()
        self.assertEqual(list(xs), [0.0, 1.0, 2.0])
        np.testing.assert_allclose(ps, [1.0, 0.4, 0.2])
        ax = plots.exceedance_plot(np.array([2.0, 0.0, 1.0, 0.0, 0.0]), tail="lower_is_worse", ax=ax)
        np.testing.assert_allclose(ax.lines[1].get_data()[1], [0.6, 0.8, 1.0])
        ax = plots.exceedance_plot(np.array([2.0, 0.0, 1.0]), weights=np.array([2.0, 1.0, 1.0]))
        np.testing.assert_allclose(ax.lines[0].get_data()[1], [1.0, 0.75, 0.5])
        check(ax, "exceedance_by_hand")

        # a scattered design (Latin hypercube-like rows) falls back to a scatter
        rng = np.random.default_rng(1)
        rows = [{"scenario": k, "a": float(a), "b": float(b),
                 "estimate": stats.mean_ci(rng.normal(a * b, 1, 50))}
                for k, (a, b) in enumerate(rng.random((12, 2)))]
        ax = plots.sweep_heatmap(rows, "x", "a", "b")
        self.assertEqual(len(ax.collections), 1)
        check(ax, "scatter_design")
        ax = plots.sweep_plot(rows, "x", "a", errors=None)
        check(ax, "rows_line")

    def test_command_line(self):
        from defisim import cli

        def run(*argv):
            out = io.StringIO()
            err = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = cli.main(list(argv))
            return status, out.getvalue(), err.getvalue()

        status, out, _ = run("scenarios", self.path)
        self.assertEqual(status, 0)
        self.assertIn("| 5        | 0.01             | 0.8                  |", out)
        status, out, _ = run("summary", self.path, "--metric", PNL, "--boot", "100",
                             "--where", "price.volatility.ETH=0.4")
        self.assertEqual(status, 0)
        self.assertIn("### lp.pnl_vs_hodl", out)
        self.assertEqual(sum(1 for line in out.splitlines() if line.startswith("| ") and "0.4 " in line), 3)
        status, out, _ = run("summary", self.path, "--metric", PNL, "--boot", "50", "--format", "csv",
                             "--scenario", "2")
        self.assertEqual(status, 0)
        self.assertEqual(len(out.splitlines()), 2)
        status, out, _ = run("compare", self.path, "--metric", PNL, "5", "1")
        self.assertEqual(status, 0)
        self.assertIn("paired difference 5 - 1", out)
        status, out, _ = run("info", self.path)
        self.assertIn("swept:       markets.pool.fee, price.volatility.ETH", out)
        status, _, err = run("summary", os.path.join(self.dir, "missing.h5"))
        self.assertEqual(status, 2)
        self.assertIn("no such results file", err)
        status, _, err = run("summary", self.path, "--metric", "no.such")
        self.assertEqual(status, 2)
        self.assertIn("no.such", err)
        if HAVE_MATPLOTLIB:
            png = os.path.join(self.dir, "cli", "heatmap.png")
            status, out, _ = run("plot", "heatmap", self.path, "--metric", PNL, "--x", "markets.pool.fee",
                                 "--y", "price.volatility.ETH", "--statistic", "p50", "-o", png)
            self.assertEqual(status, 0)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), PNG_MAGIC)
        # python3 -m defisim, as documented
        env = dict(os.environ, PYTHONPATH=ANALYSIS)
        done = subprocess.run([sys.executable, "-m", "defisim", "scenarios", self.path, "--format", "csv"],
                              env=env, capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.splitlines()[1], "0,0.0005,0.4")


if __name__ == "__main__":
    unittest.main(verbosity=2)
