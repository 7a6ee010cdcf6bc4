"""Private: the checked plan (config, plan), the compiled program, the booking of its output
(levels, booking), the least-squares eigenbasis, fused reductions, optimizers and the
hyperparameter grids swept per lane (hyperparams).

Nothing here is public API; :mod:`gdjax` re-exports what users need.
"""
