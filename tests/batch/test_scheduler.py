"""`generate --executor dask --scheduler ADDRESS` with a wrong address:
findings of the second review, each reproduced here first. A port that
accepts but never answers hung with no output (stopped after 240 s); an
HTTP answer gave "MemoryError: Unable to allocate 3.07 EiB" with a
traceback; a refused port a traceback after 30 s, exit 1. Each now ends
in exit 2 with the address and what was found there, within about
--scheduler-timeout. The command runs in a child process under an
address-space limit with a watchdog (a guard against hangs, not a speed
assertion).
"""
from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading

import pytest

pytest.importorskip("distributed")

from tests.batch.test_parquet import client_frames, write_parquet  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

ADDRESS_SPACE = 3 * 1024**3
WATCHDOG_SECONDS = 120


def _serve(answer: bytes | None) -> tuple[int, socket.socket]:
    """A local port that accepts and then sends ``answer`` (None: nothing, ever)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def loop() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)
            if answer is not None:
                connection.sendall(answer)

    threading.Thread(target=loop, daemon=True).start()
    return server.getsockname()[1], server


def _free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_parquet(client_frames(4), tmp_path_factory.mktemp("data") / "parquet")


def _generate(data, out, address: str) -> tuple[int, str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    command = [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(out), "--executor", "dask", "--scheduler", address, "--scheduler-timeout", "3"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=WATCHDOG_SECONDS, env=env, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"generate still running after {WATCHDOG_SECONDS} s: a hang")
    output = " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in output and "MemoryError" not in output, output
    return done.returncode, output


def test_a_port_that_never_answers(data, tmp_path):
    port, server = _serve(None)
    try:
        code, output = _generate(data, tmp_path / "out", f"tcp://127.0.0.1:{port}")
    finally:
        server.close()
    assert code == 2
    assert f"--scheduler: tcp://127.0.0.1:{port} accepted the connection but sent nothing within 3 s" in output


def test_an_http_server(data, tmp_path):
    port, server = _serve(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    try:
        code, output = _generate(data, tmp_path / "out", f"127.0.0.1:{port}")
    finally:
        server.close()
    assert code == 2
    assert f"tcp://127.0.0.1:{port} answered, but not as a Dask scheduler does" in output


def test_a_refused_port(data, tmp_path):
    port = _free_port()
    code, output = _generate(data, tmp_path / "out", f"tcp://127.0.0.1:{port}")
    assert code == 2
    assert f"cannot connect to tcp://127.0.0.1:{port}" in output and "refused" in output


def test_an_address_without_a_port(data, tmp_path):
    code, output = _generate(data, tmp_path / "out", "tcp://127.0.0.1")
    assert code == 2 and "has no host and port" in output


def test_file_urls_keep_their_absolute_path():
    from cxroi_xl.cli import _url_or_path
    from pathlib import Path

    assert _url_or_path(Path("file:///abs/path")) == "file:///abs/path"
    assert _url_or_path(Path("s3://bucket/data")) == "s3://bucket/data"
    assert _url_or_path(Path("relative/data")) == "relative/data"
