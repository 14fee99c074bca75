"""The output folder's lock, and whether a run that wrote into it is alive.

``cxroi-xl generate`` promises that two runs into one folder never write at
the same time (the second exits with code 2) and that a killed run's private
folder is taken in or removed by the next run. Both rest on this module,
with one code path on every platform:

* :class:`OutLock`: an exclusive, non-blocking lock on ``OUT/.cxroi-lock``
  through ``filelock`` (``fcntl.flock`` on Unix, ``msvcrt.locking`` on
  Windows). The operating system releases it when the process ends, however
  it ends, so a killed run never leaves a folder locked.
* :func:`this_run` and :func:`run_alive`: a run records its process id with
  the process's creation time (``psutil``), so a process id the system has
  since given to another program is not taken for the run that is gone.
  Needed only where the folder cannot be locked (a file system without
  locks): there a folder is left alone while its run is alive.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
from filelock import FileLock, Timeout

__all__ = ["LOCK_NAME", "OWNER_NAME", "FolderBusy", "OutLock", "this_run", "run_alive", "write_owner", "owner_alive"]

LOCK_NAME = ".cxroi-lock"
OWNER_NAME = "owner.json"  # inside a run's private folder: who writes it
# creation times are read back as floats of seconds; the same process gives
# the same value, a new one with the same id a later one
_SAME_START = 0.01


class FolderBusy(Exception):
    """Another live run holds the folder's lock."""


class OutLock:
    """The lock on one output folder (a context manager)."""

    def __init__(self, out_dir: Path):
        self.path = Path(out_dir) / LOCK_NAME
        self._lock = FileLock(str(self.path), timeout=0)
        self.held = False

    def acquire(self) -> bool:
        """Take the lock: True when held, :class:`FolderBusy` when another
        run holds it, False when this file system cannot lock at all (then
        the caller falls back to :func:`run_alive`)."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise FolderBusy(str(self.path.parent)) from None
        except (NotImplementedError, OSError):
            return False
        self.held = True
        return True

    def release(self) -> None:
        if not self.held:
            return
        # removed while still held, so OUT keeps no file of ours; a run that
        # opened it just before finds it unlinked (filelock 3.20.4 and later
        # check st_nlink after flock) and takes a new one
        try:
            self.path.unlink()
        except OSError:
            pass  # Windows: an open file cannot be removed; filelock removes it on release
        self._lock.release()
        self.held = False

    def __enter__(self) -> "OutLock":
        if not self.acquire():
            raise OSError(f"{self.path.parent}: this file system cannot lock files")
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def this_run() -> dict:
    """This process as a run records itself: id and creation time."""
    return {"pid": os.getpid(), "created": psutil.Process().create_time()}


def run_alive(pid: int, created: float | None = None) -> bool:
    """Whether the run of process ``pid`` (started at ``created``, when
    known) still runs. A process that has ended, a zombie, or another
    process that got the same id later is not that run. When the system
    will not say (access denied), the run counts as alive: its folder is
    kept, never taken from under it."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if created is None:
            return True
        return abs(process.create_time() - created) < _SAME_START
    except (psutil.NoSuchProcess, ValueError):
        return False
    except psutil.AccessDenied:
        return True


def write_owner(run_dir: Path) -> Path:
    """Record this process in a run's private folder."""
    path = Path(run_dir) / OWNER_NAME
    path.write_text(json.dumps(this_run()), encoding="utf-8")
    return path


def owner_alive(run_dir: Path, pid: int) -> bool:
    """Whether the run that owns ``run_dir`` (whose name gives ``pid``) is
    alive, by the owner record when there is one."""
    try:
        owner = json.loads((Path(run_dir) / OWNER_NAME).read_text(encoding="utf-8"))
        recorded_pid, created = int(owner["pid"]), float(owner["created"])
    except (OSError, ValueError, KeyError, TypeError):
        return run_alive(pid)  # no readable record: by the id alone
    return recorded_pid == pid and run_alive(pid, created)
