"""Read defisim results files (HDF5) with numpy and h5py.

The layout is described in analysis/FORMAT.md. Typical use::

    from defisim import open_results

    with open_results("results/quickstart.h5") as r:
        print(r.attrs["experiment_name"], r.scenarios())
        pnl = r.outcomes(0, "lp.pnl_vs_hodl")          # numpy float64[paths]
        blocks, value = r.series(0, "lp.value")        # uint64[samples], float64[paths, samples]
        print(r.summary(0)["lp.pnl_vs_hodl"]["es95"])

Scenarios as a table, all scenarios of one outcome at once, and summaries
with confidence intervals (see defisim.stats)::

    with open_results("results/sweep.h5") as r:
        print(r.scenario_markdown())                   # | scenario | markets.pool.fee | ...
        m = r.outcome_matrix("lp.pnl_vs_hodl")         # float64[scenarios, paths]
        ci = r.summary_ci(0, "lp.pnl_vs_hodl")         # {"mean": Estimate, "var95": ..., "es95": ...}
        d = r.paired_difference("lp.pnl_vs_hodl", 1, 0)  # common random numbers: paired SE

pandas is optional: ``to_dataframe``, ``summary_dataframe`` and
``scenario_dataframe`` need it, nothing else does.
"""
from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import h5py
import numpy as np

from . import stats as _stats
from .tables import csv_table, markdown_table, parse_value

FILETYPE = "defisim-results"
SHARD_FILETYPE = "defisim-results-shard"  # one shard of `defisim run --shard i/n`
#: Per-path weights of a scenario run with importance sampling
#: (experiment.importance_sampling): the outcome metric scenarios/<k>/outcomes/<WEIGHTS_DATASET>,
#: float64[paths], the likelihood ratio dP/dQ of each sampled path (FORMAT.md).
WEIGHTS_DATASET = "sampling.likelihood_ratio"
SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = 2  # newest minor version this reader knows; newer minors still read fine

#: Columns of scenarios/<k>/summary, in file order (see FORMAT.md).
STATISTICS = (
    "count",
    "mean",
    "standard_error",
    "p1",
    "p5",
    "p50",
    "p95",
    "p99",
    "var95",
    "es95",
    "var99",
    "es99",
    # format 1.2: 95% confidence intervals (FORMAT.md)
    "mean_ci95_low",
    "mean_ci95_high",
    "var95_ci95_low",
    "var95_ci95_high",
    "var99_ci95_low",
    "var99_ci95_high",
)

ScenarioKey = Union[int, str, Dict[str, Any]]


class ResultsFormatError(ValueError):
    """The file is not a defisim results file, or has an unsupported format version."""


def _decode(value: Any) -> Any:
    """An HDF5 attribute value as plain Python: str, int, float, or a list/tuple of them."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _decode(value[()])
        return [_decode(v) for v in value.tolist()]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _attrs(obj: Union[h5py.Group, h5py.Dataset]) -> Dict[str, Any]:
    return {key: _decode(obj.attrs[key]) for key in obj.attrs.keys()}


def open_results(path: Union[str, os.PathLike]) -> "Results":
    """Opens a committed defisim results file read-only.

    Raises FileNotFoundError if it does not exist, ResultsFormatError if it is
    not a defisim results file or its major format version is not supported.
    """
    return Results(path)


class Results:
    """A defisim results file, open read-only. Use as a context manager or call close()."""

    def __init__(self, path: Union[str, os.PathLike]):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            if os.path.exists(self.path + ".partial"):
                raise FileNotFoundError(
                    f"{self.path} does not exist, but {self.path}.partial does: "
                    "the run is still being written, or was interrupted")
            raise FileNotFoundError(f"no such results file: {self.path}")
        if not h5py.is_hdf5(self.path):
            raise ResultsFormatError(f"{self.path} is not a defisim results file (not an HDF5 file)")
        self._file = h5py.File(self.path, "r")
        try:
            self._validate()
        except BaseException:
            self._file.close()
            raise

    def _validate(self) -> None:
        attrs = self._file.attrs
        filetype = _decode(attrs["filetype"]) if "filetype" in attrs else None
        if filetype == SHARD_FILETYPE:
            raise ResultsFormatError(
                f"{self.path} is one shard of a sharded run (defisim run --shard), not a results file: "
                "combine the shards with `defisim merge -o RESULTS SHARD...` and open that")
        if filetype != FILETYPE:
            detail = "no filetype attribute" if filetype is None else f"filetype is {filetype!r}"
            raise ResultsFormatError(f"{self.path} is not a defisim results file ({detail})")
        version = _decode(attrs["format_version"]) if "format_version" in attrs else None
        if not isinstance(version, list) or not version:
            raise ResultsFormatError(f"{self.path} has no valid format_version attribute")
        major = int(version[0])
        minor = int(version[1]) if len(version) > 1 else 0
        if major != SUPPORTED_MAJOR:
            raise ResultsFormatError(
                f"{self.path} has results format version {major}.{minor}; this reader supports "
                f"format version {SUPPORTED_MAJOR}.x (up to {SUPPORTED_MAJOR}.{SUPPORTED_MINOR} "
                "fully). Use the analysis package of a matching defisim release.")
        self.format_version: Tuple[int, int] = (major, minor)
        if "scenarios" not in self._file:
            raise ResultsFormatError(f"{self.path} has no /scenarios group")

    # ------------------------------------------------------------ file level

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "Results":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Results({self.path!r}, experiment={self.attrs.get('experiment_name')!r}, "
                f"scenarios={len(self._scenario_names())})")

    @property
    def h5(self) -> h5py.File:
        """The underlying h5py.File, for anything this class does not wrap."""
        return self._file

    @property
    def attrs(self) -> Dict[str, Any]:
        """Root attributes: filetype, format_version, defisim_version, source_revision,
        experiment_name, seed, paths, blocks, block_time_seconds, config."""
        return _attrs(self._file)

    @property
    def run_info(self) -> Dict[str, Any]:
        """/run_info attributes (created_utc, threads, ranks, wall_seconds, command_line)."""
        return _attrs(self._file["run_info"]) if "run_info" in self._file else {}

    @property
    def config(self) -> str:
        """The resolved experiment config (YAML text); `defisim run` of it reproduces the file."""
        return str(_decode(self._file.attrs["config"]))

    # ------------------------------------------------------------ scenarios

    def _scenario_names(self) -> List[str]:
        names = list(self._file["scenarios"].keys())
        return sorted(names, key=lambda n: (0, int(n)) if n.isdigit() else (1, n))

    def _group(self, scenario: ScenarioKey) -> h5py.Group:
        if isinstance(scenario, dict):
            scenario = scenario["index"]
        name = str(scenario)
        group = self._file["scenarios"]
        if name not in group:
            raise KeyError(f"no scenario {name!r} in {self.path}; "
                           f"available: {', '.join(self._scenario_names()) or '(none)'}")
        return group[name]

    def scenarios(self) -> List[Dict[str, Any]]:
        """One dict per scenario: {"index": int, "name": str, "parameters": {key: YAML text}}."""
        cache = getattr(self, "_scenarios_cache", None)
        if cache is None:  # read once: the file is open read-only and complete
            cache = []
            for name in self._scenario_names():
                cache.append({
                    "index": int(name) if name.isdigit() else name,
                    "name": name,
                    "parameters": self.parameters(name),
                })
            self._scenarios_cache = cache
        return [dict(s, parameters=dict(s["parameters"])) for s in cache]

    def parameters(self, scenario: ScenarioKey) -> Dict[str, str]:
        """The swept parameters of a scenario: key -> value as YAML text, in sweep order."""
        group = self._group(scenario)
        keys = _decode(group.attrs["parameters"]) if "parameters" in group.attrs else []
        if isinstance(keys, str):
            keys = [keys]
        return {key: _decode(group.attrs[key]) for key in keys}

    # ------------------------------------------------------------ metrics

    def outcome_metrics(self, scenario: ScenarioKey) -> List[str]:
        group = self._group(scenario)
        return list(group["outcomes"].keys()) if "outcomes" in group else []

    def series_metrics(self, scenario: ScenarioKey) -> List[str]:
        group = self._group(scenario)
        if "series" not in group:
            return []
        return [name for name in group["series"].keys() if name != "blocks"]

    def metric_info(self, scenario: ScenarioKey, metric: str) -> Dict[str, Any]:
        """unit, description and risk_tail of an outcome or series metric."""
        group = self._group(scenario)
        for kind in ("outcomes", "series"):
            if kind in group and metric in group[kind] and metric != "blocks":
                return _attrs(group[kind][metric])
        raise KeyError(self._missing(scenario, "outcome or series", metric,
                                     self.outcome_metrics(scenario) + self.series_metrics(scenario)))

    def _missing(self, scenario: ScenarioKey, kind: str, metric: str, available: List[str]) -> str:
        return (f"scenario {self._group(scenario).name.rsplit('/', 1)[-1]} of {self.path} has no "
                f"{kind} metric {metric!r}; available: {', '.join(available) or '(none)'}")

    def outcomes(self, scenario: ScenarioKey, metric: Optional[str] = None
                 ) -> Union[np.ndarray, Dict[str, np.ndarray]]:
        """Final values per path: one float64[paths] array, or a dict of all of them."""
        names = self.outcome_metrics(scenario)
        group = self._group(scenario)
        if metric is None:
            return {name: group["outcomes"][name][()] for name in names}
        if metric not in names:
            raise KeyError(self._missing(scenario, "outcome", metric, names))
        return group["outcomes"][metric][()]

    def series(self, scenario: ScenarioKey, metric: str, paths: Optional[slice] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """(blocks uint64[samples], values float64[paths, samples]).

        `paths` selects rows without reading the rest (e.g. slice(None, None, 10)).
        """
        names = self.series_metrics(scenario)
        if metric not in names:
            raise KeyError(self._missing(scenario, "series", metric, names))
        group = self._group(scenario)["series"]
        blocks = group["blocks"][()]
        dataset = group[metric]
        values = dataset[()] if paths is None else dataset[paths, :]
        return blocks, values

    def series_shape(self, scenario: ScenarioKey, metric: str) -> Tuple[int, int]:
        """(paths, samples) of a series metric, without reading it."""
        names = self.series_metrics(scenario)
        if metric not in names:
            raise KeyError(self._missing(scenario, "series", metric, names))
        paths, samples = self._group(scenario)["series"][metric].shape
        return int(paths), int(samples)

    def hours(self, blocks: np.ndarray) -> np.ndarray:
        """Block numbers as hours since the start: block * block_time_seconds / 3600."""
        return np.asarray(blocks, dtype=np.float64) * float(self.attrs["block_time_seconds"]) / 3600.0

    def summary(self, scenario: ScenarioKey) -> Dict[str, Dict[str, float]]:
        """metric -> {statistic -> value} from scenarios/<k>/summary (see STATISTICS)."""
        group = self._group(scenario)
        if "summary" not in group:
            raise KeyError(f"scenario {group.name} of {self.path} has no summary")
        summary = group["summary"]
        metrics = [_decode(m) for m in summary["metric"][()].tolist()]
        extra = sorted(name for name in summary.keys() if name != "metric" and name not in STATISTICS)
        order = [name for name in STATISTICS if name in summary] + extra
        columns = {name: summary[name][()] for name in order}
        return {metric: {name: float(values[i]) for name, values in columns.items()}
                for i, metric in enumerate(metrics)}

    def to_dataframe(self, scenario: ScenarioKey):
        """The outcomes of a scenario as a pandas DataFrame: one row per path, one
        column per outcome metric. Needs pandas (apt-get install python3-pandas)."""
        try:
            import pandas as pd  # optional dependency
        except ImportError as error:
            raise ImportError("Results.to_dataframe needs pandas: "
                              "apt-get install python3-pandas (or pip install pandas)") from error
        frame = pd.DataFrame(self.outcomes(scenario))
        frame.index.name = "path"
        return frame

    def summary_dataframe(self, scenario: ScenarioKey):
        """The summary of a scenario as a pandas DataFrame (index = metric). Needs pandas."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError("Results.summary_dataframe needs pandas: "
                              "apt-get install python3-pandas (or pip install pandas)") from error
        return pd.DataFrame.from_dict(self.summary(scenario), orient="index")

    # ------------------------------------------------------------ scenarios as a table

    def swept_parameters(self) -> List[str]:
        """The swept keys over all scenarios, in sweep order (empty without a sweep)."""
        keys: List[str] = []
        for scenario in self.scenarios():
            for key in scenario["parameters"]:
                if key not in keys:
                    keys.append(key)
        return keys

    def scenario_table(self, parse: bool = True) -> List[Dict[str, Any]]:
        """One row per scenario: {"scenario": index, <swept key>: value, ...}.

        With parse=True values are Python values (int, float, bool, tuple for a
        list, str; see tables.parse_value), else the YAML text from the file.
        A key a scenario does not sweep is None in its row.
        """
        keys = self.swept_parameters()
        rows = []
        for scenario in self.scenarios():
            row: Dict[str, Any] = {"scenario": scenario["index"]}
            for key in keys:
                value = scenario["parameters"].get(key)
                row[key] = parse_value(value) if parse and value is not None else value
            rows.append(row)
        return rows

    def scenario_dataframe(self, parse: bool = True):
        """scenario_table() as a pandas DataFrame indexed by scenario. Needs pandas."""
        pd = _pandas("Results.scenario_dataframe")
        rows = self.scenario_table(parse)
        frame = pd.DataFrame(rows, columns=["scenario"] + self.swept_parameters())
        return frame.set_index("scenario")

    def scenario_markdown(self, parse: bool = True) -> str:
        """scenario_table() as a markdown table (for terminals, READMEs)."""
        return markdown_table(self.scenario_table(parse), ["scenario"] + self.swept_parameters())

    def scenario_csv(self) -> str:
        """scenario_table() as CSV text (parameter values as in the file)."""
        return csv_table(self.scenario_table(parse=False), ["scenario"] + self.swept_parameters())

    def scenario_label(self, scenario: ScenarioKey, short: bool = True) -> str:
        """'fee=0.003, ETH=0.8' (short: the shortest unambiguous ends of the dotted keys),
        or 'scenario k' when nothing is swept."""
        parameters = self.parameters(scenario)
        if not parameters:
            return f"scenario {self._group(scenario).name.rsplit('/', 1)[-1]}"
        names = short_names(self.swept_parameters()) if short else {}
        return ", ".join(f"{names.get(key, key)}={value}" for key, value in parameters.items())

    def scenario_labels(self, scenarios: Optional[Sequence[ScenarioKey]] = None) -> Dict[Any, str]:
        """{index: label} naming only the parameters that differ among these scenarios
        (all of them when none differ), e.g. for a legend after where= fixed the others."""
        chosen = self._scenario_list(scenarios)
        table = {row["scenario"]: row for row in self.scenario_table(parse=False)}
        keys = self.swept_parameters()
        varying = [k for k in keys if len({table[s].get(k) for s in chosen if s in table}) > 1]
        names = short_names(keys)
        labels = {}
        for s in chosen:
            shown = varying or [k for k in keys if table.get(s, {}).get(k) is not None]
            parts = [f"{names[k]}={table[s][k]}" for k in shown if table.get(s, {}).get(k) is not None]
            labels[s] = ", ".join(parts) if parts else f"scenario {s}"
        return labels

    def select_scenarios(self, where: Optional[Dict[str, Any]] = None) -> List[int]:
        """Indices of the scenarios whose swept parameters match every key of `where`
        (values as numbers or YAML text; floats compared with a relative 1e-9)."""
        where = where or {}
        known = self.swept_parameters()
        unknown = [key for key in where if key not in known]
        if unknown:
            raise KeyError(f"{self.path} does not sweep {', '.join(unknown)}; swept: "
                           f"{', '.join(known) or '(nothing)'}")
        result = []
        for row in self.scenario_table():
            if all(values_equal(row.get(key), parse_value(value)) for key, value in where.items()):
                result.append(row["scenario"])
        return result

    def _scenario_list(self, scenarios: Optional[Sequence[ScenarioKey]] = None,
                       where: Optional[Dict[str, Any]] = None) -> List[ScenarioKey]:
        if scenarios is None:
            chosen: List[ScenarioKey] = [s["index"] for s in self.scenarios()]
        else:
            chosen = [s["index"] if isinstance(s, dict) else s for s in scenarios]
            chosen = [int(s) if isinstance(s, str) and s.isdigit() else s for s in chosen]
        if where:
            allowed = set(self.select_scenarios(where))
            chosen = [s for s in chosen if s in allowed]
        return chosen

    # ------------------------------------------------------------ all scenarios of one metric

    def outcome_matrix(self, metric: str, scenarios: Optional[Sequence[ScenarioKey]] = None
                       ) -> np.ndarray:
        """float64[scenarios, paths]: one outcome of every scenario (or of `scenarios`, in
        that order). Row j and column i: scenario j, path i (the same random numbers in
        every row: common random numbers)."""
        chosen = self._scenario_list(scenarios)
        columns = [np.asarray(self.outcomes(s, metric), dtype=np.float64) for s in chosen]
        lengths = sorted({len(c) for c in columns})
        if len(lengths) > 1:
            raise ValueError(f"{self.path}: outcome {metric!r} has different path counts across "
                             f"scenarios ({lengths})")
        if not columns:
            return np.empty((0, 0))
        return np.vstack(columns)

    def outcomes_by_scenario(self, metric: str, scenarios: Optional[Sequence[ScenarioKey]] = None,
                             where: Optional[Dict[str, Any]] = None) -> Dict[str, np.ndarray]:
        """{label: float64[paths]} for the figure functions; labels name the parameters
        that differ among the chosen scenarios (scenario_labels)."""
        chosen = self._scenario_list(scenarios, where)
        labels = self.scenario_labels(chosen)
        return {labels[s]: np.asarray(self.outcomes(s, metric), dtype=np.float64) for s in chosen}

    def outcome_dataframe(self, metric: str, scenarios: Optional[Sequence[ScenarioKey]] = None):
        """outcome_matrix() as a pandas DataFrame: one row per path, one column per
        scenario (named by scenario index). Needs pandas."""
        pd = _pandas("Results.outcome_dataframe")
        chosen = self._scenario_list(scenarios)
        frame = pd.DataFrame(self.outcome_matrix(metric, chosen).T, columns=chosen)
        frame.index.name = "path"
        frame.columns.name = "scenario"
        return frame

    def risk_tail(self, scenario: ScenarioKey, metric: str) -> str:
        """The metric's risk_tail attribute ('higher_is_worse' if absent)."""
        return str(self.metric_info(scenario, metric).get("risk_tail", _stats.HIGHER_IS_WORSE))

    # ------------------------------------------------------------ weights and statistics

    def weights(self, scenario: ScenarioKey) -> Optional[np.ndarray]:
        """Per-path weights (importance-sampling likelihood ratios), float64[paths], or None
        when the scenario was run without importance sampling."""
        group = self._group(scenario)
        if "outcomes" not in group or WEIGHTS_DATASET not in group["outcomes"]:
            return None
        return np.asarray(group["outcomes"][WEIGHTS_DATASET][()], dtype=np.float64)

    def _weights(self, scenario: ScenarioKey, weights: Any) -> Optional[np.ndarray]:
        if isinstance(weights, str):
            if weights != "auto":
                raise ValueError(f"weights must be 'auto', None or an array, got {weights!r}")
            return self.weights(scenario)
        return None if weights is None else np.asarray(weights, dtype=np.float64)

    def summary_ci(self, scenario: ScenarioKey, metrics: Union[None, str, Sequence[str]] = None,
                   level: float = 0.95, probs: Sequence[float] = (0.95, 0.99), weights: Any = "auto",
                   n_boot: int = _stats.DEFAULT_BOOT, seed: int = _stats.DEFAULT_SEED,
                   method: str = "linear") -> Dict[str, Any]:
        """Summary with confidence intervals computed from the outcomes.

        Returns {metric: {"n", "mean", "var95", "es95", "var99", "es99"}} (values
        are stats.Estimate; VaR/ES on each metric's risk_tail); for a single
        metric name, just that metric's dict. weights="auto" uses the
        scenario's stored weights if it has any, None ignores them, an array
        gives them. With method="linear" (default) point values equal the
        stored summary (unweighted); "order_statistic": see stats.expected_shortfall.
        """
        single = isinstance(metrics, str)
        names = [metrics] if single else (list(metrics) if metrics is not None
                                          else self.outcome_metrics(scenario))
        w = self._weights(scenario, weights)
        result = {}
        for metric in names:
            result[metric] = _stats.summarize(self.outcomes(scenario, metric),
                                              self.risk_tail(scenario, metric), level, probs, w,
                                              n_boot, seed, method)
        return result[metrics] if single else result

    def estimate(self, scenario: ScenarioKey, metric: str, statistic: Any = "mean",
                 level: float = 0.95, weights: Any = "auto", n_boot: int = _stats.DEFAULT_BOOT,
                 seed: int = _stats.DEFAULT_SEED, method: str = "linear") -> "_stats.Estimate":
        """One statistic of one outcome (see stats.estimate for the names), on its risk tail."""
        return _stats.estimate(self.outcomes(scenario, metric), statistic,
                               self.risk_tail(scenario, metric), level,
                               self._weights(scenario, weights), n_boot, seed, method)

    def paired_difference(self, metric: str, a: ScenarioKey, b: ScenarioKey, level: float = 0.95,
                          weights: Any = "auto") -> "_stats.Estimate":
        """Mean over paths of metric(a) - metric(b) with its paired SE and normal CI.

        Scenarios of one file share random numbers path by path, so this is far
        more precise than comparing the two means. With weights ("auto": stored),
        those of scenario a are used (under common random numbers both are equal).
        """
        return _stats.paired_difference(self.outcomes(a, metric), self.outcomes(b, metric), level,
                                        self._weights(a, weights))

    def sweep(self, metric: str, statistic: Any = "mean", level: float = 0.95,
              scenarios: Optional[Sequence[ScenarioKey]] = None, where: Optional[Dict[str, Any]] = None,
              weights: Any = "auto", n_boot: int = _stats.DEFAULT_BOOT, seed: int = _stats.DEFAULT_SEED,
              method: str = "linear") -> List[Dict[str, Any]]:
        """One row per scenario: its scenario_table() row plus "estimate" (a stats.Estimate
        of `statistic` of `metric`), e.g. for sweep line plots and heatmaps. `where`
        keeps the scenarios whose parameters match (see select_scenarios)."""
        table = {row["scenario"]: row for row in self.scenario_table()}
        rows = []
        for s in self._scenario_list(scenarios, where):
            row = dict(table.get(s, {"scenario": s}))
            row["estimate"] = self.estimate(s, metric, statistic, level, weights, n_boot, seed, method)
            rows.append(row)
        return rows


def _pandas(what: str):
    try:
        import pandas as pd  # optional dependency
    except ImportError as error:
        raise ImportError(f"{what} needs pandas: apt-get install python3-pandas "
                          "(or pip install pandas)") from error
    return pd


def short_names(keys: Sequence[str]) -> Dict[str, str]:
    """Shortest dotted suffix of each key that no other key ends with:
    {"markets.pool.fee": "fee", "price.volatility.ETH": "ETH"}."""
    result = {}
    for key in keys:
        parts = key.split(".")
        for size in range(1, len(parts) + 1):
            suffix = ".".join(parts[-size:])
            if not any(other != key and (other == suffix or other.endswith("." + suffix))
                       for other in keys):
                result[key] = suffix
                break
        else:
            result[key] = key
    return result


def values_equal(a: Any, b: Any) -> bool:
    """Parameter values equal, floats up to a relative 1e-9 (tuples elementwise)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return a == b or math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return a == b
