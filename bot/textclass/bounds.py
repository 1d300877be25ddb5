"""Clopper-Pearson bounds for calibrating thresholds by fixed-sequence testing (routing's per
route, the content filter's allow and block thresholds)."""

from __future__ import annotations


def clopper_pearson_upper(errors: int, total: int, confidence: float) -> float:
    """One-sided upper confidence bound of a binomial proportion."""
    from scipy.stats import beta

    if total == 0:
        return 1.0
    if errors >= total:
        return 1.0
    return float(beta.ppf(confidence, errors + 1, total - errors))


def smallest_sample(alpha: float, confidence: float, errors: int = 1) -> int:
    """The fewest predictions with `errors` wrong whose error bound is at most `alpha`."""
    low, high = errors + 1, 1
    while clopper_pearson_upper(errors, high, confidence) > alpha:
        high *= 2
        if high > 1_000_000:
            return high
    while low < high:  # the bound falls as n grows
        middle = (low + high) // 2
        if clopper_pearson_upper(errors, middle, confidence) <= alpha:
            high = middle
        else:
            low = middle + 1
    return low
