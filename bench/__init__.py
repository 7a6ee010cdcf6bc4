"""bench: the harness that times gdjax sweeps honestly and publishes the tables.

``python -m bench run --suite smoke`` runs a suite; ``python -m bench report`` writes
``results/README.md`` and the plots; ``python -m bench --help`` lists every command.
"""
