"""Benchmarks (`make bench`): each module's main() prints `BENCH <name> <value> <unit>` lines."""
