import sys

from app.core import paths


def test_arcx_home_moves_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCX_HOME", str(tmp_path))
    assert paths.data_dir() == tmp_path / "data"
    assert paths.runs_dir().is_dir() and paths.runs_dir().parent == tmp_path / "data"
    assert paths.demo_dir() != paths.runs_dir()
    assert paths.settings_file() == tmp_path / "config" / "settings.json"
    assert paths.log_dir() == tmp_path / "logs"
    assert paths.cache_dir() == tmp_path / "cache" and paths.cache_dir().is_dir()


def test_bundle_root_from_source_and_frozen(tmp_path, monkeypatch):
    assert (paths.bundle_root() / "app" / "__init__.py").is_file()
    assert not paths.is_frozen()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert paths.bundle_root() == tmp_path
    assert paths.resources_dir() == tmp_path / "resources"
    assert paths.bundled_models_dir() == tmp_path / "models"
    assert paths.is_frozen()
