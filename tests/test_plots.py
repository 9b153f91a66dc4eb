"""The multiplier plots draw what their data says: every design once in its panel, the Pareto fronts through the
right points, the exact reference where it belongs (read back from the figure's artists)."""

import numpy as np
import pytest

from approxhls import plots


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions close, kept to read back."""
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    return figures


def _artists(ax) -> dict:
    """label -> points of each labelled scatter and line of one panel; unlabelled scatters under '_scatter'."""
    found = {}
    for c in ax.collections:
        label = c.get_label() if not c.get_label().startswith("_") else "_scatter"
        found.setdefault(label, []).extend(map(tuple, np.asarray(c.get_offsets()).tolist()))
    for line in ax.lines:
        found[line.get_label()] = list(map(tuple, line.get_xydata().tolist()))
    return found


def _entry(name, family, signed, luts, mae, bits=8, **extra):
    return {"name": name, "family": family, "signed": signed, "bits": bits, "cost": {"luts": luts},
            "metrics": {"mae_pct": mae}, **extra}


BUILTIN = [_entry("exact_u8", "exact", False, 100, 0.0), _entry("a_u8", "a", False, 60, 1.0),
           _entry("b_u8", "b", False, 80, 2.0), _entry("exact_s8", "exact", True, 120, 0.0),
           _entry("a_u4", "a", False, 5, 9.0, bits=4), {**_entry("c_u8", "c", False, 1, 0.5), "cost": None}]


def test_import_front_panels(tmp_path, drawn):
    out = plots.plot_import_front([_entry("i1", "user", False, 50, 3.0)], BUILTIN, tmp_path / "f.png", "lib")
    assert out.read_bytes()[:4] == b"\x89PNG"
    unsigned, signed = (_artists(ax) for ax in drawn[0].axes[:2])
    assert unsigned["built-in (3)"] == [(1e-4, 100), (1.0, 60), (2.0, 80)] and unsigned["lib (1)"] == [(3.0, 50)]
    assert unsigned["joint Pareto front"] == [(1e-4, 100), (1.0, 60), (3.0, 50)]
    assert unsigned["exact_u8 (100 LUTs)"][0][1] == 100
    assert signed["built-in (1)"] == [(1e-4, 120)] and not any(k.startswith("lib") for k in signed)
    assert signed["joint Pareto front"] == [(1e-4, 120)] and signed["exact_s8 (120 LUTs)"][0][1] == 120
    assert [ax.get_title() for ax in drawn[0].axes[:2]] == ["unsigned 8x8", "signed 8x8"]
    plots.plot_import_front([], [e for e in BUILTIN if e["signed"]], tmp_path / "g.png")
    empty = _artists(drawn[1].axes[0])
    assert empty == {}, "a panel with no designs has no front and no exact line"


def test_multiplier_tradeoff_panels(tmp_path, drawn):
    rows = [{**e, "rel_luts": e["cost"]["luts"] / 100, "rel_energy": r} for e, r in
            zip(BUILTIN[:4], (1.0, 0.4, 0.3, 1.0))] + [{**BUILTIN[4], "rel_luts": 0.1, "rel_energy": 0.1},
                                                        {**BUILTIN[1], "name": "x", "rel_luts": None}]
    plots.plot_multiplier_tradeoffs(rows, tmp_path / "t.png")
    luts, energy = (_artists(ax) for ax in drawn[0].axes[:2])
    assert luts["exact"] == [(1e-4, 1.0)] and luts["exact (signed)"] == [(1e-4, 1.2)]
    assert luts["a"] == [(1.0, 0.6)] and luts["b"] == [(2.0, 0.8)]
    assert luts["Pareto front (unsigned)"] == [(1e-4, 1.0), (1.0, 0.6)]
    assert energy["b"] == [(2.0, 0.3)]
    assert energy["Pareto front (unsigned)"] == [(1e-4, 1.0), (1.0, 0.4), (2.0, 0.3)]
    assert sorted(energy["_scatter"]) == sorted(energy["Pareto front (unsigned)"])
    assert drawn[0].axes[0].get_xscale() == "log"
