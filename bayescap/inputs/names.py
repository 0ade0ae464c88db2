"""What a name in the inputs may look like: one definition each, shared by the readers and the scenario schema."""

from __future__ import annotations

import re

# an event type: the <type> of a traffic column event_<type>, a calendar entry, a scenario's events
EVENT_TYPE_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,47}")
# a tier, a load-test configuration or an instance type
IDENTIFIER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}")
# a scenario name (it becomes a directory name under reports/)
SCENARIO_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
