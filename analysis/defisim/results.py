"""Read defisim results files (HDF5) with numpy and h5py.

The layout is described in analysis/FORMAT.md. Typical use::

    from defisim import open_results

    with open_results("results/quickstart.h5") as r:
        print(r.attrs["experiment_name"], r.scenarios())
        pnl = r.outcomes(0, "lp.pnl_vs_hodl")          # numpy float64[paths]
        blocks, value = r.series(0, "lp.value")        # uint64[samples], float64[paths, samples]
        print(r.summary(0)["lp.pnl_vs_hodl"]["es95"])

pandas is optional: ``Results.to_dataframe`` needs it, nothing else does.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

import h5py
import numpy as np

FILETYPE = "defisim-results"
SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = 0  # newest minor version this reader knows; newer minors still read fine

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
        result = []
        for name in self._scenario_names():
            result.append({
                "index": int(name) if name.isdigit() else name,
                "name": name,
                "parameters": self.parameters(name),
            })
        return result

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
