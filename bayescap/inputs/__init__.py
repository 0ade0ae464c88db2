"""Read and validate the input files (no PyMC here)."""
