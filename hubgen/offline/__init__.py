"""Tools for working without the Hub: a Hub API server on 127.0.0.1, tiny trained checkpoints of every type, the
offline demo and the local run of the rebuild matrix.

They serve tests, `hubgen demo` and `hubgen matrix --local`; the product (convert, smoke, card, publish, upgrade)
never imports them (tests/test_import_graph.py).
"""
