"""Speed apart: independent baselines, the loops they run, and device scaling."""
