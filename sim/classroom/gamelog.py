"""The game log: one JSON object per line, appended atomically, enough to replay a session.

Records, in order: ``session`` (seed, the fully resolved scenario, rounds,
days per round, provenance), ``join`` (a firm's display and model names),
and one ``round`` per round played (every firm's full specification, the
platform levers, who was ready, and the results the class saw). Each line
is written with one ``write`` on a file opened with O_APPEND and then
fsynced, so a crash leaves at most a last line without its newline, which
`read_log` ignores. Player tokens are never logged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LOG_VERSION = 1


class LogError(ValueError):
    """A log that cannot be replayed; one line naming the file and the problem."""


class GameLog:
    """Appends records to a JSON-lines file (created with its folder if missing)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True, allow_nan=True, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def read_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a log; a last line cut short by a crash is dropped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LogError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise LogError(f"{path}: cannot read ({err})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        lines.pop()  # no newline at the end: a write cut short, never a complete record
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise LogError(f"{path}: line {number}: not JSON ({err.msg})") from None
        if not isinstance(record, dict) or "event" not in record:
            raise LogError(f"{path}: line {number}: not a game-log record (no 'event')")
        records.append(record)
    if not records or records[0]["event"] != "session":
        raise LogError(f"{path}: not a classroom game log (its first line is not a 'session' record)")
    if records[0].get("version") != LOG_VERSION:
        raise LogError(f"{path}: log version {records[0].get('version')!r}; this program reads version {LOG_VERSION}")
    return records
