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
import re
import time
from pathlib import Path

from .. import __version__
from ..engine.streams import MODEL_VERSION

__all__ = ["MANIFEST_NAME", "Manifest", "fingerprint", "file_digest"]

MANIFEST_NAME = "manifest.json"
_FORMAT = 1
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def file_digest(path: Path) -> str | None:
    """The content hash of a file as written (None when it cannot be read)."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _valid_entry(client_id, entry) -> bool:
    """A client's record as :meth:`Manifest.record` writes it."""
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id) or not isinstance(entry, dict):
        return False
    stamp = entry.get("workbook")
    if not isinstance(entry.get("fingerprint"), str) or not isinstance(entry.get("summary"), dict):
        return False
    if stamp is not None and not (isinstance(stamp, dict) and all(isinstance(stamp.get(k), int) and not isinstance(stamp.get(k), bool) for k in ("size", "mtime_ns"))):
        return False
    return isinstance(entry.get("blake2b", ""), str)


def _problem(saved) -> str | None:
    """What is wrong with a manifest's content, or None."""
    if not isinstance(saved, dict):
        return f"holds {type(saved).__name__}, not an object"
    if saved.get("format") != _FORMAT:
        return f"has format {saved.get('format')!r}, not {_FORMAT}"
    for key in ("clients", "stale"):
        if not isinstance(saved.get(key, {}), dict):
            return f"its {key!r} is {type(saved[key]).__name__}, not an object"
    for client_id, entry in saved.get("clients", {}).items():
        if not _valid_entry(client_id, entry):
            return f"its entry for client {client_id!r} is not a workbook record"
    for client_id, entry in saved.get("stale", {}).items():
        if not isinstance(entry, dict):
            return f"its stale entry for client {client_id!r} is not an object"
    if not isinstance(saved.get("outputs", {}), dict) or not all(isinstance(v, str) for v in saved.get("outputs", {}).values()):
        return "its 'outputs' is not an object of hashes"
    return None


def fingerprint(input_digest: str, template: str, mode: str) -> str:
    """The input digest of a client together with what else shapes its
    workbook: the template, the mode, the package version and the ROI
    model's version (a rerun after a change of what the numbers mean
    rebuilds every client)."""
    text = json.dumps({"input": input_digest, "template": template, "mode": mode, "version": __version__, "model": MODEL_VERSION}, sort_keys=True)
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
        # hashes of the other files a run wrote (summary.csv, errors.csv,
        # portfolio.xlsx); None for a manifest of a version that kept none
        self.outputs: dict[str, str] | None = {}
        # (where a manifest that could not be used was moved, why)
        self.set_aside: tuple[str, str] | None = None
        self._journal = None
        if not self.path.exists() and not self.path.is_symlink():
            return  # a new output folder: every client is built
        try:
            if not self.path.is_file():
                raise ValueError("is not a file")
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            problem = _problem(saved)
            if problem:
                raise ValueError(problem)
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
            # never read further nor written back: kept aside, rebuilt from nothing
            self.set_aside = (self._set_aside(), str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        self.clients = dict(saved.get("clients", {}))
        self.stale = dict(saved.get("stale", {}))
        self.outputs = dict(saved["outputs"]) if "outputs" in saved else None

    def _set_aside(self) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for i in range(10_000):
            target = self.out_dir / f"manifest.{stamp}{'' if i == 0 else f'-{i}'}.invalid.json"
            if not target.exists():
                os.replace(self.path, target)
                return target.name
        raise OSError(f"cannot set {self.path} aside")

    def wrote(self, name: str, path: Path) -> bool:
        """Whether the file ``name`` in OUT is exactly what a run recorded
        writing there: a client workbook with the hash (or, recorded by an
        older version, the size and time) it was written with, or one of the
        run's other files with its hash."""
        stem = name[:-5] if name.endswith(".xlsx") else None
        entry = self.clients.get(stem) if stem else None
        if entry is not None:
            if "blake2b" in entry:
                return file_digest(path) == entry["blake2b"]
            return _stamp(path) == entry.get("workbook")
        if self.outputs is None:  # an older manifest: its summary, errors and portfolio are trusted
            return name in ("summary.csv", "errors.csv", "portfolio.xlsx")
        return name in self.outputs and file_digest(path) == self.outputs[name]

    def wrote_output(self, name: str, path: Path) -> None:
        """Note a file other than a client workbook just written into OUT."""
        if self.outputs is None:
            self.outputs = {}
        self.outputs[name] = file_digest(path) or ""

    def forget_output(self, name: str) -> None:
        if self.outputs:
            self.outputs.pop(name, None)

    def replay(self, journal: Path) -> None:
        """Take in the workbooks a killed run finished."""
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
                if not _valid_entry(entry["client_id"], entry["record"]):
                    break
                self.clients[entry["client_id"]] = entry["record"]
            except (ValueError, KeyError, TypeError, RecursionError):
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
            "blake2b": file_digest(workbook) or "",
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
        document = {"format": _FORMAT, "generator": f"cxroi-xl {__version__}", "clients": self.clients, "stale": self.stale, "outputs": self.outputs or {}}
        return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8")


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs. Kept for callers of earlier
    versions; :mod:`cxroi_xl.batch.locking` (psutil, every platform, with the
    process's start time) is what the output folder uses."""
    from .locking import run_alive

    return run_alive(pid)
