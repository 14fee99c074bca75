"""What ``generate`` built, from what: the manifest in the output folder.

``OUT/manifest.json`` records, per client workbook in OUT's top level, a
fingerprint of exactly the input that built it (the client's row of
``clients`` and its rows of every other table, after validation) and the
settings (template, mode, package version), the workbook's size and
modification time as written, and its summary line. A rerun rebuilds a
client when its fingerprint changed, whatever the input files' times, or
when its workbook is missing or was replaced; the summary of an up-to-date
client comes from here, without recomputing it. Workbooks moved to
``OUT/stale/`` are listed with the reason.

While a run builds, each finished workbook is appended to a journal in the
run's private folder, so a run that is killed loses nothing it built: the
next run replays the journal before it starts.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from pathlib import Path

from .. import __version__

__all__ = ["MANIFEST_NAME", "Manifest", "fingerprint"]

MANIFEST_NAME = "manifest.json"
_FORMAT = 1


def fingerprint(input_digest: str, template: str, mode: str) -> str:
    """The input digest of a client together with what else shapes its workbook."""
    text = json.dumps({"input": input_digest, "template": template, "mode": mode, "version": __version__}, sort_keys=True)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _stamp(path: Path) -> dict | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _plain(value):
    """JSON-safe summary values (NaN and infinities as null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


class Manifest:
    """The manifest of one output folder."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / MANIFEST_NAME
        self.clients: dict[str, dict] = {}
        self.stale: dict[str, dict] = {}
        self._journal = None
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            if saved.get("format") == _FORMAT:
                self.clients = dict(saved.get("clients", {}))
                self.stale = dict(saved.get("stale", {}))
        except (OSError, ValueError, AttributeError):
            pass  # no manifest, or an unreadable one: every client is rebuilt

    def replay(self, journal: Path) -> None:
        """Take in the workbooks a killed run finished."""
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
                self.clients[entry["client_id"]] = entry["record"]
            except (ValueError, KeyError, TypeError):
                break  # a line cut off by the kill: the rest was never written

    def up_to_date(self, client_id: str, print_: str, workbook: Path) -> dict | None:
        """The stored summary row when the workbook on disk is the one built
        from this fingerprint, else None."""
        entry = self.clients.get(client_id)
        if not entry or entry.get("fingerprint") != print_:
            return None
        if _stamp(workbook) != entry.get("workbook"):
            return None  # missing, or replaced since we wrote it
        return entry.get("summary")

    def open_journal(self, path: Path) -> None:
        self._journal = open(path, "a", encoding="utf-8")

    def record(self, client_id: str, print_: str, workbook: Path, summary: dict) -> dict:
        """Note a workbook just built; returns the summary row as stored
        (JSON-safe), which the caller keeps instead of a second copy."""
        entry = {
            "fingerprint": print_,
            "workbook": _stamp(workbook),
            "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "summary": {k: _plain(v) for k, v in summary.items()},
        }
        self.clients[client_id] = entry
        self.stale.pop(client_id, None)
        if self._journal is not None:
            self._journal.write(json.dumps({"client_id": client_id, "record": entry}) + "\n")
            self._journal.flush()
        return entry["summary"]

    def forget(self, client_id: str) -> None:
        self.clients.pop(client_id, None)

    def moved_to_stale(self, client_id: str, moved_to: str, reason: str) -> None:
        self.clients.pop(client_id, None)
        self.stale[client_id] = {"moved_to": moved_to, "reason": reason, "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}

    def close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def content(self) -> bytes:
        document = {"format": _FORMAT, "generator": f"cxroi-xl {__version__}", "clients": self.clients, "stale": self.stale}
        return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8")


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (used where OUT cannot be locked)."""
    if os.name == "nt":
        return True  # os.kill(pid, 0) would signal it there: never guess, keep the folder
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
