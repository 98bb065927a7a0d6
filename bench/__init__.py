"""``make bench``: the load workloads of issue 8 against production mode (see docs/benchmarks.md)."""
