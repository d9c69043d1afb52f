"""The original LSG implementation (github.com/ccdv-ai/convert_checkpoint_to_lsg) as a model-level contender.

Users compare hubgen with the LSG they have, so the bench can run the original's own `modeling_lsg_roberta.py`
from a checkout the user points at (`--original PATH`); none of its code is part of hubgen. It targets transformers
4.36, which it runs on here: pinned wheels installed side by side (hubgen.side_by_side) with the main environment's
torch, in a worker that cannot import hubgen or the newer transformers. Both models load the same weights (hubgen's
LSG model, saved once per run), and the runner checks that they compute the same logits before timing them.
"""

from __future__ import annotations

from pathlib import Path

from hubgen.errors import InvalidInputError
from hubgen.side_by_side import COMMON_4X, default_root, install_pinned, shared_view

# The transformers the original converter last supported (the version its published configs name).
ORIGINAL_TRANSFORMERS = "4.36.2"
ORIGINAL_PINS = (
    f"transformers=={ORIGINAL_TRANSFORMERS}",
    "huggingface_hub==0.36.2",  # 4.36 requires >=0.19.3,<1.0; 0.36.2 is the last 0.x
    "tokenizers==0.15.2",  # 4.36 requires >=0.14,<0.19 (checked when transformers is imported)
    *COMMON_4X,
)
# Where the RoBERTa modeling file lies in a checkout.
MODELING_FILE = Path("lsg_converter", "roberta", "modeling_lsg_roberta.py")
REPOSITORY = "github.com/ccdv-ai/convert_checkpoint_to_lsg"


def original_modeling_file(checkout: str | Path) -> Path:
    """The original's RoBERTa modeling file in `checkout`; refused with a hint when it is not a checkout."""
    path = Path(checkout).expanduser() / MODELING_FILE
    if not path.is_file():
        raise InvalidInputError(
            f"--original {checkout}: no {MODELING_FILE.as_posix()} there", f"point it at a checkout of {REPOSITORY}"
        )
    return path.resolve()


def original_sys_path() -> list[str]:
    """The `sys.path` folders (before the standard library) of a worker that runs the original."""
    root = default_root()
    environment = install_pinned(root, f"transformers-{ORIGINAL_TRANSFORMERS}", ORIGINAL_PINS)
    return [str(environment), str(shared_view(root))]


def original_line(check: dict) -> str:
    """The logits check of a run (`hubgen.bench.runner.check_original`) in one line."""
    where = f"original LSG on transformers {check['transformers']}"
    if check["status"] != "ok":
        return f"{where}: logits check failed ({check['reason']})"
    return f"{where}: logits vs hubgen's LSG on the same weights, max |diff| {check['logits_max_abs_diff']:.2e}"
