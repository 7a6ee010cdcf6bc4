"""Speed baselines: the loops people write today, one configuration at a time (filled in below)."""

from __future__ import annotations


def attach(entry, problem, info, lanes):
    """Run the baselines the suite asks for and add their columns to ``lanes``."""
    del problem, info
    if not entry.settings["baselines"]:
        return lanes
    raise NotImplementedError("baselines are not implemented yet")
