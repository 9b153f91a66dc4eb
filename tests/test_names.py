import pytest

from approxhls.errors import InvalidNameError
from approxhls.names import check_identifier, check_path


@pytest.mark.parametrize("name", ["my prj", "a;b", "x\"y", "1abc", "", "input", "int", "a-b", "a$b"])
def test_bad_identifiers(name):
    with pytest.raises(InvalidNameError):
        check_identifier(name, "project name")


@pytest.mark.parametrize("path", ["out dir", "a;b", "x'y", 'q"', "../escape", "a/../b", "p$HOME", "t[1]", "b{x}", ""])
def test_bad_paths(path):
    with pytest.raises(InvalidNameError) as e:
        check_path(path, "project directory")
    assert "project directory" in str(e.value)


def test_good_names_pass():
    assert check_identifier("approxhls_model") == "approxhls_model"
    assert str(check_path("/tmp/x/prj-1.v2")) == "/tmp/x/prj-1.v2"
