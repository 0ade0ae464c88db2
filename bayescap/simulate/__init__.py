"""Scenario engine: posterior draws of traffic and capacity -> servers, overload risk, cost, runway.

numpy/xarray/dask only: this package never imports PyMC or ``bayescap.models``.

* :func:`simulate` -- draws in, an ``xarray.Dataset`` (draw x date x tier x scenario) out;
* :func:`summarise` -- the ``scenarios`` and ``differences`` parts of summary.json;
* :func:`risk_statements` -- plain-language sentences whose numbers come from the draws.

See docs/scenario_engine.md for the maths, the metric ids and the statement types.
"""

from bayescap.simulate.engine import simulate
from bayescap.simulate.statements import risk_statements
from bayescap.simulate.summary import summarise

statements = risk_statements  # the name docs/architecture.md uses

__all__ = ["risk_statements", "simulate", "statements", "summarise"]
