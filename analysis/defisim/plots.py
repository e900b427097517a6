"""Figures for papers from defisim results (matplotlib).

Every function draws on the Axes it is given (``ax=``) or on a new figure's,
and returns that Axes; :func:`save` writes and closes the figure. Scripts get
the Agg backend (files only, no display) unless pyplot was already imported
with another backend (e.g. inline in a notebook).

    from defisim import open_results, plots
    with open_results("results/sweep.h5") as r:
        ax = plots.exceedance_plot(r.outcomes_by_scenario("bank.bad_debt"))
        plots.save(ax, "figures/bad_debt_tail.png")

=========================  ====================================================
fan_chart                  quantile bands of a series over time (arrays)
series_fan_chart           the same for one series metric of scenarios of a file
distribution_plot          histogram or ECDF of one or several samples
exceedance_plot            P(X >= x) (or P(X <= x)) on a log y-axis: the tails
sweep_heatmap              a statistic over two swept parameters
sweep_plot                 a statistic over one swept parameter, error bars
errorbar_plot              Estimates against x with CI or ± z SE bars (arrays)
=========================  ====================================================
"""
from __future__ import annotations

import math
import os
import sys
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import matplotlib

if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")  # before pyplot: render to files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import stats as _stats  # noqa: E402
from .tables import format_cell  # noqa: E402

Samples = Union[np.ndarray, Sequence[float], Mapping[str, Any], Sequence[np.ndarray]]
DEFAULT_BANDS = ((0.05, 0.95), (0.25, 0.75))


# --------------------------------------------------------------------------- helpers

def _axes(ax=None, figsize=(7.0, 4.5)):
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def save(target, path: Union[str, os.PathLike], dpi: int = 120, close: bool = True) -> str:
    """Saves the figure of an Axes (or a Figure) as `path` (PNG, PDF, SVG by extension),
    creating directories, and closes it. Returns the path."""
    fig = target.figure if hasattr(target, "figure") and not hasattr(target, "savefig") else target
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    if close:
        plt.close(fig)
    return path


def _named_samples(samples: Samples, weights: Any = None
                   ) -> List[Tuple[Optional[str], np.ndarray, Optional[np.ndarray]]]:
    """[(label, values, weights)] from an array, a list of arrays or a {label: array} mapping.
    weights: None, one array (for a single sample), or a matching mapping/list."""
    if isinstance(samples, Mapping):
        items = [(str(k), v) for k, v in samples.items()]
    elif isinstance(samples, np.ndarray) and samples.ndim == 1:
        items = [(None, samples)]
    elif isinstance(samples, (list, tuple)) and samples and np.ndim(samples[0]) == 1:
        items = [(None, v) for v in samples]
    elif isinstance(samples, np.ndarray) and samples.ndim == 2:
        items = [(None, row) for row in samples]
    else:
        items = [(None, np.asarray(samples))]
    if weights is None:
        ws: List[Optional[np.ndarray]] = [None] * len(items)
    elif isinstance(weights, Mapping):
        ws = [None if weights.get(label) is None else np.asarray(weights[label], float)
              for label, _ in items]
    elif len(items) == 1 and np.ndim(weights) == 1:
        ws = [np.asarray(weights, float)]
    else:
        ws = [None if w is None else np.asarray(w, float) for w in weights]
        if len(ws) != len(items):
            raise ValueError(f"{len(ws)} weight arrays for {len(items)} samples")
    return [(label, np.asarray(values, dtype=np.float64).reshape(-1), w)
            for (label, values), w in zip(items, ws)]


def _label_axes(ax, xlabel: Optional[str], ylabel: Optional[str], title: Optional[str]) -> None:
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)


def _legend_if_labelled(ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if any(label and not label.startswith("_") for label in labels):
        ax.legend(fontsize=8, loc="best")


# --------------------------------------------------------------------------- fan charts

def fan_chart(values: np.ndarray, x: Optional[np.ndarray] = None, ax=None,
              bands: Sequence[Tuple[float, float]] = DEFAULT_BANDS, center: Optional[str] = "median",
              color: Optional[str] = None, label: Optional[str] = None,
              weights: Optional[np.ndarray] = None, alpha: float = 0.18,
              xlabel: Optional[str] = None, ylabel: Optional[str] = None, title: Optional[str] = None):
    """Quantile bands over paths (rows of `values`, float[paths, samples]) at each sample.

    bands: (lo, hi) quantile pairs, drawn from the widest (faintest) in; center:
    "median", "mean" or None. weights: per-path weights (weighted quantiles/mean).
    x defaults to the sample index. NaNs are ignored (unweighted).
    """
    ax = _axes(ax)
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"fan_chart needs a [paths, samples] matrix, got shape {matrix.shape}")
    xs = np.arange(matrix.shape[1]) if x is None else np.asarray(x, dtype=np.float64)
    if color is None:
        try:
            color = ax._get_lines.get_next_color()  # the Axes' colour cycle
        except AttributeError:  # pragma: no cover (private matplotlib API)
            color = f"C{len(ax.lines) % 10}"
    levels = sorted({q for band in bands for q in band} | ({0.5} if center == "median" else set()))

    if weights is None:
        quantile = np.nanquantile if np.isnan(matrix).any() else np.quantile
        table = dict(zip(levels, quantile(matrix, levels, axis=0))) if levels else {}
        mean = np.nanmean(matrix, axis=0) if center == "mean" else None
    else:
        w = np.asarray(weights, dtype=np.float64)
        columns = [_stats.weighted_quantile(matrix[:, j], w, levels) for j in range(matrix.shape[1])]
        table = {q: np.array([c[i] for c in columns]) for i, q in enumerate(levels)}
        mean = (w @ matrix) / w.sum() if center == "mean" else None

    ordered = sorted(bands, key=lambda b: b[0] - b[1])  # widest first
    for i, (lo, hi) in enumerate(ordered):
        ax.fill_between(xs, table[lo], table[hi], color=color, alpha=min(0.9, alpha * (1 + i)),
                        linewidth=0)
    if center == "median":
        ax.plot(xs, table[0.5], color=color, linewidth=1.8,
                label=f"{label}, median" if label else "median")
    elif center == "mean":
        ax.plot(xs, mean, color=color, linewidth=1.8, label=f"{label}, mean" if label else "mean")
    elif label:
        ax.plot([], [], color=color, label=label)
    if len(xs) > 1:
        ax.set_xlim(xs[0], xs[-1])
    _label_axes(ax, xlabel, ylabel, title)
    ax.grid(True, alpha=0.3)
    return ax


def series_fan_chart(results, metric: str, scenarios: Optional[Sequence] = None, ax=None,
                     bands: Sequence[Tuple[float, float]] = DEFAULT_BANDS, center: Optional[str] = "median",
                     where: Optional[Dict[str, Any]] = None, max_paths: int = 50_000,
                     weights: Any = "auto", time: str = "hours", title: Optional[str] = None):
    """Fan chart of the series `metric` of each scenario (default: all; `where` filters
    by parameters) of an open Results, against hours (time="hours") or blocks.
    Reads at most `max_paths` evenly spaced paths per scenario."""
    ax = _axes(ax)
    chosen = results._scenario_list(scenarios, where)
    labels = results.scenario_labels(chosen)
    unit = ""
    for s in chosen:
        paths, _ = results.series_shape(s, metric)
        step = max(1, -(-paths // max_paths))
        rows = slice(None, None, step) if step > 1 else None
        blocks, values = results.series(s, metric, rows)
        w = results._weights(s, weights)
        if w is not None and rows is not None:
            w = w[rows]
        xs = results.hours(blocks) if time == "hours" else np.asarray(blocks, dtype=np.float64)
        label = labels[s] if len(chosen) > 1 or results.parameters(s) else metric
        fan_chart(values, xs, ax=ax, bands=bands, center=center, label=label, weights=w)
        unit = results.metric_info(s, metric).get("unit", "")
    band_text = ", ".join(f"{lo:.0%}-{hi:.0%}" for lo, hi in sorted(bands, key=lambda b: b[0] - b[1]))
    _label_axes(ax, "time (hours)" if time == "hours" else "block",
                f"{metric} ({unit})" if unit else metric,
                title if title is not None else f"{metric}: {center or ''} and {band_text} of paths")
    _legend_if_labelled(ax)
    return ax


# --------------------------------------------------------------------------- distributions

def distribution_plot(samples: Samples, kind: str = "hist", ax=None, bins: Union[int, str, Sequence] = "auto",
                      weights: Any = None, density: bool = True, xlabel: Optional[str] = None,
                      title: Optional[str] = None, max_bins: int = 100):
    """Histogram (kind="hist", common bins, outlines when several) or empirical CDF
    (kind="ecdf") of one sample or of several ({label: values}, e.g.
    Results.outcomes_by_scenario(metric))."""
    ax = _axes(ax)
    items = _named_samples(samples, weights)
    if kind == "hist":
        finite = np.concatenate([v[np.isfinite(v)] for _, v, _ in items]) if items else np.empty(0)
        if isinstance(bins, (int, str)) and finite.size:
            edges = np.histogram_bin_edges(finite, bins=bins)
            if len(edges) - 1 > max_bins:
                edges = np.histogram_bin_edges(finite, bins=max_bins)
        else:
            edges = bins
        several = len(items) > 1
        for label, values, w in items:
            v = values[np.isfinite(values)]
            ww = None if w is None else w[np.isfinite(values)]
            ax.hist(v, bins=edges, weights=ww, density=density, label=label,
                    histtype="step" if several else "stepfilled", linewidth=1.5,
                    alpha=1.0 if several else 0.75)
        ylabel = "density" if density else "paths"
    elif kind == "ecdf":
        for label, values, w in items:
            order = np.argsort(values, kind="stable")
            v = values[order]
            if w is None:
                y = np.arange(1, len(v) + 1) / max(len(v), 1)
            else:
                cw = np.cumsum(w[order])
                y = cw / cw[-1]
            ax.step(v, y, where="post", label=label, linewidth=1.5)
        ax.set_ylim(0, 1)
        ylabel = "P(X <= x)"
    else:
        raise ValueError(f"distribution_plot kind must be 'hist' or 'ecdf', got {kind!r}")
    _label_axes(ax, xlabel, ylabel, title)
    ax.grid(True, alpha=0.3)
    _legend_if_labelled(ax)
    return ax


def exceedance_plot(samples: Samples, ax=None, tail: str = "higher_is_worse", weights: Any = None,
                    logy: bool = True, band: bool = False, level: float = 0.95,
                    xlabel: Optional[str] = None, title: Optional[str] = None):
    """Empirical exceedance curve P(X >= x) (tail="higher_is_worse"; P(X <= x) for
    "lower_is_worse") of one or several samples, on a log y-axis by default.

    The curve reaches down to 1/n, so it shows the tail as far as the paths
    resolve it. band=True adds pointwise Wilson intervals at `level` (with
    weights, using the effective sample size).
    """
    ax = _axes(ax)
    tail = _stats.normalize_tail(tail)
    items = _named_samples(samples, weights)
    smallest = 1.0
    for label, values, w in items:
        finite = np.isfinite(values)
        v, ww = values[finite], (None if w is None else w[finite])
        n = len(v)
        if n == 0:
            continue
        order = np.argsort(v, kind="stable")
        v = v[order]
        if ww is None:
            weight = np.full(n, 1.0 / n)
            n_eff = float(n)
        else:
            weight = ww[order] / ww.sum()
            n_eff = _stats.effective_sample_size(ww)
        # one point per distinct value (ties count together)
        v, first, counts = np.unique(v, return_index=True, return_counts=True)
        if tail == _stats.HIGHER_IS_WORSE:
            p = np.cumsum(weight[::-1])[::-1][first]        # P(X >= v_j): held on (v_j-1, v_j]
            where = "pre"
        else:
            p = np.cumsum(weight)[first + counts - 1]       # P(X <= v_j): held on [v_j, v_j+1)
            where = "post"
        p = np.minimum(p, 1.0)
        line, = ax.step(v, p, where=where, label=label, linewidth=1.5,
                        marker="o" if len(v) == 1 else None)  # a single distinct value: a point
        if band:
            lo, hi = _stats.wilson_interval(p * n_eff, n_eff, level)
            ax.fill_between(v, np.maximum(lo, 1e-300), hi, step=where, color=line.get_color(),
                            alpha=0.2, linewidth=0)
        positive = p[p > 0]
        if positive.size:
            smallest = min(smallest, float(positive.min()))
    if logy:
        ax.set_yscale("log")
        ax.set_ylim(smallest / 2, 1.05)
    ylabel = "P(X ≥ x)" if tail == _stats.HIGHER_IS_WORSE else "P(X ≤ x)"
    _label_axes(ax, xlabel, ylabel, title)
    ax.grid(True, alpha=0.3, which="both")
    _legend_if_labelled(ax)
    return ax


# --------------------------------------------------------------------------- estimates and sweeps

def _yerr(estimates: Sequence["_stats.Estimate"], errors: Optional[str], z: float) -> Optional[np.ndarray]:
    if errors is None:
        return None
    values = np.array([e.value for e in estimates], dtype=np.float64)
    if errors == "ci":
        lo = np.array([e.lo for e in estimates], dtype=np.float64)
        hi = np.array([e.hi for e in estimates], dtype=np.float64)
    elif errors == "se":
        se = np.array([e.se for e in estimates], dtype=np.float64)
        if np.all(np.isnan(se)):
            raise ValueError("errors='se' but these estimates have no standard error "
                             "(quantiles: use errors='ci')")
        lo, hi = values - z * se, values + z * se
    else:
        raise ValueError(f"errors must be 'ci', 'se' or None, got {errors!r}")
    # an open (infinite) or undefined bound draws no bar on that side
    below = np.where(np.isfinite(lo), values - lo, 0.0)
    above = np.where(np.isfinite(hi), hi - values, 0.0)
    return np.vstack([np.maximum(below, 0.0), np.maximum(above, 0.0)])


def errorbar_plot(x: Sequence, estimates: Sequence["_stats.Estimate"], ax=None, errors: Optional[str] = "ci",
                  z: float = 1.0, label: Optional[str] = None, marker: str = "o", **style):
    """Estimates against x with error bars: errors="ci" (their [lo, hi]), "se" (± z SE)
    or None. Non-numeric x are placed at 0, 1, ... with the values as tick labels."""
    ax = _axes(ax)
    xs, ticks = _positions(list(x))
    values = np.array([e.value for e in estimates], dtype=np.float64)
    ax.errorbar(xs, values, yerr=_yerr(estimates, errors, z), marker=marker, capsize=3, label=label,
                **style)
    if ticks is not None:
        ax.set_xticks(range(len(ticks)))
        ax.set_xticklabels(ticks)
    ax.grid(True, alpha=0.3)
    return ax


def _numeric(values: Sequence) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
               for v in values)


def _positions(values: Sequence) -> Tuple[np.ndarray, Optional[List[str]]]:
    if _numeric(values):
        return np.asarray(values, dtype=np.float64), None
    labels: List[str] = []
    for v in values:
        text = format_cell(v)
        if text not in labels:
            labels.append(text)
    return np.array([labels.index(format_cell(v)) for v in values], dtype=np.float64), labels


def _sort_key(value: Any):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, format_cell(value))


def _sweep_rows(results, metric, statistic, where, level, weights, n_boot, seed):
    if isinstance(results, (list, tuple)):
        return list(results), None
    rows = results.sweep(metric, statistic, level=level, where=where, weights=weights,
                         n_boot=n_boot, seed=seed)
    first = rows[0]["scenario"] if rows else None
    unit = results.metric_info(first, metric).get("unit", "") if first is not None else ""
    return rows, unit


def _check_unique(rows: List[Dict[str, Any]], keys: Sequence[str]) -> None:
    """Raises ValueError if two rows share the values of `keys` (other parameters vary)."""
    seen: Dict[tuple, Dict[str, Any]] = {}
    for row in rows:
        key = tuple(format_cell(row.get(k)) for k in keys)
        if key in seen:
            other = seen[key]
            varying = [k for k in row if k not in keys and k not in ("scenario", "estimate")
                       and row.get(k) != other.get(k)]
            raise ValueError(
                f"scenarios {other['scenario']} and {row['scenario']} both have "
                + ", ".join(f"{k}={format_cell(row.get(k))}" for k in keys)
                + f"; they differ in {', '.join(varying) or 'nothing swept'}: fix those with "
                "where={key: value} or plot them as group=")
        seen[key] = row


def _statistic_name(statistic: Any) -> str:
    if callable(statistic):
        return getattr(statistic, "__name__", "statistic")
    if isinstance(statistic, float):
        return f"p{_stats.percent_label(statistic)}"
    return str(statistic)


def sweep_plot(results, metric: str, x: str, statistic: Any = "mean", group: Optional[str] = None,
               where: Optional[Dict[str, Any]] = None, ax=None, errors: Optional[str] = "ci",
               z: float = 1.0, level: float = 0.95, weights: Any = "auto", logx: bool = False,
               n_boot: int = _stats.DEFAULT_BOOT, seed: int = _stats.DEFAULT_SEED,
               title: Optional[str] = None):
    """A statistic of an outcome against one swept parameter `x`, one line per value of
    `group` (another swept parameter), with error bars: errors="ci" (the estimate's
    interval at `level`: normal for the mean, order statistics for quantiles and
    VaR, bootstrap for ES, Wilson for prob>T), "se" (± z SE), or None.

    results: an open Results, or rows from Results.sweep(). Other swept parameters
    must be fixed with where={key: value} (else ValueError naming them).
    """
    ax = _axes(ax)
    rows, unit = _sweep_rows(results, metric, statistic, where, level, weights, n_boot, seed)
    if not rows:
        raise ValueError(f"no scenario matches {where}")
    if x not in rows[0]:
        raise KeyError(f"{x!r} is not a swept parameter; swept: "
                       f"{', '.join(k for k in rows[0] if k not in ('scenario', 'estimate'))}")
    _check_unique(rows, [x] + ([group] if group else []))
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(format_cell(row.get(group)) if group else "", []).append(row)
    order = sorted(groups, key=lambda g: _sort_key(groups[g][0].get(group)) if group else (0, 0.0, ""))
    all_x = [row[x] for row in rows]
    numeric = _numeric(all_x)
    categories = None if numeric else sorted({format_cell(v) for v in all_x})
    for name in order:
        members = sorted(groups[name], key=lambda r: _sort_key(r[x]))
        xs = [r[x] for r in members] if numeric else [categories.index(format_cell(r[x])) for r in members]
        errorbar_plot(xs, [r["estimate"] for r in members], ax=ax, errors=errors, z=z,
                      label=f"{group.rsplit('.', 1)[-1]}={name}" if group else None)
    if categories is not None:
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels(categories)
    if logx:
        ax.set_xscale("log")
    stat = _statistic_name(statistic)
    bars = {"ci": f"{level:.0%} CI", "se": f"± {z:g} SE", None: "no error bars"}[errors]
    _label_axes(ax, x, f"{stat} of {metric}" + (f" ({unit})" if unit else ""),
                title if title is not None else f"{stat} of {metric} ({bars})")
    _legend_if_labelled(ax)
    return ax


def sweep_heatmap(results, metric: str, x: str, y: str, statistic: Any = "mean",
                  where: Optional[Dict[str, Any]] = None, ax=None, level: float = 0.95,
                  weights: Any = "auto", annotate: bool = True, cmap: str = "viridis",
                  n_boot: int = _stats.DEFAULT_BOOT, seed: int = _stats.DEFAULT_SEED,
                  colorbar: bool = True, digits: int = 3, title: Optional[str] = None):
    """A statistic of an outcome over two swept parameters (x: columns, y: rows).

    A grid sweep gives a heatmap (cells annotated with the value; a missing
    combination is blank); scattered designs (Latin hypercube, Sobol: most
    cells empty) give a scatter coloured by the value. results: an open
    Results, or rows from Results.sweep(). Other swept parameters must be fixed
    with where={key: value}.
    """
    ax = _axes(ax)
    rows, unit = _sweep_rows(results, metric, statistic, where, level, weights, n_boot, seed)
    if not rows:
        raise ValueError(f"no scenario matches {where}")
    for key in (x, y):
        if key not in rows[0]:
            raise KeyError(f"{key!r} is not a swept parameter; swept: "
                           f"{', '.join(k for k in rows[0] if k not in ('scenario', 'estimate'))}")
    _check_unique(rows, [x, y])
    xs_all = sorted({format_cell(r[x]): r[x] for r in rows}.values(), key=_sort_key)
    ys_all = sorted({format_cell(r[y]): r[y] for r in rows}.values(), key=_sort_key)
    stat = _statistic_name(statistic)
    label = f"{stat} of {metric}" + (f" ({unit})" if unit else "")
    values = np.array([r["estimate"].value for r in rows], dtype=np.float64)
    if len(rows) * 2 < len(xs_all) * len(ys_all) and _numeric(xs_all) and _numeric(ys_all):
        mappable = ax.scatter([r[x] for r in rows], [r[y] for r in rows], c=values, cmap=cmap, s=40)
    else:
        grid = np.full((len(ys_all), len(xs_all)), np.nan)
        xi = {format_cell(v): i for i, v in enumerate(xs_all)}
        yi = {format_cell(v): i for i, v in enumerate(ys_all)}
        for r, v in zip(rows, values):
            grid[yi[format_cell(r[y])], xi[format_cell(r[x])]] = v
        mappable = ax.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto", cmap=cmap,
                             interpolation="nearest")
        ax.set_xticks(range(len(xs_all)))
        ax.set_xticklabels([format_cell(v) for v in xs_all])
        ax.set_yticks(range(len(ys_all)))
        ax.set_yticklabels([format_cell(v) for v in ys_all])
        if annotate:
            finite = grid[np.isfinite(grid)]
            middle = 0.5 * (finite.min() + finite.max()) if finite.size else 0.0
            for i in range(grid.shape[0]):
                for j in range(grid.shape[1]):
                    if math.isfinite(grid[i, j]):
                        ax.text(j, i, f"{grid[i, j]:.{digits}g}", ha="center", va="center", fontsize=8,
                                color="black" if grid[i, j] > middle else "white")
    if colorbar:
        ax.figure.colorbar(mappable, ax=ax, label=label)
    _label_axes(ax, x, y, title if title is not None else label)
    return ax
