"""Analysis toolkit for defisim results files (see analysis/README.md, analysis/FORMAT.md).

    results   open_results / Results: read a file (format version checked),
              scenarios as a table, outcomes and series as numpy arrays
    stats     estimators with confidence intervals: mean_ci, quantile_ci,
              var_ci, es_ci, probability_ci, paired_difference, bootstrap_ci,
              weighted versions for importance-sampling weights
    plots     fan charts, distributions, exceedance curves, sweep heatmaps and
              line plots (needs matplotlib; import defisim.plots)
    figures   quickstart_figure
    cli       python3 -m defisim {info,scenarios,summary,compare,plot} FILE
    experiment  what experiments/*/analyze.py share: InputError, require_swept,
              scenario_outcomes, exit_status (import defisim.experiment)

Needs numpy and h5py (Debian: apt-get install python3-numpy python3-h5py);
figures also need matplotlib (python3-matplotlib); pandas is optional.
analysis/python.sh prints a python3 that has them.
"""
from .results import (
    FILETYPE,
    STATISTICS,
    SUPPORTED_MAJOR,
    WEIGHTS_DATASET,
    Results,
    ResultsFormatError,
    open_results,
)
from .stats import (
    Estimate,
    binomial_cdf,
    binomial_pmf,
    bootstrap_ci,
    effective_sample_size,
    es_ci,
    estimate,
    expected_shortfall,
    mean_ci,
    mean_se,
    normal_cdf,
    normal_ppf,
    paired_difference,
    probability_ci,
    quantile_ci,
    quantile_ci_ranks,
    ratio_of_means,
    summarize,
    var_ci,
    weighted_mean,
    weighted_quantile,
    wilson_interval,
    z_value,
)
from .tables import csv_table, markdown_table, parse_value

__all__ = [
    "FILETYPE",
    "STATISTICS",
    "SUPPORTED_MAJOR",
    "WEIGHTS_DATASET",
    "Estimate",
    "Results",
    "ResultsFormatError",
    "binomial_cdf",
    "binomial_pmf",
    "bootstrap_ci",
    "csv_table",
    "effective_sample_size",
    "es_ci",
    "estimate",
    "expected_shortfall",
    "markdown_table",
    "mean_ci",
    "mean_se",
    "normal_cdf",
    "normal_ppf",
    "open_results",
    "paired_difference",
    "parse_value",
    "probability_ci",
    "quantile_ci",
    "quantile_ci_ranks",
    "quickstart_figure",
    "ratio_of_means",
    "summarize",
    "var_ci",
    "weighted_mean",
    "weighted_quantile",
    "wilson_interval",
    "z_value",
]


def quickstart_figure(*args, **kwargs):
    """See defisim.figures.quickstart_figure (imported lazily: needs matplotlib)."""
    from .figures import quickstart_figure as _quickstart_figure

    return _quickstart_figure(*args, **kwargs)
