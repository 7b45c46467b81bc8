"""Benchmarks: throughput, memory and import cost, each against a baseline measured in the
same run. Run with `make bench`."""
