"""tfft's benchmark suite: every figure is a ratio of two things measured side by side in one run.

``python -m benchmarks`` (``make bench``) runs every case; ``--quick`` (``make bench-quick``)
runs them at tiny sizes so the suite is exercised in CI without timing anything there.
"""
