"""Tools for working without the Hub: a Hub API server on 127.0.0.1, tiny trained checkpoints of every type, the
offline demo, the local run of the rebuild matrix and the quality comparison of `hubgen bench --quality`.

They serve tests, `hubgen demo`, `hubgen matrix --local` and `hubgen bench --quality`; the product (convert, smoke, card, publish, upgrade)
never imports them (tests/test_import_graph.py).
"""
