"""Probabilistic lifetime-value models: BG/NBD with Gamma-Gamma, and shifted-beta-geometric.

Non-contractual buying (customers buy when they like; nobody tells you they left):

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while
  alive, a customer buys at rate lambda ~ Gamma(r, alpha); after each purchase the
  customer drops out with probability p ~ Beta(a, b). Per customer the data are
  frequency x (repeat purchases), recency t_x (time of the last purchase since the first)
  and T (time since the first purchase). The four parameters are fitted by maximum
  likelihood over the population; per customer the model gives the probability of being
  alive and the expected purchases in the next t periods.
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves"): the
  average value of a customer's purchases, given x purchases averaging m, is
  (gamma + m x) p / (p x + q - 1); fitted on customers with repeat purchases (x > 0).

Contractual renewals (a customer either renews each period or leaves, and we see it):

- Shifted-beta-geometric (Fader & Hardie 2007, "How to project customer retention"):
  each customer churns with probability theta ~ Beta(a, b) per period. The chance of
  renewing after period t, across survivors, is (b + t - 1) / (a + b + t - 1): it rises
  with tenure, because the customers likely to churn leave first.

Everything here is numpy and scipy: fits are deterministic (fixed starting points, one
optimiser), so the same population always gives the same parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters (time in the unit of the data)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters (spend in the unit of the data)."""

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class Sbg:
    """Fitted shifted-beta-geometric parameters (churn probability ~ Beta(a, b))."""

    a: float
    b: float


LOG_BOUND = 10.0
"""Parameters stay within e^-10 .. e^10: a population that buys every month drives BG/NBD
towards its Poisson limit (r, alpha and b without end), where the formulas overflow."""


def _minimise(loss: Callable[[Array], float], start: Array) -> Array:
    """Minimise over bounded log-parameters (keeps them positive): Nelder-Mead, then L-BFGS-B."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    first = optimize.minimize(loss, start, method="Nelder-Mead", bounds=bounds,
                              options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-10})  # fmt: skip
    second = optimize.minimize(loss, first.x, method="L-BFGS-B", bounds=bounds)
    best = second.x if second.fun <= first.fun else first.x
    return np.exp(np.asarray(best, dtype=np.float64))


def bgnbd_log_likelihood(params: BgNbd, x: Array, t_x: Array, big_t: Array) -> Array:
    """Per-customer log-likelihood of the BG/NBD model (equation 6 of the 2005 paper)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    shared = (
        special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        + special.betaln(a, b + x) - special.betaln(a, b)
    )  # fmt: skip
    first = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        second = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return np.asarray(shared + np.logaddexp(first, second), dtype=np.float64)


def fit_bgnbd(x: Array, t_x: Array, big_t: Array) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for frequency, recency and T."""

    def loss(theta: Array) -> float:
        r, alpha, a, b = np.exp(theta)
        ll = bgnbd_log_likelihood(BgNbd(r, alpha, a, b), x, t_x, big_t)
        return float(-ll.sum()) if np.isfinite(ll).all() else 1e300

    r, alpha, a, b = _minimise(loss, np.log(np.array([0.5, 5.0, 0.5, 2.0])))
    return BgNbd(float(r), float(alpha), float(a), float(b))


def probability_alive(params: BgNbd, x: Array, t_x: Array, big_t: Array) -> Array:
    """P(still alive | x, t_x, T) under BG/NBD; 1 for customers without repeat purchases."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = (a / (b + np.maximum(x, 1.0) - 1.0)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    return np.asarray(np.where(x > 0, 1.0 / (1.0 + ratio), 1.0), dtype=np.float64)


def expected_purchases(params: BgNbd, t: float, x: Array, t_x: Array, big_t: Array) -> Array:
    """E[purchases in (T, T + t] | x, t_x, T] under BG/NBD (equation 10 of the 2005 paper).

    Where the hypergeometric function overflows (parameters near the Poisson limit), the
    expectation is taken as P(alive) x t x (r + x) / (alpha + T): the customer's posterior
    purchase rate, without dropping out within t.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + big_t + t)
    alive = probability_alive(params, x, t_x, big_t)
    with np.errstate(all="ignore"):
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        head = (a + b + x - 1.0) / (a - 1.0)
        body = 1.0 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp
        # P(alive) carries the (1 + [x > 0] a / (b + x - 1) (...)^(r + x)) denominator.
        exact = head * body * alive
    rate = alive * t * (r + x) / (alpha + big_t)
    ok = np.isfinite(exact) & (exact >= 0)
    return np.asarray(np.where(ok, exact, rate), dtype=np.float64)


def fit_gamma_gamma(x: Array, m: Array) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters on customers with x > 0 and m > 0."""
    keep = (x > 0) & (m > 0)
    xs, ms = x[keep], m[keep]

    def loss(theta: Array) -> float:
        p, q, g = np.exp(theta)
        ll = (
            special.gammaln(p * xs + q) - special.gammaln(p * xs) - special.gammaln(q)
            + q * np.log(g) + (p * xs - 1) * np.log(ms) + p * xs * np.log(xs)
            - (p * xs + q) * np.log(g + ms * xs)
        )  # fmt: skip
        return float(-ll.sum()) if np.isfinite(ll).all() else 1e300

    p, q, g = _minimise(loss, np.log(np.array([1.0, 1.0, 1.0])))
    return GammaGamma(float(p), float(q), float(g))


def expected_spend(params: GammaGamma, x: Array, m: Array) -> Array:
    """E[average purchase value | x, m]: the population mean where x = 0."""
    p, q, g = params.p, params.q, params.gamma
    population = p * g / (q - 1.0) if q > 1.0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        own = (g + m * x) * p / (p * x + q - 1.0)
    return np.asarray(np.where(x > 0, own, population), dtype=np.float64)


def fit_sbg(periods: Array, churned: Array) -> Sbg:
    """Maximum-likelihood sBG parameters from each customer's periods and whether it left.

    A customer who left after `periods` renewals contributes P(T = periods + 1); one still
    active after `periods` periods contributes S(periods) (both from Fader & Hardie 2007).
    """
    t = np.maximum(periods, 0.0)
    left = churned.astype(bool)

    def loss(theta: Array) -> float:
        a, b = np.exp(theta)
        base = special.betaln(a, b)
        ll = np.where(
            left,
            special.betaln(a + 1.0, b + t) - base,
            special.betaln(a, b + t) - base,
        )
        return float(-ll.sum()) if np.isfinite(ll).all() else 1e300

    a, b = _minimise(loss, np.log(np.array([1.0, 1.0])))
    return Sbg(float(a), float(b))


def sbg_survival(a: float, b: float, tenure: Array, ahead: float) -> Array:
    """P(still a customer `ahead` periods from now | survived `tenure` periods) under sBG."""
    return np.asarray(
        np.exp(special.betaln(a, b + tenure + ahead) - special.betaln(a, b + tenure)),
        dtype=np.float64,
    )
