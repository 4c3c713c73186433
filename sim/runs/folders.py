"""Output folders that never mix, never half-exist and never lose a finished computation.

`claim_folder(final)` is the guard every command that writes a results
folder uses (scenario runs now; validation, calibration and studies later):

- it takes an exclusive lock on ``.NAME.lock`` beside the folder
  (``fcntl.flock``: the operating system drops it when the process dies,
  so a killed run never blocks the next one), and a second process that
  wants the same folder is refused at once with `FolderBusy`;
- it builds in a partial folder private to this process,
  ``.NAME.partial-<pid>``, and removes partial folders that dead runs left;
- `FolderClaim.commit` renames the partial folder into place (atomic on
  one file system); leaving the block without a commit removes it.

`check_writable` fails early, before any computing, on a folder that
exists or a parent that cannot be written. `recovery_folder` names the
fallback place (in the system temp dir) where results go when the final
write fails, and `os_error_line` says in one line what failed and where.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FolderBusy",
    "FolderClaim",
    "OutputError",
    "WriteFailed",
    "check_writable",
    "claim_folder",
    "os_error_line",
    "recovery_folder",
]


class OutputError(OSError):
    """The output folder cannot be used; the message names it and why (bad input: exit 2)."""


class FolderBusy(OutputError):
    """Another live process is writing the same output folder."""


class WriteFailed(OSError):
    """Writing finished results failed (a fault, exit 1); the message says what, where, and what was saved."""


def os_error_line(err: BaseException, where: Path | str | None = None) -> str:
    """'No space left on device (results/x/timeseries.parquet)': what failed and where, one line."""
    reason = getattr(err, "strerror", None) or " ".join(str(err).split()) or type(err).__name__
    place = getattr(err, "filename", None) or where
    return f"{reason} ({place})" if place else reason


def check_writable(folder: Path) -> None:
    """Fail early, before any computing, if ``folder`` cannot be created and written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise OutputError(f"--out: {folder} already exists and is not an empty folder")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        probe = folder.parent / f".{folder.name}.probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise OutputError(f"--out: cannot write to {folder.parent}: {err.strerror or err}") from None


class _Lock:
    """An exclusive, non-blocking flock on a lock file, holding the holder's pid and host."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self, what: str) -> None:
        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise FolderBusy(f"{what}: {self._holder()} is writing it now; wait for it to finish "
                                 "or choose another --out") from None  # fmt: skip
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed the file between our open and our lock: try again
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
            self.fd = fd
            return

    def _holder(self) -> str:
        try:
            holder = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            holder = {}
        if "pid" in holder:
            return f"another run (pid {holder['pid']} on {holder.get('host', '?')})"
        return "another run"

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # unlinked while still locked: no one can take a stale file
        finally:
            os.close(self.fd)
            self.fd = None


@dataclass
class FolderClaim:
    """A locked output folder being built: write into ``partial``, then `commit`."""

    final: Path
    partial: Path
    committed: bool = False

    def commit(self) -> Path:
        """Move the complete partial folder to its final name."""
        if self.final.exists() and self.final.is_dir() and not any(self.final.iterdir()):
            self.final.rmdir()  # an empty folder given as --out
        os.rename(self.partial, self.final)
        self.committed = True
        return self.final


def _partials(final: Path) -> list[Path]:
    return list(final.parent.glob(f".{final.name}.partial*"))


@contextmanager
def claim_folder(final: Path, what: str | None = None) -> Iterator[FolderClaim]:
    """Lock ``final``, give a private partial folder, remove it again unless committed.

    Raises FolderBusy if another live process holds the folder, OutputError if
    ``final`` already holds something. ``what`` names the folder in messages
    (default ``--out FINAL``).
    """
    final = Path(final)
    what = what or f"--out {final}"
    final.parent.mkdir(parents=True, exist_ok=True)
    lock = _Lock(final.parent / f".{final.name}.lock")
    lock.acquire(what)
    try:
        if final.exists() and (not final.is_dir() or any(final.iterdir())):
            raise OutputError(f"{what}: already exists and is not an empty folder")
        for stale in _partials(final):  # we hold the lock, so their writers are gone
            shutil.rmtree(stale, ignore_errors=True)
        claim = FolderClaim(final, final.parent / f".{final.name}.partial-{os.getpid()}")
        claim.partial.mkdir()
        try:
            yield claim
        finally:
            if not claim.committed:
                shutil.rmtree(claim.partial, ignore_errors=True)
    finally:
        lock.release()


def recovery_folder(name: str) -> Path:
    """A fresh folder in the system temp dir for results the final write could not place."""
    root = Path(tempfile.gettempdir()) / "attention-market-recovery"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
