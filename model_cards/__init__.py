"""Jinja sources of the model cards (installed as ``hubgen.model_cards``)."""
