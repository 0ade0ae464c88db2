"""Read and validate the input files (no PyMC here).

Every reader returns plain data (DataFrames, frozen dataclasses) and raises
:class:`bayescap.errors.InputError` naming the file, the line or key, and what
was expected. The table of every error caught is in ``docs/input_errors.md``.
"""

from bayescap.inputs.bundle import Inputs, read_inputs
from bayescap.inputs.calendar import forecast_start, future_calendar
from bayescap.inputs.loadtest import read_loadtest
from bayescap.inputs.prices import lookup_instance, read_prices
from bayescap.inputs.scenario import read_scenarios
from bayescap.inputs.traffic import read_intraday, read_prophet_holidays, read_traffic

__all__ = [
    "Inputs",
    "forecast_start",
    "future_calendar",
    "lookup_instance",
    "read_inputs",
    "read_intraday",
    "read_loadtest",
    "read_prices",
    "read_prophet_holidays",
    "read_scenarios",
    "read_traffic",
]
