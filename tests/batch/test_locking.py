"""The output folder's lock and the "is that run alive" check, on every
platform through filelock and psutil (cxroi_xl/batch/locking.py).

The README promises that a second `generate` into a folder another run is
writing exits with code 2, and that a killed run's private folder is taken
in or removed by the next run. These tests hold the lock from another
process (as a second command would) and kill real processes; nothing here
depends on timing.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from cxroi_xl.batch import locking
from cxroi_xl.batch.run import _OutputFolder
from tests.batch.test_manifest import counts, run
from tests.batch.test_run import subset

ROOT = Path(__file__).resolve().parents[2]

_HOLDER = r"""
import sys
from pathlib import Path
from cxroi_xl.batch.locking import OutLock
lock = OutLock(Path(sys.argv[1]))
assert lock.acquire()
print("held", flush=True)
sys.stdin.readline()  # hold until told, or until killed
lock.release()
"""


def _holder(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_lock_is_refused_and_the_folder_keeps_no_lock_file(tmp_path):
    first, second = locking.OutLock(tmp_path), locking.OutLock(tmp_path)
    assert first.acquire()
    with pytest.raises(locking.FolderBusy):
        second.acquire()
    first.release()
    assert not (tmp_path / locking.LOCK_NAME).exists()
    assert second.acquire()
    second.release()
    assert list(tmp_path.iterdir()) == []


def test_generate_exits_2_while_another_process_holds_the_folder(tmp_path):
    data = subset(tmp_path, ["rose-bakery"])
    out = tmp_path / "out"
    out.mkdir()
    holder = _holder(out)
    try:
        result = run(data, out)
        assert result.exit_code == 2 and "another cxroi-xl generate is writing to this folder" in counts(result)
        assert not (out / "rose-bakery.xlsx").exists()
    finally:
        holder.communicate("\n")
    assert run(data, out).exit_code == 0


def test_a_killed_holder_leaves_the_folder_usable(tmp_path):
    """The operating system drops the lock of a killed process."""
    data = subset(tmp_path, ["rose-bakery"])
    out = tmp_path / "out"
    out.mkdir()
    holder = _holder(out)
    holder.send_signal(signal.SIGKILL) if hasattr(signal, "SIGKILL") else holder.kill()
    holder.wait()
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert (out / "rose-bakery.xlsx").is_file() and not (out / locking.LOCK_NAME).exists()


def test_a_run_records_its_process_and_start_time(tmp_path):
    folder = _OutputFolder(tmp_path / "out")
    try:
        owner = json.loads((folder.run_dir / locking.OWNER_NAME).read_text())
        assert owner == {"pid": os.getpid(), "created": psutil.Process().create_time()}
        assert locking.owner_alive(folder.run_dir, os.getpid())
    finally:
        folder.close()


def _ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_run_alive_tells_a_reused_process_id_from_the_run():
    me = psutil.Process()
    assert locking.run_alive(me.pid, me.create_time())
    assert locking.run_alive(me.pid)  # no start time known: by the id alone
    # the same id with another start time: a later process that got the id
    assert not locking.run_alive(me.pid, me.create_time() - 3600)
    assert not locking.run_alive(_ended_pid(), me.create_time())


def _run_folder(out: Path, pid: int, created: float | None, token: str) -> Path:
    folder = out / f".cxroi-run-{pid}-{token}"
    folder.mkdir(parents=True)
    if created is not None:
        (folder / locking.OWNER_NAME).write_text(json.dumps({"pid": pid, "created": created}))
    (folder / "journal.jsonl").write_text("")
    return folder


def test_without_a_lock_a_live_runs_folder_is_kept_and_dead_ones_taken_in(tmp_path, monkeypatch):
    """Where the file system cannot lock, runs are told apart by their
    owner records: a live run's folder is never touched, a killed run's
    (or one whose id a later process reuses) is taken in and removed."""
    monkeypatch.setattr(locking.OutLock, "acquire", lambda self: False)
    data = subset(tmp_path, ["rose-bakery"])
    out = tmp_path / "out"
    me = psutil.Process()
    live = _run_folder(out, me.pid, me.create_time(), "0" * 16)
    reused = _run_folder(out, me.pid, me.create_time() - 3600, "1" * 16)
    ended = _run_folder(out, _ended_pid(), me.create_time(), "2" * 16)
    old_format = _run_folder(out, _ended_pid(), None, "3" * 16)
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert live.is_dir()
    assert not reused.exists() and not ended.exists() and not old_format.exists()


def test_a_killed_generate_leaves_a_folder_the_next_run_takes_in(tmp_path):
    """A whole `generate` killed after its lock and folder exist: the next
    run takes the folder in and removes it."""
    out = tmp_path / "out"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from cxroi_xl.batch.run import _OutputFolder\n"
        "folder = _OutputFolder(Path(sys.argv[1]))\n"
        "os.kill(os.getpid(), signal.SIGKILL) if hasattr(signal, 'SIGKILL') else os._exit(9)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    left = list(out.glob(".cxroi-run-*"))
    assert len(left) == 1 and (left[0] / locking.OWNER_NAME).is_file()
    data = subset(tmp_path, ["rose-bakery"])
    result = run(data, out)
    assert result.exit_code == 0, result.output
    assert not list(out.glob(".cxroi-run-*")) and not (out / locking.LOCK_NAME).exists()
