"""Jinja sources of the rendered remote-code files (installed as ``hubgen.templates``)."""
