"""Typed, frozen scenario objects (the parsed form of the scenario TOML; see docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class EventRule:
    """A recurring (weekday, every N weeks) and/or one-off future event of one type."""

    type: str
    weekday: int | None = None  # 0 = Monday .. 6 = Sunday; None = only the one-off dates
    every_weeks: int = 1
    start: dt.date | None = None
    end: dt.date | None = None
    intensity: float = 1.0  # extra visitors over a normal day are multiplied by this
    dates: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class TierSpec:
    name: str
    share: float
    instance_type: str
    config: str | None = None
    cost_multiplier: float = 1.0


@dataclass(frozen=True)
class FleetPolicy:
    policy: str = "static"  # "static" | "autoscale"
    target_utilisation: float = 0.7
    overload_target: float = 0.05
    min_servers: int = 1
    provisioning_lag_hours: int = 1


@dataclass(frozen=True)
class Finance:
    cash_usd: float
    monthly_burn_usd: float
    funding_date: dt.date | None = None
    value_per_visitor_usd: float | None = None
    ad_spend_per_extra_visitor_usd: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    horizon_days: int
    requests_per_visit: float
    tiers: tuple[TierSpec, ...]
    finance: Finance
    fleet: FleetPolicy = field(default_factory=FleetPolicy)
    events: tuple[EventRule, ...] = ()
    seed: int | None = None
    start: dt.date | None = None
    competitor_events: str = "effect"  # "effect" | "exclude"
    traffic_model: dict = field(default_factory=dict, hash=False, compare=False)  # [traffic] model: model options
    growth_pct_per_month: float | None = None
    priors: dict = field(default_factory=dict, hash=False, compare=False)
    description: str = ""

    def tier(self, name: str) -> TierSpec:
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(name)


@dataclass(frozen=True)
class IntensitySweep:
    """``[sweep]``: one scenario re-simulated at several event intensities (how aggressive can the sales be?)."""

    scenario: str  # the scenario whose events are varied
    intensities: tuple[float, ...]  # increasing; each replaces the intensity of the swept events
    event_types: tuple[str, ...] = ()  # the event types varied (empty: every type of the scenario's events)
    min_runway_months: float | None = None  # the runway the answer must keep with 90% probability
