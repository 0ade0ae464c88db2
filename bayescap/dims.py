"""Dimension and coordinate names, defined once for the whole project."""

CHAIN = "chain"
DRAW = "draw"  # posterior draws; in simulation outputs chain x draw are flattened into this dim
DATE = "date"
TIER = "tier"
CONFIG = "config"
SCENARIO = "scenario"
EVENT_TYPE = "event_type"
EVENT = "event"  # one historical event occurrence (a day flagged for a type)
REGIME = "regime"  # "normal" or "event"
NODES = "nodes"  # fleet size axis (number of servers)
OBS = "obs"

REGIMES = ("normal", "event")
