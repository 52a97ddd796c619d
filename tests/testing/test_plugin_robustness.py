"""The pytest plugin where a developer's machine differs from CI: foreign environment
variables, a killed pytest, a crashed server, a wrong ini value. Each runs a small project
with a separate pytest, as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from emulator.testing.wait import poll


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMULATOR_", "PYTEST_", "AWS_", "OPENAI_"))}
    env.update(extra)
    return env


def _pytest(tmp_path: Path, files: dict[str, str], env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


DEVELOPER_ENV = '''
    import os
    import time

    import boto3


    def test_the_environment(aws_client, emulator):
        assert not [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]
        assert "AWS_PROFILE" not in os.environ
        # the app's own client, through HTTP(S)_PROXY's NO_PROXY
        assert boto3.client("sqs").list_queues().get("QueueUrls", []) == []
        assert os.environ["NO_PROXY"].split(",") == ["corp.example", "127.0.0.1", "localhost"]
        assert "127.0.0.1" in os.environ["no_proxy"].split(",")
        assert os.environ["OPENAI_BASE_URL"] == emulator.endpoint + "/v1"
        assert os.environ["OPENAI_API_KEY"] == f"{emulator.access_key}:{emulator.secret_key}"


    def test_no_audit_log_group(aws_client):
        logs = aws_client("logs")
        for _ in range(3):
            logs.describe_log_groups()
        time.sleep(0.5)  # the audit log is written in batches, off the request path
        assert logs.describe_log_groups()["logGroups"] == []


    def test_restored_after():
        assert os.environ["OPENAI_API_KEY"] == "sk-the-developers-real-key"
        assert os.environ["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:9"
        assert os.environ["NO_PROXY"] == "corp.example"
'''


def test_the_developers_environment_stays_out(tmp_path: Path) -> None:
    """A profile that does not exist, a per-service endpoint, proxies that cannot reach
    127.0.0.1, a real OpenAI key: neither the server nor the tests see them."""
    env = _env(
        AWS_PROFILE="no-such-profile", AWS_DEFAULT_PROFILE="no-such-profile",
        AWS_ENDPOINT_URL_SQS="http://127.0.0.1:9", AWS_ENDPOINT_URL="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
        NO_PROXY="corp.example", OPENAI_API_KEY="sk-the-developers-real-key",
    )
    out = _pytest(tmp_path, {"test_env.py": DEVELOPER_ENV}, env)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-3000:]
    assert "3 passed" in out.stdout.strip().splitlines()[-1], out.stdout[-4000:]


CRASH = '''
    import os
    import signal


    def test_0_passes_with_server_output(emulator):
        with open(emulator.log_path, "a") as f:
            f.write("not in any report\\n")


    def test_1_fails_with_the_server_log(emulator, aws_client):
        aws_client("sqs").list_queues()
        with open(emulator.log_path, "a") as f:  # stands in for the server's traceback
            f.write("Traceback: the server's view of it\\n")
        assert False


    def test_2_server_dies(emulator):
        os.kill(emulator.proc.pid, signal.SIGKILL)  # an OOM kill, say
        emulator.proc.wait()


    def test_3_next(aws_client):
        aws_client("sqs").list_queues()
'''


def test_a_failure_shows_the_server_log_and_a_dead_server_says_so(tmp_path: Path) -> None:
    out = _pytest(tmp_path, {"test_crash.py": CRASH}, _env())
    text = out.stdout
    assert "FAILED test_crash.py::test_1_fails_with_the_server_log" in text, text[-4000:]
    assert "emulator server log" in text and "Traceback: the server's view of it" in text, text[-6000:]
    section = text.split("emulator server log", 1)[1].split("=====", 1)[0]  # test_1's lines only
    assert "not in any report" not in section, section
    assert "ERROR test_crash.py::test_3_next" in text, text[-4000:]
    assert "the emulator server exited with code -9; last log lines:" in text, text[-4000:]
    assert "Connection refused" not in text, text[-4000:]


HANG = '''
    import json
    import os
    import time


    def test_hangs(emulator, aws_client):
        aws_client("sqs").list_queues()
        info = {"pid": emulator.proc.pid, "data_dir": str(emulator.data_dir)}
        with open("info.json.tmp", "w") as f:
            json.dump(info, f)
        os.rename("info.json.tmp", "info.json")
        time.sleep(120)
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes (its parent, the killed pytest, cannot reap it).
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state != "Z"


def test_a_killed_pytest_takes_its_server_and_temp_dirs_along(tmp_path: Path) -> None:
    (tmp_path / "test_hang.py").write_text(textwrap.dedent(HANG))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "test_hang.py"],
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert poll(lambda: (tmp_path / "info.json").exists() or proc.poll() is not None, 120), "the test did not start"
        assert proc.poll() is None, "pytest ended early"
        info = json.loads((tmp_path / "info.json").read_text())
        pid, data_dir = int(info["pid"]), Path(info["data_dir"])
        assert _alive(pid) and data_dir.exists()
        # The server's temporary directories: its data dir, and the models dir the plugin made.
        environ = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
        temporary = [Path(d) for d in environ["EMULATOR_ORPHAN_CLEANUP"].split(os.pathsep)]
        assert data_dir in temporary and all(d.exists() for d in temporary)
        proc.send_signal(signal.SIGKILL)  # no teardown, no atexit
        proc.wait()
        assert poll(lambda: not _alive(pid), 30), "the server outlived pytest"
        assert poll(lambda: not any(d.exists() for d in temporary), 10), f"{temporary} left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_ini_value_is_reported_once(tmp_path: Path) -> None:
    tests = "".join(f"def test_{i}(aws_client):\n    pass\n\n\n" for i in range(3))
    out = _pytest(tmp_path, {"pytest.ini": "[pytest]\nemulator_keep = nosuchservice\n", "test_keep.py": tests}, _env())
    text = out.stdout + out.stderr
    assert out.returncode == 4, text[-4000:]
    assert text.count("cannot keep nosuchservice") == 1, text[-4000:]
    assert "emulator_keep = nosuchservice (pytest.ini)" in text, text[-4000:]
    bad = _pytest(tmp_path, {"pytest.ini": "[pytest]\nemulator_isolation = sometimes\n"}, _env())
    assert bad.returncode == 4 and (bad.stdout + bad.stderr).count("emulator_isolation must be 'test' or 'session'") == 1


def test_a_server_started_from_a_worker_thread_outlives_the_thread(tmp_path: Path) -> None:
    """Linux's parent-death signal fires when the starting *thread* ends: a server started
    from a thread pool (as conftests do to start several at once) must not get it."""
    from concurrent.futures import ThreadPoolExecutor

    from emulator.testing.server import EmulatorServer

    with ThreadPoolExecutor(1) as pool:
        server = pool.submit(lambda: EmulatorServer(data_dir=tmp_path / "d").start()).result()
    try:
        assert server.proc is not None
        assert not poll(lambda: server.proc is not None and server.proc.poll() is not None, 2.5), "the server died with the thread"
        assert server.client("sts").get_caller_identity()["Account"] == "000000000000"
    finally:
        server.cleanup()
