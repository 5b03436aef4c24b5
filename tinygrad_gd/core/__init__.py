"""The engine: the rule table (ops), the Value graph, reverse and forward mode, formulas.

Nothing here imports any other layer of the package.
"""
