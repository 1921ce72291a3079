import json

import pytest
from pydantic import ValidationError

from app.core.config import HotkeySettings, Settings, load_settings, save_settings


def test_missing_file_gives_defaults(tmp_path):
    res = load_settings(tmp_path / "settings.json")
    assert res.message is None
    s = res.settings
    assert s.capture.fps == 8.0 and s.inference.interval_s == 0.5 and s.inference.risk == "neutral"
    assert s.hotkeys.bindings() == {
        "start_stop": "f8", "mark_extract": "f9", "cycle_risk": "f10", "toggle_overlay": "f11"
    }


def test_round_trip_is_readable_json(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings()
    s.capture.fps = 5.0
    s.overlay.opacity = 0.5
    s.device = "CPU"
    assert s.device == "cpu"  # normalised on assignment
    save_settings(s, path)
    raw = json.loads(path.read_text())
    assert raw["capture"]["fps"] == 5.0
    assert load_settings(path).settings == s


@pytest.mark.parametrize(
    "content, where",
    [
        ("{not json", "Expecting"),
        ('{"capture": {"fps": -3}}', "capture.fps"),
        ('{"device": "tpu"}', "device"),
        ('{"mystery": 1}', "mystery"),
        ('{"hotkeys": {"start_stop": "f9"}}', "bound to both"),
    ],
)
def test_bad_file_is_backed_up_and_replaced(tmp_path, content, where):
    path = tmp_path / "settings.json"
    path.write_text(content)
    res = load_settings(path)
    assert res.settings == Settings()
    assert res.message and where in res.message
    assert res.backup is not None and res.backup.read_text() == content  # nothing lost
    assert load_settings(path).message is None  # the replacement is valid


def test_duplicate_hotkeys_refused():
    with pytest.raises(ValidationError, match="bound to both"):
        HotkeySettings(start_stop="f8", mark_extract="F8")
    with pytest.raises(ValidationError):
        HotkeySettings(start_stop="  ")


def test_assignment_is_validated():
    s = Settings()
    with pytest.raises(ValidationError):
        s.overlay.opacity = 5.0


def test_a_file_nested_100000_deep_is_a_bad_file_not_a_recursion_error(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    res = load_settings(path)
    assert res.settings == Settings()
    assert res.message and "nested too deeply" in res.message
    assert load_settings(path).message is None  # backed up and replaced


def test_a_huge_file_is_not_read(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(" " * (2 << 20) + "{}")
    res = load_settings(path)
    assert res.message and "bytes" in res.message and res.backup is not None


def test_a_bad_file_in_a_read_only_folder_gives_defaults_and_says_so(tmp_path):
    from tests.mounts import read_only

    folder = tmp_path / "config"
    folder.mkdir()
    path = folder / "settings.json"
    path.write_text('{"capture": {"fps": -3}}')
    with read_only(folder):
        res = load_settings(path)
        assert res.settings == Settings() and res.backup is None
        assert "capture.fps" in res.message and "read-only" in res.message
        assert path.read_text() == '{"capture": {"fps": -3}}'  # left as it was
