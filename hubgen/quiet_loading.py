"""transformers loading quietly: hubgen reports what loading found (new heads, mismatched weights) in its own words.

transformers' loading warnings would repeat, in the library's terms, what hubgen's summary says, and its progress
bars would interleave with hubgen's step display.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import transformers


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Errors only and no progress bars inside the block; the caller's settings come back afterwards."""
    verbosity = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()
