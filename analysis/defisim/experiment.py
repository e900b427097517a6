"""What the experiments' analysis scripts (experiments/*/analyze.py) share.

Each script reads its results files scenario by scenario, refuses a file it
cannot use with a message naming the file, the scenario and what is missing
(exit status 2), runs its checks and exits 1 if one failed::

    from defisim import open_results
    from defisim.experiment import InputError, exit_status, require_swept, scenario_outcomes

    with open_results(path) as results:
        for scenario in results.scenarios():
            params = require_swept(results, scenario, (FEE_KEY, VOL_KEY), "run experiments/x/x.yaml")
            outcomes = scenario_outcomes(results, scenario, METRICS)   # {metric: float64[paths]}
    ...
    return exit_status(failures)   # 0, or 1 after "N check(s) failed" on stderr
"""
from __future__ import annotations

import sys
from typing import Any, Dict, Optional, Sequence

import numpy as np


class InputError(ValueError):
    """A results file this analysis cannot use (exit 2)."""


def require_swept(results, scenario: Dict[str, Any], keys: Sequence[str], hint: str = "") -> Dict[str, str]:
    """The swept parameters of `scenario` (an entry of results.scenarios()), after checking that
    it sweeps every one of `keys`; otherwise InputError "PATH: scenario NAME does not sweep
    KEY, ...[; HINT]"."""
    params = scenario["parameters"]
    missing = [key for key in keys if key not in params]
    if missing:
        raise InputError(f"{results.path}: scenario {scenario['name']} does not sweep {', '.join(missing)}"
                         + (f"; {hint}" if hint else ""))
    return params


def scenario_outcomes(results, scenario: Dict[str, Any], metrics: Sequence[str], note: str = "",
                      max_named: Optional[int] = None) -> Dict[str, np.ndarray]:
    """{metric: float64[paths]} of the outcomes `metrics` of `scenario` (an entry of
    results.scenarios()), in that order. If any is absent: InputError "PATH: scenario NAME has
    no outcome METRIC, ...NOTE", naming the first `max_named` absent ones (all by default)."""
    index = scenario["index"]
    available = set(results.outcome_metrics(index))
    absent = [m for m in metrics if m not in available]
    if absent:
        named = absent if max_named is None else absent[:max_named]
        raise InputError(f"{results.path}: scenario {scenario['name']} has no outcome {', '.join(named)}{note}")
    return {m: np.asarray(results.outcomes(index, m), dtype=float) for m in metrics}


def exit_status(failures: Sequence[Any]) -> int:
    """An analysis script's exit status: 0 if no check failed, else 1 after printing
    "N check(s) failed" on stderr."""
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    return 0
