"""PyMC models; each fit returns an ``xarray.DataTree`` in the ArviZ layout.

Modules are imported on demand (``from bayescap.models import capacity``) so that
importing ``bayescap.models`` stays cheap and never compiles anything.
"""
