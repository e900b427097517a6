#!/usr/bin/env python3
"""Self-test of the Python reader (analysis/defisim) against the documented layout.

    "$(analysis/python.sh)" tests/output/test_python_reader.py [RESULTS.h5 ...]

1. Writes a small file with h5py exactly as analysis/FORMAT.md describes and
   checks open_results() round-trips it, rejects foreign files and other major
   versions, and that quickstart_figure() draws a PNG.
2. For every RESULTS.h5 given on the command line (or in $DEFISIM_RESULTS_FILE),
   e.g. one written by `defisim run`, checks the layout and that every stored
   summary statistic equals what numpy computes from the stored outcomes
   (quantiles bit for bit: the C++ code reproduces numpy's "linear" method).

Exit status 0 if everything passed. Runs under unittest (no pytest needed).
"""
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "analysis"))

try:
    import h5py
    import numpy as np
except ImportError as error:  # pragma: no cover
    sys.exit(f"error: {sys.executable} cannot import {error.name}; run with the python3 printed by "
             "analysis/python.sh (apt-get install python3-numpy python3-h5py python3-matplotlib)")

from defisim import STATISTICS, ResultsFormatError, open_results  # noqa: E402
from defisim.stats import quantile_ci_ranks  # noqa: E402

EXTRA_FILES = sys.argv[1:] or ([os.environ["DEFISIM_RESULTS_FILE"]]
                               if os.environ.get("DEFISIM_RESULTS_FILE") else [])
sys.argv = sys.argv[:1]  # unittest must not parse the file names

PATHS = 40
SAMPLES = 7


def numpy_summary(values, risk_tail):
    """The statistics as FORMAT.md defines them, computed with numpy."""
    n = len(values)
    if n == 0:
        return {name: (0.0 if name == "count" else float("nan")) for name in STATISTICS}
    q = {name: float(np.quantile(values, level))
         for name, level in (("p1", 0.01), ("p5", 0.05), ("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}
    stats = {"count": float(n), "mean": float(np.mean(values)),
             "standard_error": float(np.std(values, ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
             **q}
    if risk_tail == "lower_is_worse":
        stats["var95"], stats["var99"] = q["p5"], q["p1"]
        stats["es95"] = float(values[values <= q["p5"]].mean())
        stats["es99"] = float(values[values <= q["p1"]].mean())
    else:
        stats["var95"], stats["var99"] = q["p95"], q["p99"]
        stats["es95"] = float(values[values >= q["p95"]].mean())
        stats["es99"] = float(values[values >= q["p99"]].mean())
    # Format 1.2's 95% intervals: mean -/+ z SE, and for the VaR the order
    # statistics [X_(l), X_(u)] with the binomial ranks (-inf / inf: no bound).
    z = 1.959963984540054
    stats["mean_ci95_low"] = stats["mean"] - z * stats["standard_error"]
    stats["mean_ci95_high"] = stats["mean"] + z * stats["standard_error"]
    ordered = np.sort(values)
    lower = risk_tail == "lower_is_worse"
    for name, level in (("var95", 0.05 if lower else 0.95), ("var99", 0.01 if lower else 0.99)):
        l, u = quantile_ci_ranks(n, level)
        stats[f"{name}_ci95_low"] = float("-inf") if l == 0 else float(ordered[l - 1])
        stats[f"{name}_ci95_high"] = float("inf") if u > n else float(ordered[u - 1])
    return stats


def write_reference_file(path, major=1):
    """A results file written with h5py following analysis/FORMAT.md."""
    rng = np.random.default_rng(7)
    string = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        f.attrs["filetype"] = "defisim-results"
        f.attrs["format_version"] = np.array([major, 0], dtype=np.int32)
        f.attrs["defisim_version"] = "0.1.0"
        f.attrs["source_revision"] = "abc123"
        f.attrs["experiment_name"] = "python-self-test"
        f.attrs["seed"] = np.uint64(42)
        f.attrs["paths"] = np.uint64(PATHS)
        f.attrs["blocks"] = np.uint64(600)
        f.attrs["block_time_seconds"] = 12.0
        f.attrs["config"] = "experiment: python-self-test\nseed: 42\n"
        info = f.create_group("run_info")
        info.attrs["created_utc"] = "2024-01-01T00:00:00Z"
        info.attrs["threads"] = np.int64(2)
        info.attrs["ranks"] = np.int64(1)
        info.attrs["wall_seconds"] = 0.25
        info.attrs["command_line"] = "h5py"
        scenarios = f.create_group("scenarios")
        for k, fee in enumerate(("0.003", "0.01")):
            s = scenarios.create_group(str(k))
            s.attrs.create("parameters", ["markets.pool.fee"], dtype=string)
            s.attrs["markets.pool.fee"] = fee
            metrics = {"lp.pnl_vs_hodl": ("USDC", "lower_is_worse", rng.normal(10, 5, PATHS)),
                       "lender.bad_debt": ("USDC", "higher_is_worse",
                                           np.maximum(0, rng.normal(0, 100, PATHS)))}
            outcomes = s.create_group("outcomes")
            for name, (unit, tail, values) in metrics.items():
                d = outcomes.create_dataset(name, data=values, chunks=(PATHS,), compression="gzip",
                                            compression_opts=4, shuffle=True)
                d.attrs.update({"unit": unit, "description": name, "risk_tail": tail})
            series = s.create_group("series")
            series.create_dataset("blocks", data=np.arange(SAMPLES, dtype=np.uint64) * 100)
            hodl = 10000 + np.cumsum(rng.normal(0, 10, (PATHS, SAMPLES)), axis=1)
            for name, values in (("lp.value", hodl + 5 * np.arange(SAMPLES)), ("lp.hodl_value", hodl)):
                d = series.create_dataset(name, data=values, chunks=(PATHS, SAMPLES),
                                          compression="gzip", shuffle=True)
                d.attrs.update({"unit": "USDC", "description": name, "risk_tail": "lower_is_worse"})
            summary = s.create_group("summary")
            names = list(metrics)
            summary.create_dataset("metric", data=names, dtype=string)
            stats = [numpy_summary(metrics[m][2], metrics[m][1]) for m in names]
            for column in STATISTICS:
                summary.create_dataset(column, data=np.array([st[column] for st in stats]))


class ReferenceFileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="defisim_test_python_reader_")
        self.path = os.path.join(self.dir, "reference.h5")
        write_reference_file(self.path)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_round_trip(self):
        with h5py.File(self.path, "r") as f:
            expected_pnl = f["scenarios/1/outcomes/lp.pnl_vs_hodl"][()]
            expected_value = f["scenarios/0/series/lp.value"][()]
        with open_results(self.path) as r:
            self.assertEqual(r.format_version, (1, 0))  # a 1.0 file, read by a 1.1 reader
            self.assertEqual(r.attrs["experiment_name"], "python-self-test")
            self.assertEqual(r.attrs["seed"], 42)
            self.assertEqual(r.attrs["format_version"], [1, 0])
            self.assertEqual(r.config, "experiment: python-self-test\nseed: 42\n")
            self.assertEqual(r.run_info["threads"], 2)
            self.assertEqual(r.scenarios(), [
                {"index": 0, "name": "0", "parameters": {"markets.pool.fee": "0.003"}},
                {"index": 1, "name": "1", "parameters": {"markets.pool.fee": "0.01"}},
            ])
            self.assertEqual(sorted(r.outcome_metrics(0)), ["lender.bad_debt", "lp.pnl_vs_hodl"])
            self.assertEqual(sorted(r.series_metrics(0)), ["lp.hodl_value", "lp.value"])
            pnl = r.outcomes(1, "lp.pnl_vs_hodl")
            self.assertEqual(pnl.dtype, np.float64)
            self.assertTrue(np.array_equal(pnl, expected_pnl))
            everything = r.outcomes(1)
            self.assertTrue(np.array_equal(everything["lp.pnl_vs_hodl"], expected_pnl))
            blocks, value = r.series(0, "lp.value")
            self.assertEqual(blocks.dtype, np.uint64)
            self.assertEqual(value.shape, (PATHS, SAMPLES))
            self.assertTrue(np.array_equal(value, expected_value))
            _, every_other = r.series(0, "lp.value", slice(None, None, 2))
            self.assertTrue(np.array_equal(every_other, expected_value[::2]))
            self.assertEqual(r.series_shape(0, "lp.value"), (PATHS, SAMPLES))
            self.assertTrue(np.allclose(r.hours(blocks), blocks * 12.0 / 3600))
            summary = r.summary(1)
            self.assertEqual(list(summary["lp.pnl_vs_hodl"]), list(STATISTICS))
            self.assertEqual(summary["lp.pnl_vs_hodl"]["p5"], float(np.quantile(expected_pnl, 0.05)))
            self.assertEqual(r.metric_info(0, "lender.bad_debt")["risk_tail"], "higher_is_worse")
            with self.assertRaises(KeyError):
                r.outcomes(0, "no.such")
            with self.assertRaises(KeyError):
                r.series(0, "blocks")
            with self.assertRaises(KeyError):
                r.summary(5)

    def test_rejects_foreign_and_future_files(self):
        with self.assertRaises(FileNotFoundError):
            open_results(os.path.join(self.dir, "missing.h5"))
        text = os.path.join(self.dir, "text.h5")
        with open(text, "w") as out:
            out.write("not hdf5\n")
        with self.assertRaisesRegex(ResultsFormatError, "not a defisim results file"):
            open_results(text)
        other = os.path.join(self.dir, "other.h5")
        with h5py.File(other, "w") as f:
            f.attrs["filetype"] = "something-else"
        with self.assertRaisesRegex(ResultsFormatError, "not a defisim results file"):
            open_results(other)
        future = os.path.join(self.dir, "future.h5")
        write_reference_file(future, major=2)
        with self.assertRaisesRegex(ResultsFormatError, r"2\.0.*1\.x"):
            open_results(future)

    def test_partial_file_is_named(self):
        partial = os.path.join(self.dir, "running.h5")
        shutil.copy(self.path, partial + ".partial")
        with self.assertRaisesRegex(FileNotFoundError, "partial"):
            open_results(partial)

    def test_quickstart_figure(self):
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            self.skipTest("matplotlib not installed (apt-get install python3-matplotlib)")
        from defisim.figures import quickstart_figure

        png = os.path.join(self.dir, "figures", "quickstart.png")
        self.assertEqual(quickstart_figure(self.path, png, scenario=1), png)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


class GivenFilesTest(unittest.TestCase):
    """Files named on the command line, e.g. written by `defisim run`."""

    def test_given_files(self):
        if not EXTRA_FILES:
            self.skipTest("no RESULTS.h5 given")
        for path in EXTRA_FILES:
            with self.subTest(path=path), open_results(path) as r:
                self.assertEqual(r.format_version[0], 1)
                for key in ("defisim_version", "source_revision", "experiment_name", "seed",
                            "paths", "blocks", "block_time_seconds", "config"):
                    self.assertIn(key, r.attrs)
                for scenario in r.scenarios():
                    k = scenario["index"]
                    summary = r.summary(k)
                    self.assertEqual(sorted(summary), sorted(r.outcome_metrics(k)))
                    for metric, stats in summary.items():
                        values = r.outcomes(k, metric)
                        self.assertEqual(values.shape, (r.attrs["paths"],))
                        tail = r.metric_info(k, metric)["risk_tail"]
                        expected = numpy_summary(values, tail)
                        for name in STATISTICS:
                            with self.subTest(scenario=k, metric=metric, statistic=name):
                                got, want = stats[name], expected[name]
                                if name in ("p1", "p5", "p50", "p95", "p99", "var95", "var99",
                                            "count", "var95_ci95_low", "var95_ci95_high",
                                            "var99_ci95_low", "var99_ci95_high"):
                                    self.assertTrue(got == want or (np.isnan(got) and np.isnan(want)),
                                                    f"{got!r} != numpy {want!r}")
                                else:
                                    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
                    for metric in r.series_metrics(k):
                        blocks, values = r.series(k, metric)
                        self.assertEqual(values.shape, (r.attrs["paths"], len(blocks)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
