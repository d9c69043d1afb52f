"""Output folders that appear whole or not at all.

A conversion runs for minutes and writes hundreds of megabytes; a crash, a full disk, Ctrl-C, SIGTERM or a second
hubgen writing to the same folder must never leave something that looks like a model but is not one. Everything is
written into a staging folder on the same filesystem and moved into place in one step once complete:

- a target that does not exist: the staging folder is its hidden sibling `.NAME.hubgen-staging-XXXX`, renamed into
  place by one atomic `rename`;
- an existing empty folder (`--out .`): the staging folder is `.hubgen-staging-XXXX` inside it, and its entries are
  moved in under a lock on the folder, which itself is kept (it may be a shell's working directory).

Each staging folder is locked (`flock`) for the life of its process, so a staging folder whose lock is free was left
by a killed process (SIGKILL) and is removed by the next run writing to the same target. Of two writers, the one that
finishes first wins; the other gets one line and leaves nothing behind. Folders and files get the modes the umask
gives, like anything else a user saves.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import shutil
import signal
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hubgen.errors import InvalidInputError, OutputError

MARK = ".hubgen-staging-"

# Write failures that come from the machine, not from hubgen: the user fixes them by freeing space or choosing
# another folder. Other errors are hubgen's own and keep their traceback.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR, errno.EIO)
# Rust libraries (safetensors) report an OS error in their message only: "... (os error 28)".
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def check_target(target: Path) -> None:
    """Refuse up front a target that is a file or a folder with something in it (stale staging folders aside)."""
    if target.is_symlink() and not target.exists():
        raise InvalidInputError(f"output folder {target} is a broken link", "choose a new folder")
    if target.exists() and not target.is_dir():
        raise InvalidInputError(f"output folder {target} is a file", "choose a new folder name")
    if target.is_dir() and _contents(target):
        raise InvalidInputError(f"output folder {target} is not empty", "choose a new folder or remove this one")


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """An empty folder to write into; when the block ends it becomes `target`, complete, or (on any exception or
    signal) is removed with every parent folder it created."""
    check_target(target)
    absolute = Path(os.path.abspath(target))
    exists = absolute.is_dir()
    created = [] if exists else _make_parents(target, absolute)
    _remove_stale(absolute)
    staging, lock = _create_staging(target, absolute, inside=exists, created=created)
    try:
        try:
            yield staging
            _normalise_modes(staging)
            with _signals_blocked():
                _move_into_place(staging, absolute, target, inside=exists)
        except BaseException as error:  # noqa: BLE001 - cleaned up, then raised again (one line if the disk failed)
            with _signals_blocked():
                shutil.rmtree(staging, ignore_errors=True)
                _remove_empty(created)
            raise _write_failure(error, target, absolute) or error
    finally:
        os.close(lock)


def write_text(path: Path, text: str) -> None:
    """Write one file whole or not at all: a hidden temporary sibling, renamed over `path` once complete."""
    temporary = path.with_name(f".{path.name}{MARK}{secrets.token_hex(4)}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def writing(target: Path) -> Iterator[None]:
    """Translate the machine's write failures (full disk, read-only folder) inside the block into one clear line."""
    try:
        yield
    except OSError as error:
        raise _write_failure(error, target, Path(os.path.abspath(target))) or error


def _contents(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if not name.startswith(MARK)]


def _staging_prefix(target: Path, inside: bool) -> Path:
    return target / MARK if inside else target.parent / f".{target.name}{MARK}"


def _make_parents(target: Path, absolute: Path) -> list[Path]:
    """Create the missing parents of `target`; the ones made here, deepest first (to remove them on failure)."""
    created: list[Path] = []
    for parent in reversed(absolute.parents):
        if parent.exists():
            continue
        try:
            parent.mkdir()
        except FileExistsError:
            continue  # made by someone else meanwhile: not ours to remove
        except OSError as error:
            _remove_empty(created[::-1])
            raise _cannot_create(target, error) from None
        created.append(parent)
    return created[::-1]


def _create_staging(target: Path, absolute: Path, inside: bool, created: list[Path]) -> tuple[Path, int]:
    prefix = _staging_prefix(absolute, inside)
    try:
        staging = prefix.with_name(prefix.name + secrets.token_hex(4))
        staging.mkdir(mode=0o777)  # the umask decides, as for any folder the user makes
        lock = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        _remove_empty(created)
        raise _cannot_create(target, error) from None
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return staging, lock


def _remove_stale(target: Path) -> None:
    """Remove the staging folders of killed runs for this target: those whose lock nobody holds."""
    for inside in (False, True):
        prefix = _staging_prefix(target, inside)
        if not prefix.parent.is_dir():
            continue
        for path in prefix.parent.glob(prefix.name + "*"):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # a live writer's
            else:
                shutil.rmtree(path, ignore_errors=True)
            finally:
                os.close(fd)


def _normalise_modes(staging: Path) -> None:
    """Files as the umask would make them: libraries writing through temporary files leave them 0600."""
    folder_mode = stat.S_IMODE(staging.stat().st_mode)
    for root, folders, files in os.walk(staging):
        for name in folders:
            os.chmod(os.path.join(root, name), folder_mode)
        for name in files:
            os.chmod(os.path.join(root, name), folder_mode & 0o666)


def _move_into_place(staging: Path, absolute: Path, target: Path, inside: bool) -> None:
    if not inside:
        try:
            os.rename(staging, absolute)  # replaces nothing but an empty folder
        except OSError as error:
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise _lost_race(target) from None
            raise
        return
    lock = os.open(absolute, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another writer moving its entries in waits here, then finds ours
        if _contents(absolute):
            raise _lost_race(target)
        for entry in os.listdir(staging):
            os.rename(staging / entry, absolute / entry)
        staging.rmdir()
    finally:
        os.close(lock)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Finish moving or removing a folder before a second Ctrl-C or SIGTERM can interrupt it halfway."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _os_errno(error: BaseException) -> int | None:
    if isinstance(error, OSError):
        return error.errno
    match = _RUST_OS_ERROR.search(str(error)) if isinstance(error, Exception) else None
    return int(match[1]) if match else None


def _write_failure(error: BaseException, target: Path, absolute: Path) -> OutputError | None:
    """The one-line error for a failure of the machine while writing `target`, or None for any other error."""
    code = _os_errno(error)
    if code in _NO_SPACE:
        return OutputError(
            f"writing {target} failed: {os.strerror(code)}", "free some disk space or choose --out on another disk"
        )
    if code in _NOT_WRITABLE and _names_output(error, absolute):
        return OutputError(f"writing {target} failed: {os.strerror(code)}", "choose a folder you can write to")
    return None


def _names_output(error: BaseException, absolute: Path) -> bool:
    """Whether an OS error is about the output: reading the base checkpoint fails with the same codes, so the error
    must name a path in the output or next to it (its staging folder)."""
    filename = getattr(error, "filename", None)
    if filename is None:
        return False
    name = os.path.abspath(filename)
    return name == str(absolute) or name.startswith(
        (f"{absolute}{os.sep}", f"{absolute.parent}{os.sep}.{absolute.name}{MARK}")
    )


def _cannot_create(target: Path, error: OSError) -> OutputError:
    return OutputError(f"cannot create {target}: {error.strerror}", "choose a folder you can write to")


def _lost_race(target: Path) -> OutputError:
    return OutputError(
        f"another process wrote {target} while this one was converting; it was left as that process wrote it",
        "choose another --out, or remove that folder and run again",
    )
