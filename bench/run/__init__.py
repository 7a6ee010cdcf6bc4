"""Stage one: a suite file becomes a run folder (suites, the runner, timing, hosts, roofline)."""
