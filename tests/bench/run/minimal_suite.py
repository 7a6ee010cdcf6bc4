"""The smallest valid suite document: one problem, one variant, one learning rate."""

GOOD = """
name = "t"
[defaults]
epochs = 1
lrs = [0.1]
[[problems]]
name = "p"
source = "linear"
n = 16
d = 2
[[variants]]
name = "batch"
"""
