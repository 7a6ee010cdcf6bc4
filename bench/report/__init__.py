"""Stage two: run folders become tables, plots and READMEs (readme, perf report, compare, ...)."""
