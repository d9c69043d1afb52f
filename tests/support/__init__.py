"""Helpers shared by the test suite.

They live next to the tests (not inside ``hubgen``) because they exist only to check what hubgen produces:
``compat`` builds side-by-side transformers installs so rendered remote-code files can be loaded the way a
user with an older or newer transformers would load them, and ``actionlint`` finds a workflow linter.
"""
