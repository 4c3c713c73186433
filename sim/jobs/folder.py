"""A long job's results folder: claim it, record its sessions, write atomically, set damage aside.

Every job (sweep, calibration, study) keeps its results in one folder that
many sessions build: a kill is resumed by running the same command again.
`JobFolder` holds what they share:

- `lock` claims the folder for one process (``.NAME.lock`` inside it,
  holding the pid and host); a second job on the same ``--out`` is refused
  in one line, and the lock of a process that is gone is taken over;
- `check_writable` fails early, in one line, on a folder that cannot be
  written, before anything runs;
- `read_metadata` / `write_metadata`: metadata.json, the provenance of
  every session; a damaged one is set aside and a new one started;
- `set_aside` renames a damaged file to ``*.bad`` and says so in one line;
- `atomic_write`, `write_text`, `write_parquet`: a file is complete or
  absent, and a failed write leaves no temporary file behind.

A job's own folder class adds its files and what it does with them.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from sim.jobs.errors import JobError, reason


def os_reason(err: OSError) -> str:
    """'No space left on device (path)': what failed and where."""
    place = getattr(err, "filename", None)
    text = err.strerror or " ".join(str(err).split()) or type(err).__name__
    return f"{text} ({place})" if place else text


class JobFolder:
    """Paths, lock, metadata and damaged-file handling of one job's results folder."""

    kind = "job"  # the job's name in messages: "another sweep is running on it"
    lock_name = ".job.lock"
    error: type[JobError] = JobError
    subfolders: tuple[str, ...] = ()  # folders the job writes into: probed by check_writable

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.metadata_json = self.out / "metadata.json"
        self.scratch = self.out / "dask-scratch"
        self._lock = self.out / self.lock_name
        self.notes: list[str] = []  # one line per damaged file set aside in this session

    # -- damaged files -------------------------------------------------------------

    def set_aside(self, path: Path, problem: str, consequence: str) -> None:
        """Rename a damaged file to ``*.bad`` (numbered if taken) and say so in one warning line."""
        target = path.with_name(path.name + ".bad")
        k = 1
        while target.exists():
            target, k = path.with_name(f"{path.name}.bad{k}"), k + 1
        try:
            os.replace(path, target)
            moved = f"set aside as {target.name}"
        except FileNotFoundError:
            return  # gone meanwhile (compacted by the running job): nothing to set aside
        except OSError as err:
            moved = f"could not set it aside ({err.strerror or err})"
        note = f"{path}: {problem}; {moved}; {consequence}"
        self.notes.append(note)
        print(f"warning: {note}", file=sys.stderr, flush=True)

    # -- metadata ----------------------------------------------------------------

    def read_metadata(self) -> dict[str, Any]:
        """metadata.json; {} if absent, or damaged (then set aside, with a note for the next write)."""
        if not self.metadata_json.exists():
            return {}
        try:
            metadata = json.loads(self.metadata_json.read_text(encoding="utf-8"))
            if not isinstance(metadata, dict):
                raise ValueError("not a JSON object")
            return metadata
        except (OSError, ValueError) as err:
            self.set_aside(self.metadata_json, f"unreadable ({reason(err)})",
                           "a new one is written; earlier sessions' records stay in the .bad file")  # fmt: skip
            return {}

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        atomic_write(self.metadata_json, (json.dumps(metadata, indent=2, default=str) + "\n").encode("utf-8"))

    # -- writable, lock ------------------------------------------------------------

    def check_writable(self) -> None:
        """Fail early, in one line, on a folder (or parent, or sub-folder) this process cannot write."""
        try:
            here = self.out  # probe the folder, or the nearest existing parent: nothing is created before the start
            while not here.exists() and here != here.parent:
                here = here.parent
            if not here.is_dir():
                raise NotADirectoryError(20, "Not a directory", str(here))
            _probe(here)
            for name in self.subfolders:
                sub = self.out / name
                if sub.exists() and not sub.is_dir():
                    raise self.error(f"--out {self.out}: {name} is a file, not a folder; move it away "
                                     "(or use another --out)")  # fmt: skip
                if sub.is_dir():
                    _probe(sub)
        except OSError as err:
            place = getattr(err, "filename", None) or self.out
            raise self.error(f"--out {self.out}: cannot write there: {err.strerror or err} ({place})") from None

    def lock(self) -> None:
        """Claim the folder for this process; a lock of a process that is gone is taken over."""
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise self.error(f"--out {self.out}: cannot write there: {os_reason(err)}") from None
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                fd = os.open(self._lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self.lock_holder()
                alive = holder.get("host") != me["host"] or psutil.pid_exists(int(holder.get("pid", -1)))
                if alive and holder:
                    raise self.error(
                        f"--out {self.out}: another {self.kind} is running on it (pid {holder.get('pid')} on "
                        f"{holder.get('host')}); if none is, delete {self._lock}"
                    ) from None
                self._lock.unlink(missing_ok=True)
                continue
            except OSError as err:
                raise self.error(f"--out {self.out}: cannot write there: {os_reason(err)}") from None
            with os.fdopen(fd, "w") as handle:
                json.dump(me, handle)
            return
        raise self.error(f"--out {self.out}: cannot take the lock {self._lock}")

    def lock_holder(self) -> dict[str, Any]:
        """The pid and host in the lock file; {} if none or unreadable."""
        try:
            holder = json.loads(self._lock.read_text())
        except (OSError, ValueError):
            return {}
        return holder if isinstance(holder, dict) else {}

    def unlock(self) -> None:
        self._lock.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """`lock` for the block, `unlock` after it."""
        self.lock()
        try:
            yield
        finally:
            self.unlock()


def _probe(folder: Path) -> None:
    probe = folder / f".probe-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a hidden temporary file, then rename it into place; a failed write leaves neither."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """`atomic_write` of UTF-8 text, making the parent folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))


def write_parquet(path: Path, frame) -> None:
    """A DataFrame as parquet, written atomically (no index)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
