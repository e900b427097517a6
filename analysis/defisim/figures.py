"""Figures from defisim results files (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import os
import sys
from typing import Union

import matplotlib

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")  # before pyplot: render to files only (unless pyplot is already in use)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .results import ScenarioKey, open_results  # noqa: E402

# Fan charts read at most this many paths (an evenly spaced subset beyond it).
MAX_FAN_PATHS = 50_000


def _fan(ax, hours: np.ndarray, matrix: np.ndarray, color: str, label: str) -> None:
    """Median line with 25-75% and 5-95% bands over paths (rows) at each sample (column)."""
    quantile = np.nanquantile if np.isnan(matrix).any() else np.quantile
    q05, q25, q50, q75, q95 = quantile(matrix, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    ax.fill_between(hours, q05, q95, color=color, alpha=0.15, linewidth=0)
    ax.fill_between(hours, q25, q75, color=color, alpha=0.35, linewidth=0)
    ax.plot(hours, q50, color=color, linewidth=1.8, label=f"{label}, median")


def _format_parameters(parameters: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in parameters.items())


def quickstart_figure(results_path: Union[str, os.PathLike], png_path: Union[str, os.PathLike],
                      scenario: ScenarioKey = 0, lp_id: str = "lp") -> str:
    """Two panels for one scenario of a results file, saved as a PNG.

    Left: fan chart over time (hours = block * block_time_seconds / 3600) of the
    series "<lp_id>.value" (the LP position) and "<lp_id>.hodl_value" (holding
    the initial tokens): median lines, 25-75% and 5-95% bands across paths.
    Right: histogram over paths of the outcome "<lp_id>.pnl_vs_hodl" with its
    mean and its 5% value at risk (the 5th percentile) marked.
    Returns the PNG path.
    """
    value_metric = f"{lp_id}.value"
    hodl_metric = f"{lp_id}.hodl_value"
    pnl_metric = f"{lp_id}.pnl_vs_hodl"
    with open_results(results_path) as results:
        paths, _ = results.series_shape(scenario, value_metric)
        step = max(1, -(-paths // MAX_FAN_PATHS))
        rows = slice(None, None, step) if step > 1 else None
        blocks, value = results.series(scenario, value_metric, rows)
        _, hodl = results.series(scenario, hodl_metric, rows)
        pnl = results.outcomes(scenario, pnl_metric)
        hours = results.hours(blocks)
        value_unit = results.metric_info(scenario, value_metric).get("unit", "")
        pnl_unit = results.metric_info(scenario, pnl_metric).get("unit", "")
        parameters = results.parameters(scenario)
        experiment = results.attrs.get("experiment_name", "")
        summary = results.summary(scenario).get(pnl_metric, {})

    mean = float(summary.get("mean", np.mean(pnl)))
    var95 = float(summary.get("var95", np.quantile(pnl, 0.05)))

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)

    _fan(left, hours, hodl, "tab:gray", "HODL")
    _fan(left, hours, value, "tab:blue", "LP position")
    handles, _ = left.get_legend_handles_labels()
    handles += [Patch(color="black", alpha=0.35, linewidth=0, label="25-75% of paths"),
                Patch(color="black", alpha=0.15, linewidth=0, label="5-95% of paths")]
    left.legend(handles=handles, loc="best", fontsize=9)
    left.set_xlabel("time (hours)")
    left.set_ylabel(f"value ({value_unit})" if value_unit else "value")
    left.set_title("LP position vs holding the tokens")
    left.grid(True, alpha=0.3)
    if len(hours) > 1:
        left.set_xlim(hours[0], hours[-1])

    bins = int(min(100, max(10, np.sqrt(max(len(pnl), 1)))))
    right.hist(pnl, bins=bins, color="tab:blue", alpha=0.75, edgecolor="white", linewidth=0.4)
    right.axvline(mean, color="black", linewidth=1.5, label=f"mean {mean:,.4g}")
    right.axvline(var95, color="tab:red", linewidth=1.5, linestyle="--",
                  label=f"5% VaR {var95:,.4g}")
    if len(pnl) and np.min(pnl) <= 0 <= np.max(pnl):
        right.axvline(0, color="gray", linewidth=0.8, alpha=0.6)  # break-even, when in range
    right.legend(loc="best", fontsize=9)
    right.set_xlabel(f"{pnl_metric} at the end ({pnl_unit})" if pnl_unit else
                     f"{pnl_metric} at the end")
    right.set_ylabel("paths")
    right.set_title(f"LP minus HODL over {len(pnl):,} paths")
    right.grid(True, alpha=0.3)

    label = scenario["index"] if isinstance(scenario, dict) else scenario
    title = f"{experiment}: scenario {label}"
    if parameters:
        title += f" ({_format_parameters(parameters)})"
    fig.suptitle(title)
    png_path = os.fspath(png_path)
    directory = os.path.dirname(png_path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return png_path
