"""The sample population: customer archetypes and the accounts table.

Archetypes differ in every driver of the value matrix (docs/value-model.md): trailing
revenue, contribution margin, revenue volatility, ticket load and effort, payment
behaviour and ICP fit. The ICP is industry Machinery / Manufacturing / Electronics,
50-999 employees, in Germany, Austria or Switzerland.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

ARCHETYPES = ("core", "loud", "grower", "noise")
"""core: high margin, low effort, recurring, pays on time, ICP fit; loud: large, low margin,
many tickets and escalations, pays late, low fit; grower: small, high fit, growing; noise."""
SHARES = (0.25, 0.10, 0.15, 0.50)


@dataclass(frozen=True)
class Params:
    """Per-archetype parameters, each a tuple indexed like ARCHETYPES."""

    revenue_median: tuple[float, ...] = (120e3, 400e3, 35e3, 60e3)
    revenue_sigma: tuple[float, ...] = (0.5, 0.5, 0.5, 0.9)
    margin: tuple[float, ...] = (0.35, 0.11, 0.38, 0.22)
    margin_sd: tuple[float, ...] = (0.03, 0.03, 0.04, 0.08)
    revenue_cv: tuple[float, ...] = (0.05, 0.6, 0.10, 0.3)
    zero_month_p: tuple[float, ...] = (0.0, 0.2, 0.0, 0.08)
    growth: tuple[float, ...] = (0.0, 0.0, 0.05, 0.0)
    tickets: tuple[float, ...] = (0.8, 14.0, 1.2, 2.6)
    escalation_p: tuple[float, ...] = (0.02, 0.25, 0.03, 0.08)
    special_p: tuple[float, ...] = (0.03, 0.35, 0.04, 0.10)
    effort_hours: tuple[float, ...] = (1.5, 6.0, 1.5, 3.0)
    late_days: tuple[float, ...] = (-3.0, 30.0, -2.0, 6.0)
    late_sd: tuple[float, ...] = (2.0, 20.0, 3.0, 12.0)
    icp_p: tuple[float, ...] = (0.85, 0.10, 0.85, 0.35)
    employees: tuple[float, ...] = (250.0, 3000.0, 60.0, 200.0)
    opportunities: tuple[float, ...] = (3.0, 3.6, 2.6, 2.9)
    win_p: tuple[float, ...] = (0.8, 0.55, 0.7, 0.55)
    tenure_min: tuple[int, ...] = (12, 12, 3, 1)
    tenure_max: tuple[int, ...] = (60, 60, 18, 60)

    def of(self, name: str, kind: np.ndarray) -> np.ndarray:
        """The parameter `name` for each account of archetype codes `kind`."""
        return np.asarray(np.asarray(getattr(self, name))[kind])


PARAMS = Params()

ICP_INDUSTRIES = ("Machinery", "Manufacturing", "Electronics")
OTHER_INDUSTRIES = (
    "Retail", "Shipping", "Food & Beverage", "Construction", "Consulting", "Technology",
    "Chemicals", "Healthcare", "Transportation", "Telecommunications", "Energy", "Apparel",
)  # fmt: skip
ICP_REGIONS = ("Germany", "Austria", "Switzerland")
OTHER_REGIONS = (
    "United Kingdom", "Ireland", "United States", "France", "Netherlands", "Italy", "Spain",
    "Belgium",
)  # fmt: skip
CURRENCY = {"United Kingdom": "GBP", "United States": "USD"}
"""Invoicing currency by region; every other region is invoiced in EUR."""
EUR_RATE = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85}
"""Units of each currency per EUR, for deal and invoice amounts in the customer's currency."""
LEGAL = {
    "Germany": ("GmbH", "de"), "Austria": ("GmbH", "at"), "Switzerland": ("AG", "ch"),
    "United Kingdom": ("Ltd", "co.uk"), "Ireland": ("Ltd", "ie"), "United States": ("Inc.", "com"),
    "France": ("SAS", "fr"), "Netherlands": ("B.V.", "nl"), "Italy": ("S.p.A.", "it"),
    "Spain": ("S.L.", "es"), "Belgium": ("NV", "be"),
}  # fmt: skip
STEMS = (
    "Nord", "Sued", "West", "Ost", "Rhein", "Alpen", "Donau", "Elb", "Main", "Isar", "Hansa",
    "Falk", "Adler", "Linden", "Berg", "Tal", "Stern", "Blau", "Gruen", "Silber", "Eisen",
    "Kupfer", "Stahl", "Licht", "Kraft", "Fein", "Vario", "Prima", "Optima", "Delta", "Sigma",
    "Omega", "Astra", "Nova", "Terra", "Aqua", "Helio", "Vector", "Orbit", "Quantum", "Atlas",
    "Titan", "Zenit", "Polar", "Kobalt", "Granit", "Basalt", "Cedar", "Maple", "Harbor",
    "Falcon", "Summit", "Pioneer", "Crest", "Meridian", "Apex", "Vertex", "Nexus", "Lumen",
    "Argon", "Boreal", "Cirrus", "Dyna", "Ember", "Fjord", "Garnet", "Horizon", "Ion", "Jade",
    "Kestrel", "Lotus", "Magna", "Nimbus", "Onyx", "Pylon", "Quarz", "Rubin", "Saphir",
    "Tundra", "Umbra",
)  # fmt: skip
ENDINGS = (
    "werk", "tec", "tronic", "form", "line", "mark", "haus", "sys", "gate", "field", "point",
    "works", "craft", "bridge", "stone", "wave", "flow", "port", "land", "way", "dyn", "plan",
    "lab", "star", "net", "cor", "tex", "fab", "met", "pro",
)  # fmt: skip
DESCRIPTORS = (
    "Systems", "Solutions", "Components", "Logistics", "Automation", "Industries", "Technik",
    "Engineering", "Trading", "Supply", "Services", "Analytics", "Devices", "Materials",
    "Robotics", "Dynamics", "Instruments", "Controls", "Foods", "Packaging", "Metals",
    "Plastics", "Energy", "Electronics", "Optics", "Tools", "Motion", "Fluidics", "Sensors",
    "Labs", "Group", "Partners", "Digital", "Networks", "Retail", "Health", "Mobility",
    "Textiles", "Hydraulics", "Coatings",
)  # fmt: skip
OWNERS = tuple(f"U{i:02d}" for i in range(1, 13))
"""Canonical owner keys; each loader maps them to its CRM's users / owners."""


@dataclass(frozen=True)
class Population:
    """Accounts plus the hidden per-account drivers the other tables are drawn from."""

    accounts: pd.DataFrame
    kind: np.ndarray
    """Archetype code per account (index into ARCHETYPES)."""
    erp: np.ndarray
    """The ERP customer id of each account (the CRM's erp_id may be missing)."""
    currency: np.ndarray
    revenue_t12: np.ndarray
    """Target revenue over the trailing 12 months, in the account's currency."""
    margin: np.ndarray
    tenure_months: np.ndarray
    created_s: np.ndarray
    """Account creation time, seconds since the epoch (UTC)."""

    @property
    def size(self) -> int:
        return len(self.kind)


def take_str(values: np.ndarray | pd.Series, idx: np.ndarray) -> pd.Series:
    """`values[idx]` as a string Series; an Arrow `take`, far faster than building from objects."""
    return pd.Series(values, dtype="str").take(idx).reset_index(drop=True)


def as_of_end_s(as_of: date) -> int:
    """The last second of `as_of` (UTC) as epoch seconds."""
    return int(pd.Timestamp(as_of, tz="UTC").timestamp()) + 86_399


def make_population(rng: np.random.Generator, n: int, as_of: date) -> Population:
    """Archetypes, drivers and the canonical accounts frame; rows 0 and 1 are customers A and B."""
    kind = rng.choice(len(ARCHETYPES), size=n, p=SHARES)
    kind[0], kind[1] = 0, 1
    p = PARAMS
    revenue = p.of("revenue_median", kind) * np.exp(rng.normal(0, p.of("revenue_sigma", kind)))
    margin = np.clip(rng.normal(p.of("margin", kind), p.of("margin_sd", kind)), -0.1, 0.6)
    tenure = rng.integers(p.of("tenure_min", kind), p.of("tenure_max", kind) + 1)
    revenue[:2], margin[:2], tenure[:2] = 100_000.0, (0.35, 0.12), (40, 30)
    industry, region, employees = _firmographics(rng, kind)
    end = as_of_end_s(as_of)
    created = end - tenure * 30 * 86_400 - rng.integers(0, 20 * 86_400, n)
    modified = end - (rng.random(n) * np.minimum(end - created, 180 * 86_400)).astype(np.int64)
    names, domains = _names(rng, region)
    currency = pd.Series(region).map(CURRENCY).fillna("EUR").to_numpy(dtype=object)
    erp = np.char.add("C", (np.arange(n) + 100_001).astype(str)).astype(object)
    accounts = pd.DataFrame(
        {
            "account_id": np.char.add("S", np.char.zfill((np.arange(n) + 1).astype(str), 7)),
            "name": names,
            "domain": domains,
            "erp_id": erp.copy(),
            "industry": industry,
            "employees": employees.astype(np.int64),
            "annual_revenue": np.round(employees * 180_000 * np.exp(rng.normal(0, 0.4, n)), -3),
            "region": region,
            "owner_id": np.asarray(OWNERS, dtype=object)[rng.integers(0, len(OWNERS), n)],
            "created_at": pd.to_datetime(created, unit="s", utc=True),
            "modified_at": pd.to_datetime(modified, unit="s", utc=True),
        }
    )
    return Population(accounts, kind, erp, currency, revenue, margin, tenure, created)


def _firmographics(
    rng: np.random.Generator, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Industry, region and employees: ICP matches drawn per attribute with the archetype's odds."""
    n = len(kind)
    icp = PARAMS.of("icp_p", kind)
    industry = np.where(
        rng.random(n) < icp,
        np.asarray(ICP_INDUSTRIES, dtype=object)[rng.integers(0, len(ICP_INDUSTRIES), n)],
        np.asarray(OTHER_INDUSTRIES, dtype=object)[rng.integers(0, len(OTHER_INDUSTRIES), n)],
    )
    region = np.where(
        rng.random(n) < icp,
        np.asarray(ICP_REGIONS, dtype=object)[rng.integers(0, len(ICP_REGIONS), n)],
        np.asarray(OTHER_REGIONS, dtype=object)[rng.integers(0, len(OTHER_REGIONS), n)],
    )
    employees = np.maximum(
        5, np.round(PARAMS.of("employees", kind) * np.exp(rng.normal(0, 0.5, n)))
    )
    industry[:2] = ("Machinery", "Retail")
    region[:2] = ("Germany", "Ireland")
    employees[:2] = (180, 2400)
    return industry, region, employees


def _names(rng: np.random.Generator, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique company names with the region's legal form, and matching web domains."""
    n = len(region)
    combos = len(STEMS) * len(ENDINGS) * len(DESCRIPTORS)
    pick = rng.choice(combos, size=min(n, combos), replace=False)
    if n > combos:  # beyond the combination space, repeat combinations with a number
        pick = np.concatenate([pick, rng.integers(0, combos, n - combos)])
    stem = np.asarray(STEMS, dtype=object)[pick % len(STEMS)]
    ending = np.asarray(ENDINGS, dtype=object)[(pick // len(STEMS)) % len(ENDINGS)]
    desc = np.asarray(DESCRIPTORS, dtype=object)[pick // (len(STEMS) * len(ENDINGS))]
    base = pd.Series(stem + ending + " " + desc)
    dup = base.groupby(base).cumcount().to_numpy()
    base = base.where(dup == 0, base + " " + (dup + 1).astype(str))
    legal = pd.Series(region).map(lambda r: LEGAL[r][0])
    tld = pd.Series(region).map(lambda r: LEGAL[r][1])
    names = (base + " " + legal).to_numpy(dtype=object)
    slug = base.str.lower().str.replace(" ", "-", regex=False)
    domains = (slug + "." + tld).to_numpy(dtype=object)
    names[:2] = ("Alpha Precision GmbH", "Beta Bulk Trading Ltd")
    domains[:2] = ("alpha-precision.de", "beta-bulk.ie")
    return names, domains
