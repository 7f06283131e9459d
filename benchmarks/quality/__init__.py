"""Quality on real data: tfft beside simple baselines (``python -m benchmarks.quality``)."""
