import sys
import time

import pytest

from approxhls.errors import ToolMissingError, ToolTimeoutError
from approxhls.toolrun import limit, run_tool


def test_a_tool_past_its_deadline_is_stopped_with_an_error_that_names_it_and_the_limit(tmp_path):
    marker = tmp_path / "child-alive"
    # the tool starts a grandchild that would outlive it: the whole group must die
    child = tmp_path / "child.py"
    child.write_text(f"import time\ntime.sleep(3)\nopen({str(marker)!r}, 'w')\n")
    script = tmp_path / "tool.py"
    script.write_text(f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, {str(child)!r}])\n"
                      "time.sleep(30)\n")
    code = str(script)
    t0 = time.monotonic()
    with pytest.raises(ToolTimeoutError, match=r"did not finish sleeping within 0\.5 s"):
        run_tool([sys.executable, code], what="sleeping", timeout=0.5)
    assert time.monotonic() - t0 < 10
    time.sleep(4)
    assert not marker.exists(), "the tool's own child kept running after the deadline"


def test_a_missing_tool_is_named():
    with pytest.raises(ToolMissingError, match="no-such-tool-xyz is not installed"):
        run_tool(["no-such-tool-xyz"], what="testing")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0, -3])
def test_deadlines_must_be_finite_and_positive(bad):
    with pytest.raises(ValueError, match="finite number of seconds above 0"):
        run_tool([sys.executable, "-c", "pass"], what="x", timeout=bad)


def test_the_scale_multiplies_every_limit_and_is_validated(monkeypatch):
    monkeypatch.setenv("APPROXHLS_TIMEOUT_SCALE", "2")
    assert limit("compile") == 1200.0
    for bad in ("nan", "0", "-1", "inf", "fast"):
        monkeypatch.setenv("APPROXHLS_TIMEOUT_SCALE", bad)
        with pytest.raises(ToolTimeoutError, match="APPROXHLS_TIMEOUT_SCALE"):
            limit("compile")


def test_output_and_exit_code_come_back():
    r = run_tool([sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"], what="x")
    assert (r.returncode, r.stdout) == (3, "hi\n")
