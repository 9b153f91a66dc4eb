"""The one overwrite policy for output directories (fsutil.check_output_dir), case by case."""

import pytest

from approxhls.fsutil import OutputError, check_output_dir


def test_check_output_dir_refuses_what_must_not_be_written(tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "file").write_text("x")
    (work / "link").symlink_to(work / "sub")
    (work / "full").mkdir()
    (work / "full" / "notes.txt").write_text("mine")
    for path, overwrite, kind, needle in [
        ("  ", True, "", "out is empty"),
        (".", True, "", "'.' is the working directory or one of its parents"),
        ("sub/../..", True, "", "is the working directory or one of its parents"),
        ("file", True, "", "'file' exists and is not a directory"),
        ("link", True, "", "'link' exists and is not a directory"),
        ("sub", False, "", "'sub' exists; choose another or pass --force"),
        ("full", True, "", "'full' is not an output of this command; refusing to replace it"),
        ("full", True, "a project", "'full' is not a project; refusing"),
    ]:
        with pytest.raises(OutputError, match=needle.replace("(", r"\(")):
            check_output_dir(path, "out", overwrite, replaceable=lambda p: False, kind=kind)
    assert (work / "full" / "notes.txt").read_text() == "mine"


def test_check_output_dir_lets_a_new_an_empty_or_a_replaceable_directory_through(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a").write_text("x")
    (tmp_path / "empty").mkdir()
    assert check_output_dir("new/dir", "out", False) == tmp_path.joinpath("new/dir").relative_to(tmp_path)
    assert check_output_dir("empty", "out", True, replaceable=lambda p: False).name == "empty"
    seen = []
    assert check_output_dir("full", "out", True, replaceable=lambda p: seen.append(p) or True).name == "full"
    assert [p.name for p in seen] == ["full"]
    assert check_output_dir("full", "out", True).name == "full"  # no kind to check: --force is enough
