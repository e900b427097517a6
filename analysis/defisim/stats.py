"""Monte Carlo statistics with confidence intervals, in numpy only (no scipy).

Every estimator returns an :class:`Estimate` (value, lo, hi, se, level, n,
method); ``level`` is the two-sided confidence level of ``[lo, hi]``.

=========================  ==================================================
estimator                  interval
=========================  ==================================================
:func:`mean_ci`            normal: mean ± z SE, SE = sd (n - 1) / sqrt(n)
:func:`paired_difference`  normal, on the per-path difference a_i - b_i
                           (scenarios share random numbers path by path)
:func:`quantile_ci`        distribution-free, from order statistics and the
                           binomial (exact coverage >= level for continuous
                           distributions); bootstrap when weighted
:func:`var_ci`             quantile_ci on the metric's risk tail
:func:`es_ci`              percentile bootstrap (fixed seed: reproducible)
:func:`probability_ci`     Wilson score interval of a binomial proportion
:func:`bootstrap_ci`       percentile bootstrap of any statistic
=========================  ==================================================

Definitions match analysis/FORMAT.md, so point estimates agree with the
summary stored in a results file: quantiles use numpy's default "linear"
method; VaR at probability p is the p quantile of a higher_is_worse metric and
the 1 - p quantile of a lower_is_worse one; ES is the mean of the values at or
beyond the VaR (ties belong to the tail). ``method="order_statistic"``
instead takes the VaR as the order statistic X_(ceil(q n)) and the ES as the
mean of the order statistics from it outward (the definition
experiments/crash_stress/analyze.py reports with).

Per-path weights (importance sampling: likelihood ratios dP/dQ of the
simulated paths) are accepted by every estimator through ``weights=``. Means
and probabilities use the unbiased importance-sampling estimator, as the
simulator's summary does: self-normalising (dividing by sum w instead of n)
fails when a tilt aimed at a tail leaves a few paths with most of the weight
(experiments/tail_sampling/README.md measured it 3x too low):

* mean: (1/n) sum w x, SE = sd(w x) / sqrt(n), normal interval;
* probability: (1/n) sum w 1{event}, SE = sd(w 1{event}) / sqrt(n), normal
  interval clipped to [0, 1];
* quantile: the inverse of the weighted empirical CDF (smallest x whose
  cumulative weight reaches q of the total; with equal weights numpy's
  "inverted_cdf" quantile), CI by bootstrap of (x, w) pairs;
* ES: weighted mean of the values at or beyond the weighted VaR, bootstrap CI.

Kish's effective sample size (sum w)^2 / sum w^2 (:func:`effective_sample_size`)
is reported with every weighted estimate: a small one says the weights are
degenerate.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np

#: Seed of every bootstrap unless one is given: results are reproducible.
DEFAULT_SEED = 12345
#: Bootstrap resamples unless told otherwise.
DEFAULT_BOOT = 2000
#: Tails as FORMAT.md names them; "upper"/"lower" are accepted as synonyms.
HIGHER_IS_WORSE = "higher_is_worse"
LOWER_IS_WORSE = "lower_is_worse"

ArrayLike = Union[Sequence[float], np.ndarray]


# --------------------------------------------------------------------------- the result type

@dataclass(frozen=True)
class Estimate:
    """A point estimate with a two-sided confidence interval [lo, hi] at ``level``.

    ``se`` is the standard error where one is defined (NaN otherwise, e.g. for
    order-statistic quantile intervals); ``n`` the number of paths; ``ess`` the
    effective sample size when weights were used (else None); ``method`` how
    the interval was computed. An open bound (too few paths beyond a quantile
    for the level) is -inf or +inf.
    """
    value: float
    lo: float
    hi: float
    se: float = float("nan")
    level: float = 0.95
    n: int = 0
    method: str = ""
    ess: Optional[float] = None

    def __iter__(self):
        """Unpacks as (value, lo, hi)."""
        return iter((self.value, self.lo, self.hi))

    def _key(self) -> tuple:
        return tuple(None if isinstance(v, float) and math.isnan(v) else v
                     for v in (self.value, self.lo, self.hi, self.se, self.level, self.n, self.method,
                               self.ess))

    def __eq__(self, other: object) -> bool:
        """Field by field, NaN equal to NaN (so a reproduced estimate compares equal)."""
        if not isinstance(other, Estimate):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def half_width(self) -> float:
        return 0.5 * (self.hi - self.lo)

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)

    def format(self, digits: int = 4, se: bool = True) -> str:
        """'value ± se [lo, hi]' with `digits` significant digits ('open' for an infinite bound)."""
        def f(v: float) -> str:
            if math.isinf(v):
                return "open"
            if math.isnan(v):
                return "nan"
            return f"{v:.{digits}g}"
        text = f(self.value)
        if se and not math.isnan(self.se):
            text += f" ± {f(self.se)}"
        return text + f" [{f(self.lo)}, {f(self.hi)}]"

    def __str__(self) -> str:
        return self.format()


# --------------------------------------------------------------------------- the normal distribution

def normal_cdf(x: float) -> float:
    """P(Z <= x) for a standard normal Z."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


# Acklam's rational approximation (relative error < 1.2e-9), then one Halley step
# on erfc brings it to double precision.
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
      3.754408661907416e+00)


def normal_ppf(p: float) -> float:
    """The p quantile of the standard normal (inverse of normal_cdf), 0 <= p <= 1."""
    p = float(p)
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return -math.inf
        if p == 1.0:
            return math.inf
        raise ValueError(f"normal_ppf needs 0 <= p <= 1, got {p}")
    if p > 0.5:
        return -normal_ppf(1.0 - p)  # 1 - p is exact in floating point for p >= 0.5
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / \
            ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)
    else:
        q = p - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / \
            (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
    # Halley steps on e = Phi(x) - p (x <= 0 here, where erfc keeps full precision)
    for _ in range(2):
        e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
        u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * x * x)
        x = x - u / (1.0 + 0.5 * x * u)
    return x


def z_value(level: float = 0.95) -> float:
    """z with P(|Z| <= z) = level, e.g. 1.959964 for 0.95."""
    _check_level(level)
    return normal_ppf(0.5 + 0.5 * level)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")


# --------------------------------------------------------------------------- the binomial distribution

def binomial_pmf(n: int, p: float) -> np.ndarray:
    """P(Bin(n, p) = k) for k = 0..n as float64[n + 1].

    Computed in log space outward from the mode (exact log-gamma there, then
    running sums of log ratios), so n in the millions is fine; terms far in
    the tails underflow to 0.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"binomial n must be >= 0, got {n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"binomial p must be in [0, 1], got {p}")
    pmf = _binomial_pmf_window(n, p, 0, n)
    return pmf / pmf.sum()


def _binomial_pmf_window(n: int, p: float, lo: int, hi: int) -> np.ndarray:
    """P(Bin(n, p) = k) for k = lo..hi (not renormalised)."""
    pmf = np.zeros(hi - lo + 1)
    if p == 0.0 or p == 1.0:
        k = 0 if p == 0.0 else n
        if lo <= k <= hi:
            pmf[k - lo] = 1.0
        return pmf
    mode = min(hi, max(lo, int(math.floor((n + 1) * p))))
    log_mode = (math.lgamma(n + 1) - math.lgamma(mode + 1) - math.lgamma(n - mode + 1)
                + mode * math.log(p) + (n - mode) * math.log1p(-p))
    i = np.arange(lo, hi, dtype=np.float64)  # log of pmf(i + 1) / pmf(i), i = lo..hi-1
    log_ratio = np.log(n - i) - np.log(i + 1.0) + (math.log(p) - math.log1p(-p))
    m = mode - lo
    log_pmf = np.empty(hi - lo + 1)
    log_pmf[m] = log_mode
    log_pmf[m + 1:] = log_mode + np.cumsum(log_ratio[m:])
    log_pmf[:m] = log_mode - np.cumsum(log_ratio[:m][::-1])[::-1]
    return np.exp(log_pmf)


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Bin(n, p) <= k)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(min(1.0, binomial_pmf(n, p)[: int(k) + 1].sum()))


def quantile_ci_ranks(n: int, q: float, level: float = 0.95) -> Tuple[int, int]:
    """1-based ranks (l, u) of the sorted sample X_(1) <= ... <= X_(n) bracketing the q quantile.

    For a continuous distribution, P(X_(l) > xi_q) = P(Bin(n, q) <= l - 1) and
    P(X_(u) < xi_q) = P(Bin(n, q) >= u); l is the largest and u the smallest
    rank keeping each of these <= (1 - level) / 2, so the coverage
    P(X_(l) <= xi_q <= X_(u)) = P(l <= Bin(n, q) <= u - 1) >= level, whatever
    the distribution. l = 0 means no lower bound (-inf) and u = n + 1 no upper
    bound (+inf): too few paths below or above the quantile for the level.
    """
    _check_level(level)
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile probability must be in (0, 1), got {q}")
    return _quantile_ci_ranks(int(n), float(q), float(level))


@functools.lru_cache(maxsize=1024)
def _quantile_ci_ranks(n: int, q: float, level: float) -> Tuple[int, int]:
    if n <= 0:
        return 0, 1
    alpha = 0.5 * (1.0 - level)
    # only the binomial's bulk matters: mass beyond 40 standard deviations is far below any alpha
    spread = 40.0 * math.sqrt(n * q * (1.0 - q)) + 10.0
    lo = max(0, int(math.floor(n * q - spread)))
    hi = min(n, int(math.ceil(n * q + spread)))
    pmf = _binomial_pmf_window(n, q, lo, hi)
    cdf = np.cumsum(pmf / pmf.sum())                                       # F(lo), ..., F(hi)
    lower = lo + int(np.searchsorted(cdf, alpha, side="right"))            # #{j: F(j) <= alpha}
    upper = lo + int(np.searchsorted(cdf, 1.0 - alpha, side="left")) + 1   # min{u: F(u - 1) >= 1 - alpha}
    return lower, min(upper, n + 1)


# --------------------------------------------------------------------------- weights

def _as_values(x: ArrayLike) -> np.ndarray:
    values = np.asarray(x, dtype=np.float64)
    if values.ndim != 1:
        values = values.reshape(-1)
    return values


def _as_weights(weights: Optional[ArrayLike], n: int) -> Optional[np.ndarray]:
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"weights has {w.shape[0]} entries for {n} values")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and >= 0")
    if n and w.sum() <= 0:
        raise ValueError("weights sum to 0")
    return w


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: n for equal weights, less otherwise."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size == 0:
        return 0.0
    s2 = float(np.dot(w, w))
    return float(w.sum()) ** 2 / s2 if s2 > 0 else 0.0


def weighted_mean(x: ArrayLike, weights: ArrayLike) -> float:
    """sum w x / sum w (self-normalised)."""
    values = _as_values(x)
    w = _as_weights(weights, len(values))
    return float(np.dot(w, values) / w.sum())


def weighted_quantile(x: ArrayLike, weights: ArrayLike, q: Union[float, ArrayLike]
                      ) -> Union[float, np.ndarray]:
    """Inverse of the weighted empirical CDF: the smallest x_i whose cumulative weight
    (in sorted order) reaches q * sum(w). Equal weights give numpy's "inverted_cdf" quantile."""
    values = _as_values(x)
    w = _as_weights(weights, len(values))
    if len(values) == 0:
        raise ValueError("weighted_quantile of no values")
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    cumulative = np.cumsum(w[order])
    qs = np.asarray(q, dtype=np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"quantile probabilities must be in [0, 1], got {q}")
    target = qs * cumulative[-1]
    # tolerance: q * total computed in floating point may exceed an exact cumulative sum
    index = np.searchsorted(cumulative, target * (1.0 - 1e-12), side="left")
    index = np.clip(index, 0, len(values) - 1)
    result = sorted_values[index]
    return float(result) if np.ndim(result) == 0 else result


# --------------------------------------------------------------------------- means

def mean_se(x: ArrayLike) -> Tuple[float, float]:
    """(mean, standard error sd(ddof=1)/sqrt(n)); SE is NaN for fewer than 2 values."""
    values = _as_values(x)
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return float(values.mean()), se


def mean_ci(x: ArrayLike, level: float = 0.95, weights: Optional[ArrayLike] = None) -> Estimate:
    """Mean with the normal interval mean ± z SE (weighted: self-normalised, delta-method SE)."""
    _check_level(level)
    values = _as_values(x)
    n = len(values)
    w = _as_weights(weights, n)
    if w is None:
        mean, se = mean_se(values)
        ess = None
        method = "normal"
    else:
        # the unbiased importance-sampling mean (1/n) sum w x and its standard error
        mean, se = mean_se(w * values)
        ess = effective_sample_size(w)
        method = "normal, importance sampling"
    z = z_value(level)
    return Estimate(mean, mean - z * se, mean + z * se, se, level, n, method, ess)


def paired_difference(a: ArrayLike, b: ArrayLike, level: float = 0.95,
                      weights: Optional[ArrayLike] = None) -> Estimate:
    """Mean of a_i - b_i over paths, with SE and normal interval.

    a and b are one metric of two scenarios of the same file: path i uses the
    same random numbers in both (common random numbers), so the paired SE is
    usually far smaller than that of the two means separately.
    """
    x, y = _as_values(a), _as_values(b)
    if x.shape != y.shape:
        raise ValueError(f"paired_difference needs the same paths in both: {x.shape[0]} vs {y.shape[0]} values")
    estimate = mean_ci(x - y, level, weights)
    return Estimate(estimate.value, estimate.lo, estimate.hi, estimate.se, level, estimate.n,
                    "paired " + estimate.method, estimate.ess)


def ratio_of_means(num: ArrayLike, den: ArrayLike) -> Tuple[float, float, np.ndarray]:
    """(R, SE, psi): the ratio of means R = mean(num) / mean(den) over paths (e.g. total loss over
    total volume), its delta-method standard error, and the per-path influence
    psi_i = (num_i - R den_i) / mean(den), whose mean_se is that SE. The difference of two ratios
    over the same paths has the paired SE of psi(a) - psi(b) (paired_difference)."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    r = num.mean() / den.mean()
    psi = (num - r * den) / den.mean()
    return float(r), mean_se(psi)[1], psi


# --------------------------------------------------------------------------- probabilities

def wilson_interval(successes: Union[float, np.ndarray], n: Union[float, np.ndarray],
                    level: float = 0.95) -> Tuple:
    """Wilson score interval (lo, hi) of a binomial proportion successes / n.

    Works elementwise on numpy arrays. n may be non-integral (an effective
    sample size). n = 0 gives (0, 1).
    """
    z = z_value(level)
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(m > 0, k / np.where(m > 0, m, 1.0), 0.5)
        z2n = np.where(m > 0, z * z / np.where(m > 0, m, 1.0), np.inf)
        center = (p + 0.5 * z2n) / (1.0 + z2n)
        half = z / (1.0 + z2n) * np.sqrt(np.maximum(p * (1.0 - p) / np.where(m > 0, m, 1.0)
                                                    + 0.25 * z2n / np.where(m > 0, m, 1.0), 0.0))
    lo = np.where(m > 0, np.clip(center - half, 0.0, 1.0), 0.0)
    hi = np.where(m > 0, np.clip(center + half, 0.0, 1.0), 1.0)
    # exact at the ends: 0 successes have lower bound 0, all successes upper bound 1
    lo = np.where(k <= 0, 0.0, lo)
    hi = np.where((m > 0) & (k >= m), 1.0, hi)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def probability_ci(event: ArrayLike, level: float = 0.95,
                   weights: Optional[ArrayLike] = None) -> Estimate:
    """P(event) from a boolean per-path array, with the Wilson interval.

    se is the binomial sqrt(p (1 - p) / n); weighted: the unbiased importance-sampling estimate
    (1/n) sum w 1{event} with its sample SE and a normal interval.
    """
    flags = np.asarray(event).reshape(-1).astype(bool)
    n = len(flags)
    w = _as_weights(weights, n)
    if n == 0:
        return Estimate(float("nan"), 0.0, 1.0, float("nan"), level, 0, "wilson")
    if w is None:
        p = float(flags.mean())
        n_eff = float(n)
        ess = None
        method = "wilson"
    else:
        # the unbiased importance-sampling estimate (1/n) sum w 1{event}, normal interval
        p, se = mean_se(w * flags)
        z = z_value(level)
        return Estimate(p, max(0.0, p - z * se), min(1.0, p + z * se), se, level, n, "normal, importance sampling",
                        effective_sample_size(w))
    lo, hi = wilson_interval(p * n_eff, n_eff, level)
    return Estimate(p, lo, hi, math.sqrt(p * (1.0 - p) / n_eff), level, n, method, ess)


# --------------------------------------------------------------------------- tails

def _tail_q(prob: float, tail: str) -> float:
    if not 0.0 < prob < 1.0:
        raise ValueError(f"VaR/ES probability must be in (0, 1), got {prob}")
    tail = normalize_tail(tail)
    # round: 1 - 0.95 is 0.050000000000000044, and np.quantile at it differs from the file's p5
    return prob if tail == HIGHER_IS_WORSE else round(1.0 - prob, 15)


def normalize_tail(tail: str) -> str:
    """'higher_is_worse'/'upper'/'higher' -> 'higher_is_worse'; 'lower_is_worse'/'lower' -> 'lower_is_worse'."""
    key = str(tail).lower()
    if key in (HIGHER_IS_WORSE, "upper", "higher", "high", "right"):
        return HIGHER_IS_WORSE
    if key in (LOWER_IS_WORSE, "lower", "low", "left"):
        return LOWER_IS_WORSE
    raise ValueError(f"unknown tail {tail!r}: use 'higher_is_worse' or 'lower_is_worse'")


LINEAR = "linear"
ORDER_STATISTIC = "order_statistic"


def _method(method: str) -> str:
    key = str(method).lower()
    if key == LINEAR:
        return LINEAR
    if key in (ORDER_STATISTIC, "inverted_cdf", "order"):
        return ORDER_STATISTIC
    raise ValueError(f"unknown quantile method {method!r}: use 'linear' (as the file's summary) "
                     "or 'order_statistic'")


def _order_rank(n: int, q: float) -> int:
    """1-based rank k = ceil(q n) (at least 1) of the order-statistic q quantile (numpy's inverted_cdf)."""
    return min(n, max(1, int(math.ceil(q * n))))


def quantile_ci(x: ArrayLike, q: float, level: float = 0.95, weights: Optional[ArrayLike] = None,
                n_boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED, method: str = LINEAR) -> Estimate:
    """The q quantile with a confidence interval.

    Unweighted: value = numpy.quantile(x, q) with method "linear" (the
    default, as the file's summary) or the order statistic X_(ceil(q n))
    (method="order_statistic", numpy's "inverted_cdf"); interval
    [X_(l), X_(u)] from :func:`quantile_ci_ranks` (distribution-free, the same
    for both). Weighted: value = :func:`weighted_quantile`, percentile-bootstrap
    interval.
    """
    _check_level(level)
    method = _method(method)
    values = _as_values(x)
    n = len(values)
    w = _as_weights(weights, n)
    if n == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, level, 0, "order statistics")
    if w is not None:
        return bootstrap_ci(values, lambda v, ww: weighted_quantile(v, ww, q), level=level,
                            n_boot=n_boot, seed=seed, weights=w, method="bootstrap, weighted quantile")
    sorted_values = np.sort(values)
    lower, upper = quantile_ci_ranks(n, q, level)
    lo = float(sorted_values[lower - 1]) if lower >= 1 else -math.inf
    hi = float(sorted_values[upper - 1]) if upper <= n else math.inf
    value = (float(np.quantile(sorted_values, q)) if method == LINEAR
             else float(sorted_values[_order_rank(n, q) - 1]))
    return Estimate(value, lo, hi, float("nan"), level, n, "order statistics")


def var_ci(x: ArrayLike, prob: float = 0.95, tail: str = HIGHER_IS_WORSE, level: float = 0.95,
           weights: Optional[ArrayLike] = None, n_boot: int = DEFAULT_BOOT,
           seed: int = DEFAULT_SEED, method: str = LINEAR) -> Estimate:
    """Value at risk at probability `prob` on the metric's risk tail, with a quantile CI.

    higher_is_worse: the prob quantile (e.g. p99 of bad debt); lower_is_worse:
    the 1 - prob quantile (e.g. p5 of PnL). In the metric's own sign, as
    FORMAT.md. method: see quantile_ci.
    """
    return quantile_ci(x, _tail_q(prob, tail), level, weights, n_boot, seed, method)


def expected_shortfall(x: ArrayLike, prob: float = 0.95, tail: str = HIGHER_IS_WORSE,
                       weights: Optional[ArrayLike] = None, method: str = LINEAR) -> float:
    """Expected shortfall at `prob` on the risk tail.

    method="linear" (default, FORMAT.md, equals the file's es95/es99): the mean
    of the values at or beyond VaR_prob, ties at the VaR included.
    method="order_statistic": the mean of the order statistics from the VaR
    rank k = ceil(q n) outward (the n - k + 1 largest for higher_is_worse, the
    k smallest for lower_is_worse), a fixed count whatever the ties: with many
    equal values (e.g. zero bad debt on most paths) the two differ a lot.
    Weighted: the weighted mean of the values at or beyond the weighted VaR.
    """
    values = _as_values(x)
    if len(values) == 0:
        return float("nan")
    tail = normalize_tail(tail)
    method = _method(method)
    q = _tail_q(prob, tail)
    w = _as_weights(weights, len(values))
    if w is None and method == ORDER_STATISTIC:
        sorted_values = np.sort(values)
        k = _order_rank(len(values), q)
        return float(sorted_values[k - 1:].mean() if tail == HIGHER_IS_WORSE else sorted_values[:k].mean())
    var = float(np.quantile(values, q)) if w is None else weighted_quantile(values, w, q)
    mask = values >= var if tail == HIGHER_IS_WORSE else values <= var
    if w is None:
        return float(values[mask].mean())
    return float(np.dot(w[mask], values[mask]) / w[mask].sum())


def _es_rows(samples: np.ndarray, q: float, tail: str, method: str = LINEAR) -> np.ndarray:
    """ES of every row of samples (b, n), unweighted (vectorised for the bootstrap)."""
    if method == ORDER_STATISTIC:
        # partition, then sort only the tail: the same values in the same order as a full sort,
        # so the same sums bit for bit, in O(n) instead of O(n log n) per row
        k = _order_rank(samples.shape[1], q)
        part = np.partition(samples, k - 1, axis=1)
        tail_part = part[:, k - 1:] if tail == HIGHER_IS_WORSE else part[:, :k]
        return np.sort(tail_part, axis=1).mean(axis=1)
    var = np.quantile(samples, q, axis=1)[:, None]
    mask = samples >= var if tail == HIGHER_IS_WORSE else samples <= var
    return (samples * mask).sum(axis=1) / mask.sum(axis=1)


def es_ci(x: ArrayLike, prob: float = 0.95, tail: str = HIGHER_IS_WORSE, level: float = 0.95,
          weights: Optional[ArrayLike] = None, n_boot: int = DEFAULT_BOOT,
          seed: int = DEFAULT_SEED, method: str = LINEAR) -> Estimate:
    """Expected shortfall at `prob` (see expected_shortfall for `method`) with a
    percentile-bootstrap interval (reproducible with `seed`)."""
    tail = normalize_tail(tail)
    method = _method(method)
    values = _as_values(x)
    if weights is not None:
        return bootstrap_ci(values, lambda v, ww: expected_shortfall(v, prob, tail, ww), level=level,
                            n_boot=n_boot, seed=seed, weights=weights, method="bootstrap, weighted")
    q = _tail_q(prob, tail)
    # resample the sorted values (ES does not depend on the order; this reproduces the resamples
    # crash_stress's study was published with, bit for bit)
    values = np.sort(values)
    estimate = bootstrap_ci(values, lambda s: _es_rows(s, q, tail, method), level=level, n_boot=n_boot,
                            seed=seed, vectorized=True)
    # the point estimate exactly as expected_shortfall defines it
    return Estimate(expected_shortfall(values, prob, tail, method=method), estimate.lo, estimate.hi,
                    estimate.se, level, estimate.n, estimate.method)


# --------------------------------------------------------------------------- the bootstrap

def bootstrap_ci(x: ArrayLike, statistic: Callable, level: float = 0.95, n_boot: int = DEFAULT_BOOT,
                 seed: int = DEFAULT_SEED, weights: Optional[ArrayLike] = None, vectorized: bool = False,
                 method: str = "bootstrap") -> Estimate:
    """Percentile bootstrap of `statistic` with numpy's Generator (PCG64) seeded by `seed`.

    statistic(values) -> float, or statistic(values, weights) -> float when
    weights are given (resampled in pairs with the values); with
    vectorized=True (unweighted only) statistic(matrix) takes a (b, n) matrix
    of b resamples and returns b values. se is the standard deviation of the
    bootstrap replicates; the interval their (1 -+ level)/2 quantiles. The same
    seed gives the same interval, bit for bit.
    """
    _check_level(level)
    values = _as_values(x)
    n = len(values)
    w = _as_weights(weights, n)
    if n == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, level, 0, method)
    if w is not None and vectorized:
        raise ValueError("bootstrap_ci: vectorized statistics take no weights")
    n_boot = int(n_boot)
    if n_boot < 2:
        raise ValueError("bootstrap_ci needs n_boot >= 2")
    rng = np.random.default_rng(seed)
    replicates = np.empty(n_boot)
    batch = max(1, (1 << 21) // n)  # resamples per draw: fixed by n, so results do not depend on memory
    done = 0
    while done < n_boot:
        b = min(batch, n_boot - done)
        index = rng.integers(0, n, size=(b, n))
        if vectorized:
            replicates[done:done + b] = statistic(values[index])
        elif w is None:
            for j in range(b):
                replicates[done + j] = statistic(values[index[j]])
        else:
            for j in range(b):
                replicates[done + j] = statistic(values[index[j]], w[index[j]])
        done += b
    value = float(statistic(values[None, :])[0]) if vectorized else float(
        statistic(values) if w is None else statistic(values, w))
    alpha = round(0.5 * (1.0 - level), 15)  # 0.025, not 0.025000000000000022, for level 0.95
    lo, hi = (float(v) for v in np.quantile(replicates, [alpha, 1.0 - alpha]))
    ess = effective_sample_size(w) if w is not None else None
    return Estimate(value, lo, hi, float(replicates.std(ddof=1)), level, n,
                    f"{method} ({n_boot} resamples, seed {seed})", ess)


# --------------------------------------------------------------------------- by name

_PROB_RE = re.compile(r"^prob\s*(>=|<=|>|<|==)\s*(.+)$")
_STAT_RE = re.compile(r"^(p|var|es)(\d+(?:\.\d+)?)$")


def estimate(x: ArrayLike, statistic: Union[str, float, Callable] = "mean", tail: str = HIGHER_IS_WORSE,
             level: float = 0.95, weights: Optional[ArrayLike] = None, n_boot: int = DEFAULT_BOOT,
             seed: int = DEFAULT_SEED, method: str = LINEAR) -> Estimate:
    """One statistic of x by name, with its interval:

    * "mean" (normal CI), "median", "pNN" (the NN% quantile, e.g. "p5", "p99.9"),
      or a float q in (0, 1): quantile, order-statistic CI;
    * "varNN", "esNN" (NN% on the risk `tail`, e.g. "var99", "es95");
    * "prob>T", "prob>=T", "prob<T", "prob<=T", "prob==T": P(X op T), Wilson CI;
    * a callable f(values) -> float (f(values, weights) when weighted): bootstrap CI.

    method: quantile/VaR/ES definition, "linear" or "order_statistic" (see es_ci).
    """
    if callable(statistic):
        return bootstrap_ci(x, statistic, level=level, n_boot=n_boot, seed=seed, weights=weights)
    if isinstance(statistic, (float, np.floating)):
        return quantile_ci(x, float(statistic), level, weights, n_boot, seed, method)
    name = str(statistic).strip().lower()
    if name == "mean":
        return mean_ci(x, level, weights)
    if name == "median":
        return quantile_ci(x, 0.5, level, weights, n_boot, seed, method)
    match = _PROB_RE.match(name)
    if match:
        op, threshold = match.group(1), float(match.group(2))
        values = _as_values(x)
        event = {">": values > threshold, ">=": values >= threshold, "<": values < threshold,
                 "<=": values <= threshold, "==": values == threshold}[op]
        return probability_ci(event, level, weights)
    match = _STAT_RE.match(name)
    if match:
        kind, percent = match.group(1), float(match.group(2))
        prob = percent / 100.0
        if kind == "p":
            return quantile_ci(x, prob, level, weights, n_boot, seed, method)
        if kind == "var":
            return var_ci(x, prob, tail, level, weights, n_boot, seed, method)
        return es_ci(x, prob, tail, level, weights, n_boot, seed, method)
    raise ValueError(f"unknown statistic {statistic!r}: use mean, median, pNN, varNN, esNN, "
                     "prob>T (and >=, <, <=, ==), a probability in (0, 1) or a function")


def percent_label(prob: float) -> str:
    """0.95 -> '95', 0.999 -> '99.9' (for keys like 'var95')."""
    return f"{prob * 100:.10g}"


def summarize(x: ArrayLike, tail: str = HIGHER_IS_WORSE, level: float = 0.95,
              probs: Iterable[float] = (0.95, 0.99), weights: Optional[ArrayLike] = None,
              n_boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED, method: str = LINEAR
              ) -> Dict[str, object]:
    """{"n", "mean", "var95", "es95", "var99", "es99", ...} (Estimates), plus "ess" when weighted.

    With method="linear" (default) the point values of mean, varNN and esNN
    equal the file's summary columns (unweighted).
    """
    values = _as_values(x)
    result: Dict[str, object] = {"n": len(values), "mean": mean_ci(values, level, weights)}
    for prob in probs:
        label = percent_label(prob)
        result[f"var{label}"] = var_ci(values, prob, tail, level, weights, n_boot, seed, method)
        result[f"es{label}"] = es_ci(values, prob, tail, level, weights, n_boot, seed, method)
    if weights is not None:
        result["ess"] = effective_sample_size(weights)
    return result
