"""The pytest plugin as a user meets it: a tiny test file run by a separate pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from emulator.testing.server import EmulatorServer

EXAMPLE = textwrap.dedent(
    '''
    def test_sts(aws_client):
        assert aws_client("sts").get_caller_identity()["Account"] == "000000000000"


    def test_sqs_resource(aws_resource, aws_client):
        queue = aws_resource("sqs").create_queue(QueueName="plugin-example")
        queue.send_message(MessageBody="hi")
        assert aws_client("sqs").receive_message(QueueUrl=queue.url)["Messages"][0]["Body"] == "hi"


    def test_server_object(emulator):
        assert emulator.endpoint.startswith("http://127.0.0.1:")
        assert (emulator.data_dir / "keys.json").exists()


    def test_a_model_to_serve(aws_client):
        # The project has no ./models: the bundled model is served all the same.
        models = aws_client("bedrock").list_foundation_models(byOutputModality="TEXT")["modelSummaries"]
        assert [m["modelId"] for m in models] == ["smollm2-135m-instruct.q4-1"]


    def test_failing_on_purpose(aws_client):
        assert aws_client("sts").get_caller_identity()["Account"] == "999999999999"
    '''
)


def readme_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(# test_orders.py.*?)```", readme, re.DOTALL)
    assert len(blocks) == 1, "README's pytest example is missing"
    return blocks[0]


def test_plugin_fixtures_in_a_user_project(tmp_path: Path) -> None:
    """A user's project: our example plus the README's, verbatim, in one pytest run
    (one session-scoped server for both files)."""
    (tmp_path / "test_example.py").write_text(EXAMPLE)
    (tmp_path / "test_orders.py").write_text(readme_example())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMULATOR_", "PYTEST_"))}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:randomly", "test_example.py", "test_orders.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = out.stdout[-4000:] + out.stderr[-3000:]
    # All pass except the deliberately wrong assertion, so the fixtures are real.
    assert "FAILED test_example.py::test_failing_on_purpose" in out.stdout, report
    assert "PASSED test_orders.py::test_save_order" in out.stdout, report
    summary = out.stdout.strip().splitlines()[-1]
    assert "5 passed" in summary and "1 failed" in summary, report
    assert out.returncode == 1


def test_server_lifecycle(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path / "d")
    with server:
        assert server.proc is not None and server.proc.poll() is None
        assert server.client("sts").get_caller_identity()["Account"] == "000000000000"
        pid = server.proc.pid
    assert server.proc is None
    # The process group is gone: signalling it fails.
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        pass
    else:  # pragma: no cover - a leaked server is a bug
        raise AssertionError("server process group still alive")
    assert (tmp_path / "d" / "keys.json").exists()  # a caller-provided data dir is kept


ISOLATION = textwrap.dedent(
    '''
    import os
    import subprocess
    import sys

    import boto3
    import pytest

    TABLE = dict(TableName="tbl", BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])


    def test_one(aws_client):
        aws_client("dynamodb").create_table(**TABLE)
        aws_client("sqs").create_queue(QueueName="q")


    def test_two(aws_client):
        ddb = aws_client("dynamodb")
        assert ddb.list_tables()["TableNames"] == []
        ddb.create_table(**TABLE)  # the same name again: the account is new
        assert [u.rsplit("/", 1)[-1] for u in aws_client("sqs").list_queues().get("QueueUrls", [])] == QUEUES_AFTER_RESET
        # Code under test, unchanged: no endpoint or keys given, in process and in a subprocess.
        assert boto3.client("dynamodb").list_tables()["TableNames"] == ["tbl"]
        code = "import boto3; print(boto3.client('dynamodb').list_tables()['TableNames'])"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "['tbl']"


    @pytest.mark.emulator_shared_state
    def test_three(aws_client):
        assert aws_client("dynamodb").list_tables()["TableNames"] == ["tbl"]


    def test_four_without_the_emulator():
        assert "AWS_ENDPOINT_URL" not in os.environ  # set only for tests that use it
    '''
)


def _run_project(tmp_path: Path, ini: str, queues_after_reset: list[str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    (tmp_path / "test_isolation.py").write_text(ISOLATION.replace("QUEUES_AFTER_RESET", repr(queues_after_reset)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMULATOR_", "PYTEST_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:randomly", "test_isolation.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_each_test_starts_with_an_empty_account(tmp_path: Path) -> None:
    """The default, like moto's mock_aws: every test sees a new account; ``emulator_keep``
    spares some services and the marker spares one test."""
    out = _run_project(tmp_path, "emulator_keep = sqs\n", ["q"])
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-3000:]
    assert "4 passed" in out.stdout.strip().splitlines()[-1]


def test_session_isolation_shares_state(tmp_path: Path) -> None:
    out = _run_project(tmp_path, "emulator_isolation = session\n", ["q"])
    # test_two finds test_one's table: its list_tables assertion fails, the rest pass.
    assert "FAILED test_isolation.py::test_two" in out.stdout, out.stdout[-4000:]
    assert "PASSED test_isolation.py::test_three" in out.stdout, out.stdout[-4000:]
    bad = _run_project(tmp_path, "emulator_isolation = sometimes\n", [])
    assert bad.returncode != 0 and "emulator_isolation must be 'test' or 'session'" in bad.stdout + bad.stderr
