"""An interrupted search continues (--resume) to exactly the front and plans of one that was never interrupted: the
recorded search of tests/search_golden.py, interrupted in-process and by a real SIGINT to `approxhls search`."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search_golden import MODEL, cli_args, frozen_prices, outputs, recorded, run_config

TESTS = Path(__file__).parent


def _interrupt_fitness_call(monkeypatch, n: int):
    """The n-th fitness evaluation (generation n) raises KeyboardInterrupt, as Ctrl-C there would."""
    from approxhls.search.evaluator import Fitness

    original, calls = Fitness.__call__, []

    def interrupted(self, assignments):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return original(self, assignments)

    monkeypatch.setattr(Fitness, "__call__", interrupted)


def _interrupt_reevaluation(monkeypatch, n: int):
    """Ctrl-C after the last generation, while the front is measured on the test set."""
    import approxhls.search.run as run

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "reevaluate", interrupted)


@pytest.mark.parametrize("interrupt, n, done", [(_interrupt_fitness_call, 2, 1),
                                                (_interrupt_reevaluation, None, 3)])
def test_a_resumed_search_ends_as_an_uninterrupted_one(tmp_path, monkeypatch, interrupt, n, done):
    from approxhls.search.checkpoint import checkpoint_path
    from approxhls.search.run import SearchInterrupted

    out = tmp_path / "s"
    interrupt(monkeypatch, n)
    with pytest.raises(SearchInterrupted, match=f"after generation {done} of 3; its state is in .*--resume"):
        run_config("dataflow", out)
    monkeypatch.undo()
    assert not out.exists() and checkpoint_path(out).is_file()  # nothing half-written; the state beside it
    run_config("dataflow", out, resume=True)
    assert outputs(out) == recorded("dataflow")  # element for element, plans byte for byte
    assert not checkpoint_path(out).exists()


_CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from search_golden import frozen_prices
from approxhls.cli import main
from approxhls.search.evaluator import Fitness

original = Fitness.__call__


def slow(self, assignments):
    if self.evaluations:  # from the second generation on (the first is saved): time for the signal to land
        time.sleep(120)
    return original(self, assignments)


Fitness.__call__ = slow
with frozen_prices():
    sys.exit(main(sys.argv[1:]))
"""


def test_sigint_ends_the_command_with_one_line_and_code_130_and_resume_continues(tmp_path):
    from approxhls.search.checkpoint import checkpoint_path

    out = tmp_path / "s"
    child = tmp_path / "child.py"
    child.write_text(_CHILD.format(tests=str(TESTS)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS)]))
    argv = [sys.executable, str(child), "search", str(MODEL), "--out", str(out), *cli_args("dataflow")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 240
        while not checkpoint_path(out).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert checkpoint_path(out).exists(), proc.communicate(timeout=5) if proc.poll() is not None else "timeout"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout
    message = stderr.strip().splitlines()[-1]
    assert message.startswith("search interrupted after generation 1 of 3") and "--resume" in message
    assert not out.exists()
    from approxhls.cli import main

    with frozen_prices():
        assert main(["search", str(MODEL), "--out", str(out), *cli_args("dataflow"), "--resume"]) == 0
    assert outputs(out) == recorded("dataflow")


def test_resume_refuses_other_options_and_a_missing_or_broken_checkpoint(tmp_path, monkeypatch):
    from approxhls.search.checkpoint import checkpoint_path
    from approxhls.search.options import SearchOptionError
    from approxhls.search.run import SearchInterrupted

    out = tmp_path / "s"
    with pytest.raises(SearchOptionError, match="no interrupted search"):
        run_config("dataflow", out, resume=True)
    _interrupt_fitness_call(monkeypatch, 2)
    with pytest.raises(SearchInterrupted):
        run_config("dataflow", out)
    monkeypatch.undo()
    saved = checkpoint_path(out).read_bytes()
    with pytest.raises(SearchOptionError, match=r"--pop 9 \(was 8\)"):
        run_config("dataflow", out, resume=True, pop=9)
    with pytest.raises(SearchOptionError, match="interrupted search .* is saved"):  # neither resumed nor forced
        run_config("dataflow", out)
    checkpoint_path(out).write_bytes(saved[: len(saved) // 2])  # truncated by hand
    from approxhls.errors import ApproxHLSError

    with pytest.raises(ApproxHLSError, match="cannot be read.*--force"):
        run_config("dataflow", out, resume=True)
    assert not out.exists()
