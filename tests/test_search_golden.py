"""The search finds what it found before: small searches' fronts and plans equal those recorded on the code before
the search was split into problem / fitness / front / choice modules (tests/search_golden.py)."""

import pytest

from search_golden import CONFIGS, outputs, recorded, run_config


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_search_gives_the_recorded_front_and_plans(name, tmp_path):
    run_config(name, tmp_path / name)
    got, want = outputs(tmp_path / name), recorded(name)
    assert sorted(got) == sorted(want)  # the same plan files
    for path in want:
        assert got[path] == want[path], path  # pareto.json element for element, plans byte for byte
