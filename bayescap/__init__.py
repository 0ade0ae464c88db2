"""bayescap: Bayesian capacity and cost forecasting for web services.

Stages (one-way imports): ``inputs`` (read + validate) -> ``models`` (PyMC fits
returning ``xarray.DataTree``) -> ``simulate`` (posterior draws -> servers, cost,
risk) -> ``report`` (figures, PDF). Nothing heavy is imported here.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_run"]


def load_run(run_dir):
    """Load a saved run directory as one ``xarray.DataTree`` (see ``bayescap.runstore``)."""
    from bayescap.runstore import load_run as _load_run

    return _load_run(run_dir)
