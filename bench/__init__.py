"""Benchmarks (``make bench``): the sync against the vendors' limits, a naive script and dlt.

Not tests: nothing here asserts a timing. ``python -m bench.run --help`` lists the size flags.
"""
