"""The scenario file's schema: every key, its type, its bounds and its message.

One table per TOML section maps each allowed key to a parser that turns a TOML
value into a Python value or raises InputError naming the key (``key
tiers[1].share``) and what was expected. Keeping the schema as data means an
unknown key can always be answered with the closest known one, and the docs,
the checks and the messages cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bayescap.errors import InputError, ModelError
from bayescap.inputs.csvfile import did_you_mean
from bayescap.inputs.names import EVENT_TYPE_RE, IDENTIFIER_RE, SCENARIO_NAME_RE
from bayescap.inputs.scenario_types import WEEKDAYS

KIND = "scenario TOML"
SCHEMA_VERSION = 1
MAX_HORIZON_DAYS = 1826  # five years
_WEEKDAY_ABBR = {w[:3]: i for i, w in enumerate(WEEKDAYS)}

Parser = Callable[[str, Any, str], Any]  # (path, value, key) -> parsed value


# ---------------------------------------------------------------- value parsers


def show(value: Any) -> str:
    """A TOML value as the message shows it, with its type when that is the problem."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {text!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dt.datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, dt.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def key_text(key: Any) -> str:
    """A key as a message shows it: as written, or quoted and escaped when it holds a newline or another control
    character (a message is one line)."""
    key = str(key)
    return key if key.isprintable() else ascii(key)


def fail(path: str, key: str, expected: str) -> InputError:
    return InputError(path, f"key {key_text(key)}", expected)


def _integer(lo: int | None = None, hi: int | None = None, what: str = "an integer") -> Parser:
    def parse(path: str, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = " (remove the quotes)" if isinstance(value, str) and value.strip().lstrip("-").isdigit() else ""
            raise fail(path, key, f"{what}, got {show(value)}{hint}")
        if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
            raise fail(path, key, f"{what}, got {show(value)} (not a whole number)")
        n = int(value)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise fail(path, key, f"{what}, got {n}")
        return n

    return parse


def _number(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    what: str = "a number",
    nan_means_none: bool = False,
    percent_hint: bool = False,
) -> Parser:
    def parse(path: str, value: Any, key: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = ""
            if isinstance(value, str):
                v = value.strip().rstrip("%").replace("_", "")
                try:
                    float(v)
                    hint = " (write the number without quotes or %)"
                except ValueError:
                    pass
            raise fail(path, key, f"{what}, got {show(value)}{hint}")
        x = float(value)
        if math.isnan(x) and nan_means_none:
            return None
        if not math.isfinite(x):
            raise fail(path, key, f"{what}, got {x} (not a finite number)")
        low_bad = lo is not None and (x <= lo if lo_open else x < lo)
        high_bad = hi is not None and x > hi
        if low_bad or high_bad:
            hint = ""
            if percent_hint and hi is not None and hi <= 1 and 2 <= x <= 100:
                hint = f" (a fraction, not a percentage: write {x / 100:g} for {x:g} %)"
            raise fail(path, key, f"{what}, got {show(x)}{hint}")
        return x

    return parse


def _choice(options: Sequence[str]) -> Parser:
    def parse(path: str, value: Any, key: str) -> str:
        if not isinstance(value, str) or value not in options:
            hint = did_you_mean(value, options) if isinstance(value, str) else ""
            shown = " or ".join(f"'{o}'" for o in options)
            raise fail(path, key, f"{shown}, got {show(value)}{hint}")
        return value

    return parse


def parse_date(path: str, value: Any, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise fail(path, key, f"a date (YYYY-MM-DD, no time of day), got {show(value)}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise fail(path, key, f"a real calendar date, got {show(value)}") from None
    raise fail(path, key, f"a date as YYYY-MM-DD, got {show(value)}")


def _dates(path: str, value: Any, key: str) -> tuple[dt.date, ...]:
    if not isinstance(value, list):
        raise fail(path, key, f"an array of dates (e.g. [\"2026-11-27\"]), got {show(value)}")
    return tuple(parse_date(path, v, f"{key}[{i}]") for i, v in enumerate(value))


def _text(max_len: int = 500) -> Parser:
    def parse(path: str, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise fail(path, key, f"a string, got {show(value)}")
        if len(value) > max_len:
            raise fail(path, key, f"a string of at most {max_len} characters, got {len(value)}")
        return value

    return parse


def _matching(pattern: re.Pattern[str], what: str) -> Parser:
    """A string that matches ``pattern`` entirely; else the error says ``what`` was expected."""

    def parse(path: str, value: Any, key: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise fail(path, key, f"{what}, got {show(value)}")
        return value

    return parse


_name = _matching(SCENARIO_NAME_RE, "a scenario name of 1 to 64 letters, digits, '-' or '_' (it becomes a directory name under reports/)")
_event_type = _matching(
    EVENT_TYPE_RE, "an event type of lower-case letters, digits and '_' (the <type> of a traffic column event_<type>)"
)


def _identifier(what: str) -> Parser:
    return _matching(IDENTIFIER_RE, f"{what} (letters, digits, '_.:+-')")


def _weekday(path: str, value: Any, key: str) -> int:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in WEEKDAYS:
            return WEEKDAYS.index(low)
        if low in _WEEKDAY_ABBR:
            return _WEEKDAY_ABBR[low]
        hint = did_you_mean(low, WEEKDAYS)
        raise fail(path, key, f"a weekday name (monday .. sunday), got {show(value)}{hint}")
    raise fail(path, key, f"a weekday name such as \"thursday\", got {show(value)}")


def _prior_values(path: str, value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise fail(path, key, f"a table of prior settings (e.g. {{ noise_rel_sd = 0.2 }}), got {show(value)}")
    out: dict[str, Any] = {}
    for k, v in value.items():
        sub = f"{key}.{k}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", k):
            raise fail(path, sub, "a prior name of letters, digits and '_'")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
            raise fail(path, sub, f"a finite number, got {show(v)}")
        out[k] = float(v)
    return out


def _model_priors(model: str) -> Parser:
    """Prior settings for ``model``, checked against the model's own names and bounds when the file is read,
    so that `bayescap check` catches a typo or an impossible value before any fitting (the model modules'
    prior tables are plain Python: reading them builds nothing and imports no PyMC)."""

    def parse(path: str, value: Any, key: str) -> dict:
        out = _prior_values(path, value, key)
        if model == "capacity":
            from bayescap.models.capacity_priors import DEFAULT_PRIORS, merge_priors
        else:
            from bayescap.models.traffic_priors import DEFAULT_PRIORS, merge_priors
        for k, v in out.items():
            if k not in DEFAULT_PRIORS:
                hint = did_you_mean(k, DEFAULT_PRIORS, otherwise=f"; known: {', '.join(sorted(DEFAULT_PRIORS))}")
                raise fail(path, f"{key}.{k}", f"a known {model} prior, got '{k}'{hint}")
            try:
                merge_priors({k: v})
            except ModelError as exc:
                raise fail(path, f"{key}.{k}", str(exc)) from None
        return out

    return parse


# ---------------------------------------------------------------- schema


@dataclass(frozen=True)
class Field:
    parse: Parser | None  # None for nested sections handled separately
    required: bool = False


def _traffic_model_options(path: str, value: Any, key: str) -> dict:
    """``[traffic] model = { knot_spacing = 14, ... }``: options of the traffic model, checked against the model's
    own names, types and bounds when the file is read (``competitor_events`` has its own key)."""
    from bayescap.models.traffic_priors import DEFAULT_OPTIONS, check_option

    if not isinstance(value, dict):
        raise fail(path, key, f"a table of traffic-model options (e.g. {{ knot_spacing = 14 }}), got {show(value)}")
    known = [k for k in DEFAULT_OPTIONS if k != "competitor_events"]
    for k, v in value.items():
        sub = f"{key}.{k}"
        if k == "competitor_events":
            raise fail(path, sub, "competitor_events in [traffic] itself, not in its model table")
        if k not in known:
            hint = did_you_mean(str(k), known, otherwise=f"; known: {', '.join(sorted(known))}")
            raise fail(path, sub, f"a traffic-model option, got '{k}'{hint}")
        try:
            check_option(k, v)
        except (ModelError, TypeError, ValueError) as exc:
            raise fail(path, sub, str(exc)) from None
    return dict(value)


TRAFFIC = {
    "requests_per_visit": Field(
        _number(0, 1e6, lo_open=True, what="HTTP requests per visit, a number > 0"), required=True
    ),
    "competitor_events": Field(_choice(("effect", "exclude"))),
    "growth_pct_per_month": Field(
        _number(-100, 100, lo_open=True, what="a growth in percent per month above -100 and at most 100 "
                "(5.0 = 5 %/month; nan = the model's trend)", nan_means_none=True)
    ),
    "model": Field(_traffic_model_options),
}
EVENT = {
    "type": Field(_event_type, required=True),
    "weekday": Field(_weekday),
    "every_weeks": Field(_integer(1, 52, what="every_weeks, a whole number of weeks from 1 to 52")),
    "start": Field(parse_date),
    "end": Field(parse_date),
    "intensity": Field(
        _number(0, 100, what="an intensity >= 0 and at most 100 (1.0 = as strong as past events)")
    ),
    "dates": Field(_dates),
}
TIER = {
    "name": Field(_identifier("a tier name"), required=True),
    "share": Field(
        _number(0, 1, lo_open=True, what="a share of requests above 0 and at most 1", percent_hint=True),
        required=True,
    ),
    "instance_type": Field(_identifier("an instance type"), required=True),
    "config": Field(_identifier("a load-test config")),
    "cost_multiplier": Field(
        _number(0, 100, lo_open=True, what="a per-request cost multiplier above 0 and at most 100 (1.0 = unchanged)")
    ),
}
FLEET = {
    "policy": Field(_choice(("static", "autoscale"))),
    "target_utilisation": Field(
        _number(0, 1, lo_open=True, what="a target utilisation above 0 and at most 1", percent_hint=True)
    ),
    "overload_target": Field(
        _number(0, 0.5, lo_open=True, what="an acceptable overload probability above 0 and at most 0.5",
                percent_hint=True)
    ),
    "min_servers": Field(_integer(1, 100_000, what="min_servers, a whole number from 1 to 100000")),
    "provisioning_lag_hours": Field(
        _integer(0, 168, what="provisioning_lag_hours, a whole number of hours from 0 to 168")
    ),
}
FINANCE = {
    "cash_usd": Field(_number(0, 1e13, what="cash in USD, a number >= 0"), required=True),
    "monthly_burn_usd": Field(
        _number(0, 1e12, what="monthly burn in USD (without infrastructure), a number >= 0"), required=True
    ),
    "funding_date": Field(parse_date),
    "value_per_visitor_usd": Field(_number(0, 1e6, what="a value per visitor in USD, a number >= 0")),
    "ad_spend_per_extra_visitor_usd": Field(
        _number(0, 1e6, what="an ad spend per extra visitor in USD, a number >= 0")
    ),
}
PRIORS = {"capacity": Field(_model_priors("capacity")), "traffic": Field(_model_priors("traffic"))}
MAX_SWEEP_POINTS = 12


def _intensities(path: str, value: Any, key: str) -> tuple[float, ...]:
    what = f"an array of 2 to {MAX_SWEEP_POINTS} increasing intensities, each >= 0 and at most 100"
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_SWEEP_POINTS:
        got = f"an array of {len(value)}" if isinstance(value, list) else show(value)
        raise fail(path, key, f"{what}, got {got}")
    parse = _number(0, 100, what="an intensity >= 0 and at most 100 (1.0 = as strong as past events)")
    out = tuple(parse(path, v, f"{key}[{i}]") for i, v in enumerate(value))
    for i in range(1, len(out)):
        if not out[i] > out[i - 1]:
            raise fail(path, f"{key}[{i}]", f"{what}: {out[i]:g} does not exceed {out[i - 1]:g}")
    return out


def _event_types(path: str, value: Any, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise fail(path, key, "an event type or a non-empty array of them, got an empty array")
    return tuple(_event_type(path, v, f"{key}[{i}]" if isinstance(value, list) else key) for i, v in enumerate(items))


SWEEP = {
    "scenario": Field(_name),
    "event_types": Field(_event_types),
    "intensities": Field(_intensities, required=True),
    "min_runway_months": Field(_number(0, 1200, what="a runway in months, a number >= 0")),
}
TOP = {
    "schema_version": Field(None, required=True),
    "name": Field(_name),
    "description": Field(_text()),
    "seed": Field(_integer(0, 2**32 - 1, what="a seed, a whole number from 0 to 4294967295")),
    "start": Field(parse_date),
    "horizon_days": Field(
        _integer(1, MAX_HORIZON_DAYS, what=f"a horizon of 1 to {MAX_HORIZON_DAYS} days (at most 5 years)"),
        required=True,
    ),
    "traffic": Field(None, required=True),
    "events": Field(None),
    "tiers": Field(None, required=True),
    "fleet": Field(None),
    "finance": Field(None, required=True),
    "priors": Field(None),
    "scenarios": Field(None),
    "sweep": Field(None),
}
SECTIONS = {"traffic": TRAFFIC, "fleet": FLEET, "finance": FINANCE, "priors": PRIORS}
LISTS = {"events": EVENT, "tiers": TIER}
OVERRIDE_KEYS = [k for k in TOP if k not in ("schema_version", "scenarios", "sweep")]


def check_keys(path: str, table: dict, allowed: Iterable[str], prefix: str) -> None:
    allowed = list(allowed)
    for key in table:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed, 0.5, otherwise=f" (known keys: {', '.join(allowed)})")
            shown = f"'{key}'" if str(key).isprintable() else key_text(key)  # key_text quotes it already
            raise fail(path, f"{prefix}{key}", f"a known key, got {shown}{hint}")


def parse_table(path: str, table: Any, spec: dict[str, Field], prefix: str, *, partial: bool) -> dict:
    """Check a table's keys and each present value; in full mode also required keys."""
    if not isinstance(table, dict):
        raise fail(path, prefix.rstrip("."), f"a table, got {show(table)}")
    check_keys(path, table, spec, prefix)
    out: dict[str, Any] = {}
    for key, field in spec.items():
        if key in table:
            out[key] = field.parse(path, table[key], prefix + key) if field.parse else table[key]
        elif field.required and not partial:
            raise fail(path, prefix + key, f"a value for '{key}' (required), got nothing")
    return out


def parse_list(path: str, items: Any, spec: dict[str, Field], key: str, *, partial: bool) -> list[dict]:
    if not isinstance(items, list) or not all(isinstance(t, dict) for t in items):
        raise fail(path, key, f"an array of tables ([[{key.split('.')[-1]}]]), got {show(items)}")
    return [parse_table(path, t, spec, f"{key}[{i}].", partial=partial) for i, t in enumerate(items)]
