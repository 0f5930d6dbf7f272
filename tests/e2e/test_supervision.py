"""Each process of `make run` is supervised (issue 9, rows 3 and 11): a child that crashes or
hangs is restarted with back-off while the others keep serving, Ctrl-C (even twice) stops
everything, and what the servers create under var/ is private. Real processes throughout."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts.paths import ROOT, child_env, python
from scripts.serve import ServerConfig, Servers, free_port
from scripts.supervisor import answers
from tests.e2e.conftest import Client

pytestmark = pytest.mark.e2e


def model() -> Path:
    from scripts.train import model_path

    path = Path(os.environ.get("NETCHEMO_MODEL") or model_path())
    if not path.exists():
        pytest.fail(f"no trained model at {path}: run `make train` first")
    return path


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)


def kb_ids(messages: list[dict]) -> list[str]:
    return [m["custom"]["kb_answer"]["id"] for m in messages if "custom" in m]


def user() -> str:
    return f"sup-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("supervised")
    running = Servers(ServerConfig.in_folder(model(), folder)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(servers: Servers) -> Client:
    # Every test leaves the action server supervised and answering.
    servers.resume_supervision()
    servers.start_actions(wait=True)
    return Client(servers)


def actions_answer(servers: Servers) -> bool:
    return answers(servers.config.url(servers.config.actions_port, "/health"), 2.0)


def wait_for_recovery_note(servers: Servers, since: int) -> None:
    """The watchdog notes a recovery at its own next health check, which can come after
    ours on a busy machine: wait for it, so that it cannot land in the next test."""
    wait_for(
        lambda: any("actions is answering again" in e for e in servers.events[since:]),
        30,
        "the supervisor noted the recovery",
    )


def test_a_killed_action_server_is_restarted(servers: Servers, client: Client) -> None:
    old = servers.actions_proc
    since = len(servers.events)
    os.kill(old.pid, signal.SIGKILL)
    # The Rasa server keeps serving meanwhile (rule replies need no action server).
    assert client.ask(user(), "hello")
    wait_for(
        lambda: servers.actions_proc is not old and actions_answer(servers),
        60,
        "the action server restarted",
    )
    assert kb_ids(client.ask(user(), "what is CAPTEM?")) == ["captem"]
    assert any("actions exited (code -9)" in e for e in servers.events)
    wait_for_recovery_note(servers, since)


def test_a_stopped_action_server_counts_as_hung(
    servers: Servers, client: Client
) -> None:
    old = servers.actions_proc
    since = len(servers.events)
    os.kill(old.pid, signal.SIGSTOP)
    started = time.monotonic()
    wait_for(lambda: servers.actions_proc is not old, 60, "the hung one replaced")
    assert time.monotonic() - started > 5, "restarted before 3 failed checks"
    assert old.wait(timeout=10) == -signal.SIGKILL
    wait_for(lambda: actions_answer(servers), 60, "the new one answers")
    assert kb_ids(client.ask(user(), "what is FOLFOX?")) == ["folfox"]
    assert any("actions did not answer 3 health checks" in e for e in servers.events)
    wait_for_recovery_note(servers, since)


def test_stop_actions_and_paused_supervision_leave_it_down(
    servers: Servers, client: Client
) -> None:
    before = len(servers.events)
    servers.stop_actions()
    old = servers.actions_proc
    time.sleep(3 * servers.config.policy.interval + 2)
    assert servers.actions_proc is old and old.poll() is not None
    servers.start_actions(wait=True)
    with servers.unsupervised():
        paused = servers.actions_proc
        os.kill(paused.pid, signal.SIGSTOP)
        time.sleep(4 * (servers.config.policy.interval + servers.config.policy.timeout))
        assert servers.actions_proc is paused and paused.poll() is None
        os.kill(paused.pid, signal.SIGCONT)
    assert servers.events[before:] == []


def test_a_killed_rasa_server_is_restarted(servers: Servers, client: Client) -> None:
    rasa = servers.children["rasa"].proc
    os.kill(rasa.pid, signal.SIGKILL)
    wait_for(
        lambda: servers.children["rasa"].proc is not rasa
        and answers(servers.config.url(servers.config.rasa_port, "/webhooks/rest/"), 2),
        240,
        "the Rasa server restarted",
    )
    assert actions_answer(servers), "the action server kept running"
    assert kb_ids(client.ask(user(), "what is CAPTEM?")) == ["captem"]
    assert any("rasa exited (code -9)" in e for e in servers.events)


def test_rasa_server_takes_at_most_64_kb(servers: Servers, client: Client) -> None:
    body = b'{"sender": "big", "message": "' + b"x" * 70_000 + b'"}'
    request = urllib.request.Request(
        client.url, data=body, headers={"content-type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 413
    assert client.ask(user(), "hello")


def test_files_are_private(servers: Servers) -> None:
    folder = servers.config.tracker_db.parent
    log_dir = servers.config.log_dir
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    paths = list(log_dir.iterdir()) + list(folder.glob("tracker.db*"))
    assert len(paths) >= 3
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# ---- `make run` itself: python scripts/serve.py in the foreground ------------------------


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_make_run_restarts_the_widget_and_stops_on_ctrl_c_twice(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    (var / "tracker.db").touch(mode=0o644)  # as an older version left it
    (var / "old.log").touch(mode=0o644)
    out = tmp_path / "terminal.txt"
    ports = [str(free_port()) for _ in range(3)]
    cmd = [python(), "scripts/serve.py", "--model", str(model()), "--port", ports[0],
           "--actions-port", ports[1], "--widget-port", ports[2]]  # fmt: skip
    with open(out, "wb") as terminal:
        serve = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=child_env(NETCHEMO_VAR=str(var)),
            stdout=terminal,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: b"The assistant is ready" in out.read_bytes(), 240, "ready")
        kids = children_of(serve.pid)
        assert len(kids) == 3
        assert stat.S_IMODE(var.stat().st_mode) == 0o700
        for path in var.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

        widget = next(
            k
            for k in kids
            if b"widget.serve" in Path(f"/proc/{k}/cmdline").read_bytes()
        )
        os.kill(widget, signal.SIGKILL)
        wait_for(lambda: b"widget is answering again" in out.read_bytes(), 60, "widget")
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[2]}/", timeout=5) as r:
            assert r.status == 200
        kids = children_of(serve.pid)

        serve.send_signal(signal.SIGINT)
        time.sleep(0.2)
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0
        assert [k for k in kids if alive(k)] == []
    finally:
        if serve.poll() is None:
            serve.kill()
    terminal_lines = out.read_text(errors="replace").splitlines()
    restarts = [line for line in terminal_lines if line.startswith("supervisor: ")]
    assert restarts and all(len(line) < 200 for line in restarts), restarts
