"""Read and validate the scenario TOML file (the calendar lives in calendar.py, re-exported here).

The file is data: it is parsed with :mod:`tomllib` and nothing in it is ever
evaluated or unpickled. Every key is checked against the schema in
docs/architecture.md, so a misspelt key (``horizon_day``) is an error that
names the closest valid key instead of a silently ignored setting.

Scenarios: the top level is the base scenario; each ``[[scenarios]]`` entry is
an override resolved on top of it:

* plain keys replace the base value; tables (``traffic``, ``fleet``,
  ``finance``) are merged key by key;
* what every scenario shares stays the base scenario's: ``seed``, ``priors``,
  ``traffic.competitor_events`` and ``traffic.model`` (the models are fitted
  once), and an override that changes one is an error;
* ``tiers`` are merged by ``name`` (a new name adds a tier, which then needs
  ``share`` and ``instance_type``);
* ``events`` replace the base events *of the same type*; other types are kept
  (``events = []`` removes all events).

Scenario names become directory names under ``reports/``; they are restricted to
``[A-Za-z0-9_-]{1,64}`` so that no name can escape that directory.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bayescap.errors import InputError
from bayescap.inputs.calendar import as_date, forecast_start, future_calendar
from bayescap.inputs.csvfile import did_you_mean, read_text
from bayescap.inputs.scenario_schema import (
    KIND,
    LISTS,
    OVERRIDE_KEYS,
    SCHEMA_VERSION,
    SECTIONS,
    SWEEP,
    TOP,
    check_keys,
    fail,
    parse_list,
    parse_table,
    show,
)
from bayescap.inputs.scenario_types import EventRule, Finance, FleetPolicy, IntensitySweep, Scenario, TierSpec

__all__ = ["read_scenarios", "read_scenario_file", "future_calendar", "forecast_start"]

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


# ---------------------------------------------------------------- resolution


@dataclass(frozen=True)
class _Entry:
    """One list item (tier or event) with the key it came from, for messages."""

    values: dict
    key: str


def _validate_document(path: str, doc: dict, prefix: str, *, partial: bool) -> dict:
    """Check keys and values of a whole scenario (base or override); returns parsed values.

    Lists are returned as lists of :class:`_Entry`, so later messages can name
    the array index the item came from.
    """
    allowed = TOP if not prefix else {k: TOP[k] for k in OVERRIDE_KEYS}
    check_keys(path, doc, allowed, prefix)
    out: dict[str, Any] = {}
    for key, field in allowed.items():
        if key not in doc:
            if field.required and not partial and key != "schema_version":
                raise fail(path, prefix + key, f"a value for '{key}' (required), got nothing")
            continue
        value = doc[key]
        if key in SECTIONS:
            out[key] = parse_table(path, value, SECTIONS[key], f"{prefix}{key}.", partial=True)
        elif key in LISTS:
            parsed = parse_list(path, value, LISTS[key], prefix + key, partial=partial and key == "tiers")
            out[key] = [_Entry(p, f"{prefix}{key}[{i}]") for i, p in enumerate(parsed)]
        elif key in ("scenarios", "schema_version", "sweep"):
            continue
        else:
            out[key] = field.parse(path, value, prefix + key)
    if not partial:
        for section in ("traffic", "finance"):
            parse_table(path, doc[section], SECTIONS[section], f"{prefix}{section}.", partial=False)
    return out


def _merge(base: dict, over: dict, path: str) -> dict:
    """Resolve an override on top of the parsed base (see the module docstring)."""
    merged = dict(base)
    for key, value in over.items():
        if key in SECTIONS:
            if key == "priors":
                priors = {k: dict(v) for k, v in base.get("priors", {}).items()}
                for group, settings in value.items():
                    priors[group] = {**priors.get(group, {}), **settings}
                merged["priors"] = priors
            else:
                merged[key] = {**base.get(key, {}), **value}
        elif key == "tiers":
            tiers = [_Entry(dict(e.values), e.key) for e in base.get("tiers", [])]
            for entry in value:
                for i, t in enumerate(tiers):
                    if t.values["name"] == entry.values["name"]:
                        tiers[i] = _Entry({**t.values, **entry.values}, entry.key)
                        break
                else:
                    for req in ("share", "instance_type"):
                        if req not in entry.values:
                            raise fail(
                                path,
                                f"{entry.key}.{req}",
                                f"a value for '{req}' (tier '{entry.values['name']}' is not in the base "
                                "scenario, so this adds a tier), got nothing",
                            )
                    tiers.append(entry)
            merged["tiers"] = tiers
        elif key == "events" and not value:
            merged["events"] = []  # `events = []`: a scenario without any future events
        elif key == "events":
            replaced = {e.values["type"] for e in value}
            merged["events"] = [e for e in base.get("events", []) if e.values["type"] not in replaced] + list(value)
        else:
            merged[key] = value
    if "description" not in over:
        merged.pop("description", None)  # the base's description does not describe the variant
    return merged


def _build(path: str, values: dict, prefix: str) -> Scenario:
    """Turn resolved, parsed values into a frozen Scenario (cross-field checks here)."""
    tiers: list[TierSpec] = []
    seen: dict[str, str] = {}
    for entry in values["tiers"]:
        t = entry.values
        if t["name"] in seen:
            raise fail(path, f"{entry.key}.name", f"each tier once, got '{t['name']}' again (also {seen[t['name']]})")
        seen[t["name"]] = entry.key
        tiers.append(
            TierSpec(
                name=t["name"],
                share=t["share"],
                instance_type=t["instance_type"],
                config=t.get("config"),
                cost_multiplier=t.get("cost_multiplier", 1.0),
            )
        )
    if not tiers:
        raise fail(path, f"{prefix}tiers", "at least one [[tiers]] entry, got none")
    events: list[EventRule] = []
    for entry in values.get("events", []):
        e = entry.values
        if e.get("weekday") is None and not e.get("dates"):
            raise fail(path, entry.key, f"a 'weekday' or 'dates' for event type '{e['type']}', got neither")
        if e.get("start") and e.get("end") and e["end"] < e["start"]:
            raise fail(path, f"{entry.key}.end", f"an end on or after the start {e['start']}, got {e['end']}")
        if e.get("every_weeks", 1) != 1 and e.get("weekday") is None:
            raise fail(path, f"{entry.key}.every_weeks", "a 'weekday' to repeat on (every_weeks needs one)")
        events.append(
            EventRule(
                type=e["type"],
                weekday=e.get("weekday"),
                every_weeks=e.get("every_weeks", 1),
                start=e.get("start"),
                end=e.get("end"),
                intensity=e.get("intensity", 1.0),
                dates=tuple(sorted(set(e.get("dates", ())))),
            )
        )
    traffic = values["traffic"]
    fleet = FleetPolicy(**values.get("fleet", {}))
    finance = Finance(**values["finance"])
    kwargs: dict[str, Any] = dict(
        name=values.get("name", "baseline"),
        seed=values.get("seed"),
        start=values.get("start"),
        horizon_days=values["horizon_days"],
        requests_per_visit=traffic["requests_per_visit"],
        competitor_events=traffic.get("competitor_events", "effect"),
        traffic_model=dict(traffic.get("model", {})),
        growth_pct_per_month=traffic.get("growth_pct_per_month"),
        events=tuple(events),
        tiers=tuple(tiers),
        fleet=fleet,
        finance=finance,
        priors={k: dict(v) for k, v in values.get("priors", {}).items()},
    )
    if "description" in {f.name for f in dataclasses.fields(Scenario)}:
        kwargs["description"] = values.get("description", "")
    return Scenario(**kwargs)


def _load(path: str | Path) -> dict:
    text = read_text(path, KIND)
    if not text.strip():
        raise InputError(path, None, f"a {KIND} (schema_version = 1, horizon_days, [traffic], [[tiers]], [finance]), got an empty file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POS.search(msg)
        where = f"line {m.group(1)}, column {m.group(2)}" if m else None
        raise InputError(path, where, f"valid TOML: {_TOML_POS.sub('', msg).strip()}") from None


def _cross_check(
    path: str,
    entries: dict[str, list[_Entry]],
    loadtest: pd.DataFrame | None,
    prices: pd.DataFrame | None,
    traffic: pd.DataFrame | None,
) -> None:
    """Tiers vs the load-test file, instance types vs the price table, event types vs the history."""
    for entry in entries.get("tiers", []):
        t = entry.values
        if loadtest is not None:
            tiers = sorted(loadtest["tier"].unique())
            lt = Path(loadtest.attrs.get("path", "the load-test file")).name
            if t["name"] not in tiers:
                hint = did_you_mean(t["name"], tiers, cutoff=0.5)
                raise fail(path, f"{entry.key}.name", f"a tier of {lt} ({', '.join(tiers)}), got '{t['name']}'{hint}")
            if t.get("config") is not None:
                configs = sorted(
                    loadtest.loc[(loadtest["tier"] == t["name"]) & (loadtest["level"] == "node"), "config"].unique()
                )
                if t["config"] not in configs:
                    hint = did_you_mean(t["config"], configs, cutoff=0.5)
                    raise fail(
                        path,
                        f"{entry.key}.config",
                        f"a config tested for tier '{t['name']}' in {lt} ({', '.join(configs)}), "
                        f"got '{t['config']}'{hint}",
                    )
        if prices is not None and "instance_type" in t and t["instance_type"] not in prices.index:
            known = list(prices.index)
            hint = did_you_mean(t["instance_type"], known, cutoff=0.5)
            shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
            pf = Path(prices.attrs.get("path", "the price table")).name
            raise fail(
                path,
                f"{entry.key}.instance_type",
                f"unknown instance type '{t['instance_type']}'; known in {pf}: {shown}{hint}",
            )
    if traffic is not None:
        types = list(traffic.attrs.get("event_types", []))
        tf = Path(traffic.attrs.get("path", "the traffic history")).name
        for entry in entries.get("events", []):
            if entry.values["type"] not in types:
                hint = did_you_mean(entry.values["type"], types, cutoff=0.5)
                known = ", ".join(types) if types else "none: the history has no event_<type> columns"
                flags = traffic.attrs.get("ignored_flag_columns") or {}
                if not hint and flags:
                    first, name = next(iter(flags.items()))
                    hint = (f" ({', '.join(flags)} in {tf} hold only 0 and 1: name an event column event_<type>, "
                            f"e.g. '{first}' -> '{name}')")
                if not hint:  # a kind of event the site never ran: the history can say so with a column of zeros
                    new_type = entry.values["type"]
                    hint = (f"; to plan an event type the history never had, add a column event_{new_type} of 0s to "
                            f"{tf}: its lift then comes from the prior, and the report says so")
                raise fail(
                    path,
                    f"{entry.key}.type",
                    f"an event type of {tf} (an event_<type> column; known: {known}), "
                    f"got '{entry.values['type']}'{hint}",
                )


def read_scenarios(
    path: str | Path,
    *,
    loadtest: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    traffic: pd.DataFrame | None = None,
) -> list[Scenario]:
    """The scenarios of :func:`read_scenario_file` (the file's ``[sweep]`` is checked too)."""
    return read_scenario_file(path, loadtest=loadtest, prices=prices, traffic=traffic)[0]


def read_scenario_file(
    path: str | Path,
    *,
    loadtest: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
    traffic: pd.DataFrame | None = None,
) -> tuple[list[Scenario], IntensitySweep | None]:
    """Read the scenario file: the base scenario first, then each resolved override; and its ``[sweep]``.

    Parameters
    ----------
    path : the TOML file (schema in docs/architecture.md)
    loadtest, prices, traffic : when given (from the readers of this package),
        tiers and configs are checked against the load-test file, instance types
        against the price table and event types against the history's
        ``event_<type>`` columns.

    Returns
    -------
    list of frozen :class:`Scenario`, names unique, base first; the ``[sweep]``
    (:class:`IntensitySweep`, checked against those scenarios) or None.

    Raises
    ------
    InputError
        naming the file and the key (``key scenarios[1].tiers[0].share``) and
        what was expected, for syntax errors, unknown keys, wrong types and
        impossible values.
    """
    path_s = str(path)
    doc = _load(path)
    if "schema_version" not in doc:
        raise fail(path_s, "schema_version", f"schema_version = {SCHEMA_VERSION} at the top of the file, got nothing")
    version = doc["schema_version"]
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise fail(path_s, "schema_version", f"{SCHEMA_VERSION} (the only version this bayescap reads), got {show(version)}")
    base = _validate_document(path_s, doc, "", partial=False)
    _cross_check(path_s, base, loadtest, prices, traffic)
    scenarios = [_build(path_s, base, "")]
    names = {scenarios[0].name: "the base scenario's name"}
    overrides = doc.get("scenarios", [])
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise fail(path_s, "scenarios", f"an array of tables ([[scenarios]]), got {show(overrides)}")
    for i, raw in enumerate(overrides):
        prefix = f"scenarios[{i}]."
        if "name" not in raw:
            raise fail(path_s, prefix + "name", "a name for each [[scenarios]] entry, got nothing")
        over = _validate_document(path_s, raw, prefix, partial=True)
        override_tiers: dict[str, str] = {}
        for entry in over.get("tiers", []):
            if "name" not in entry.values:
                raise fail(path_s, f"{entry.key}.name", "a tier 'name' (override tiers are merged by name)")
            if entry.values["name"] in override_tiers:
                raise fail(
                    path_s,
                    f"{entry.key}.name",
                    f"each tier once, got '{entry.values['name']}' again (also {override_tiers[entry.values['name']]})",
                )
            override_tiers[entry.values["name"]] = entry.key
        if over["name"] in names:
            raise fail(
                path_s, prefix + "name", f"a unique scenario name, got '{over['name']}' again (also {names[over['name']]})"
            )
        names[over["name"]] = prefix + "name"
        merged = _merge(base, over, path_s)
        _cross_check(path_s, over, loadtest, prices, traffic)
        scenarios.append(_build(path_s, merged, prefix))
        _check_shared_settings(path_s, scenarios[0], scenarios[-1], over, prefix)
    if traffic is not None:
        last = as_date(traffic["date"].max())
        start_keys = ["start"] + [
            f"scenarios[{i}].start" if "start" in raw else "start" for i, raw in enumerate(overrides)
        ]
        for sc, key in zip(scenarios, start_keys):
            if sc.start is not None and sc.start <= last:
                raise fail(
                    path_s,
                    key,
                    f"a start after the last history date {last} (of {Path(traffic.attrs.get('path', '')).name}), "
                    f"got {sc.start}; leave 'start' out to begin the day after the history",
                )
    return scenarios, _sweep(path_s, doc, scenarios)


def _check_shared_settings(path: str, base: Scenario, sc: Scenario, over: dict, prefix: str) -> None:
    """Refuse a scenario that changes what all scenarios share: the models are fitted once, with the base
    scenario's priors and competitor option, and one seed drives every scenario's draws (so that differences
    between scenarios are per draw). Such an override used to be read and then ignored."""
    why = "the models are fitted once, from the base scenario's settings, and shared by every scenario"
    if "seed" in over and sc.seed != base.seed:
        raise fail(path, prefix + "seed", f"no seed of its own (one seed drives every scenario's draws, so that their "
                   f"differences are per draw; set 'seed' at the top level), got {sc.seed}")
    if sc.traffic_model != base.traffic_model:
        raise fail(path, prefix + "traffic.model", f"the base scenario's traffic-model options ({why}; set them in the "
                   "top-level [traffic] table)")
    if sc.competitor_events != base.competitor_events:
        raise fail(path, prefix + "traffic.competitor_events", f"the base scenario's '{base.competitor_events}' ({why}; "
                   f"set it at the top level), got '{sc.competitor_events}'")
    if "priors" in over and sc.priors != base.priors:
        raise fail(path, prefix + "priors", f"no priors of its own ({why}; set [priors] at the top level, or make "
                   "another scenario file and compare the two reports)")


def _sweep(path: str, doc: dict, scenarios: list[Scenario]) -> IntensitySweep | None:
    """The file's ``[sweep]`` checked against its scenarios, or None when it has none."""
    if "sweep" not in doc:
        return None
    values = parse_table(path, doc["sweep"], SWEEP, "sweep.", partial=False)
    by_name = {sc.name: sc for sc in scenarios}
    name = values.get("scenario", scenarios[0].name)
    if name not in by_name:
        hint = did_you_mean(name, list(by_name), 0.5)
        raise fail(path, "sweep.scenario", f"the name of a scenario in this file ({', '.join(by_name)}), got '{name}'{hint}")
    own_types = list(dict.fromkeys(e.type for e in by_name[name].events))
    if not own_types:
        raise fail(path, "sweep.scenario", f"a scenario with events whose intensity can vary; '{name}' has none")
    types = values.get("event_types", ())
    for i, t in enumerate(types):
        if t not in own_types:
            raise fail(path, f"sweep.event_types[{i}]" if len(types) > 1 else "sweep.event_types",
                       f"an event type of scenario '{name}' ({', '.join(own_types)}), got '{t}'")
    return IntensitySweep(scenario=name, intensities=values["intensities"], event_types=tuple(types),
                          min_runway_months=values.get("min_runway_months"))
