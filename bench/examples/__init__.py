"""Problems from Python for suite files (``source = "python"``, ``factory = "MODULE:FUNCTION"``):
examples a suite can name, and a user can copy."""
