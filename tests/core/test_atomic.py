import pytest

from app.core.atomic import atomic_path


def test_replaces_target_on_success(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new")
        assert not target.exists()  # nothing visible until the block ends
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_swap_files_exchanges_contents_and_leaves_nothing_behind(tmp_path):
    from app.core.atomic import swap_files

    a, b = tmp_path / "qnet.safetensors", tmp_path / "qnet.prev.safetensors"
    a.write_bytes(b"new model")
    b.write_bytes(b"old model")
    swap_files(a, b)
    assert (a.read_bytes(), b.read_bytes()) == (b"old model", b"new model")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.name, b.name])
    with pytest.raises(FileNotFoundError):
        swap_files(a, tmp_path / "missing")
    assert (a.read_bytes(), b.read_bytes()) == (b"old model", b"new model")
