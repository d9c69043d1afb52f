"""The runtime code of the rendered modeling files, as ordinary Python.

Every `modeling_lsg_<type>.py` includes these modules' code verbatim (`hubgen.runtime_code` strips only their
imports, which the rendered file's header holds), so the LSG core exists once, is linted and tested as code, and the
rendered files stay self-contained. Hence the rule for this package: torch, transformers' stable API (COMPAT.md) and
the standard library only, plus imports of its own modules; nothing from the rest of hubgen.
"""
