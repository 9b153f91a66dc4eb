"""`approxhls search` as a careless user meets it: values out of range and flags that cannot combine are refused with
a message naming the flag (exit code 2, nothing written); an output directory is never overwritten without --force,
replaced only by complete results, and never the working directory or one above it."""

import pytest

from search_golden import MODEL, frozen_prices


def _search(tmp_path, *args, out=None, model=MODEL):
    from approxhls.cli import main

    with frozen_prices():
        return main(["search", str(model), "--out", str(out or tmp_path / "o"), *args])


@pytest.mark.parametrize("args, named", [
    (["--pop", "0"], "--pop"), (["--pop", "-3"], "--pop"), (["--gens", "0"], "--gens"), (["--jobs", "0"], "--jobs"),
    (["--calib", "0"], "--calib"), (["--val", "0"], "--val"), (["--max-loss", "nan"], "--max-loss"),
    (["--max-loss", "inf"], "--max-loss"), (["--max-loss", "-0.01"], "--max-loss"), (["--tiles", "0"], "--tiles"),
    (["--seed", "-1"], "--seed"), (["--test-limit", "0"], "--test-limit"),
    (["--tile-size", "4"], "--tile-size needs --tiles"), (["--uniform-tuning"], "--uniform-tuning needs --tune"),
    (["--scheduler", "tcp://127.0.0.1:1", "--jobs", "2"], "--jobs cannot be combined with --scheduler"),
    (["--objective", "luts", "--luts"], "--luts adds LUTs to the energy objective"),
])
def test_values_and_combinations_that_cannot_work_are_refused(tmp_path, capsys, args, named):
    assert _search(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {named}") and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the parent's checkpoint


@pytest.mark.parametrize("args, named", [(["--calib", "1300"], "--calib 1300"), (["--val", "136"], "--val 136")])
def test_sizes_beyond_the_split_are_refused(tmp_path, capsys, args, named):
    assert _search(tmp_path, *args) == 2  # digits: 1347 training samples, 1212 fitted, 135 held out
    assert capsys.readouterr().err.startswith(f"error: {named} asks for more samples than the")


def test_force_and_resume_do_not_combine(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _search(tmp_path, "--force", "--resume")
    assert e.value.code == 2 and "--resume: not allowed with argument --force" in capsys.readouterr().err


def test_an_output_that_encloses_the_working_directory_or_holds_the_model_is_refused(tmp_path, monkeypatch, capsys):
    import shutil

    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    for out in (".", str(work), str(tmp_path / "a"), ".."):
        assert _search(tmp_path, "--force", out=out) == 2
        assert "is the working directory or encloses it" in capsys.readouterr().err
    assert (work / "notes.txt").read_text() == "mine"
    model = tmp_path / "run" / "model"
    shutil.copytree(MODEL, model)
    assert _search(tmp_path, "--force", out=tmp_path / "run", model=model) == 2
    assert "is inside --out" in capsys.readouterr().err and (model / "model.h5").exists()
    (tmp_path / "file").write_text("x")
    assert _search(tmp_path, out=tmp_path / "file") == 2 and "is a file" in capsys.readouterr().err


def _tree(d):
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_an_existing_output_is_replaced_only_with_force_and_only_by_complete_results(tmp_path, monkeypatch, capsys):
    """Refused without --force; an interrupted --force run leaves the old results as they were; a complete one
    replaces them all (no old plan beside the new pareto.json)."""
    import json

    from approxhls.search.evaluator import Fitness

    out = tmp_path / "o"
    (out / "plans").mkdir(parents=True)
    for i in range(12):
        (out / "plans" / f"point_{i:02d}.json").write_text("{}")
    (out / "pareto.json").write_text('{"old": true}')
    (out / "notes.txt").write_text("the user's")
    before = _tree(out)
    small = ["--pop", "4", "--gens", "2", "--calib", "60", "--val", "40", "--test-limit", "60"]
    assert _search(tmp_path, *small) == 2 and "exists; --force replaces it" in capsys.readouterr().err
    assert _tree(out) == before

    original, calls = Fitness.__call__, []

    def interrupted(self, assignments):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, assignments)

    monkeypatch.setattr(Fitness, "__call__", interrupted)
    with pytest.raises(SystemExit) as e:
        _search(tmp_path, *small, "--force")
    err = capsys.readouterr().err
    lines = err.strip().splitlines()  # the progress bar's, then one line on what was saved
    assert e.value.code == 130 and "Traceback" not in err and [line for line in lines if "interrupted" in line] == \
        lines[-1:] and "--resume" in lines[-1]
    assert _tree(out) == before  # the old results, untouched
    monkeypatch.undo()
    assert _search(tmp_path, *small, "--force") == 0
    new = json.loads((out / "pareto.json").read_text())
    assert sorted(p.relative_to(out).as_posix() for p in (out / "plans").iterdir()) == \
        sorted(p["plan_file"] for p in new["points"])
    assert sorted(p.name for p in out.iterdir()) == ["pareto.json", "pareto.png", "plans"]
    assert not list(tmp_path.glob("o.checkpoint*")) and not list(tmp_path.glob(".o-*"))  # nothing left beside it
