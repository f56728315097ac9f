"""How the command reports errors: a user's mistake in one line (exit 2), a bug with its traceback
and a request to report it (exit 1); ``--epochs`` as the former name of ``--iterations``."""

from __future__ import annotations

import errno

import pytest

from nodebio import cli
from nodebio.errors import DataValidationError, NodebioError, UsageError


def _failing(monkeypatch, error: BaseException) -> None:
    def run(args):
        raise error

    monkeypatch.setattr(cli, "_run", run)


def test_a_package_error_is_one_line_and_exit_status_2(monkeypatch, capsys):
    _failing(monkeypatch, UsageError("factor must lie in [0.001, 1000], got 1e+300."))
    assert cli.entry(["info", "limonene"]) == 2
    err = capsys.readouterr().err
    assert err == "error: factor must lie in [0.001, 1000], got 1e+300.\n"


def test_an_os_error_naming_its_file_is_one_line_with_the_file(monkeypatch, capsys):
    _failing(monkeypatch, OSError(errno.ENOSPC, "No space left on device", "runs/a/scan.csv"))
    assert cli.entry(["info", "limonene"]) == 2
    assert capsys.readouterr().err == "error: No space left on device: runs/a/scan.csv\n"


@pytest.mark.parametrize("error", [ValueError("shape mismatch: (3, 4) and (4, 5)"), IndexError("index 7"),
                                   RuntimeError("mat1 and mat2 shapes cannot be multiplied"),
                                   OSError("an OSError without a file")])
def test_any_other_error_is_a_bug_with_its_traceback_and_a_request_to_report_it(monkeypatch, capsys, error):
    _failing(monkeypatch, error)
    assert cli.entry(["info", "limonene"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and str(error) in err
    assert "This is a bug of nodebio, not a mistake of yours: please report it" in err
    assert "error: " + str(error) not in err


def test_main_lets_a_bug_through_for_callers_and_tests(monkeypatch):
    _failing(monkeypatch, KeyError("states"))
    with pytest.raises(KeyError):
        cli.main(["info", "limonene"])


def test_every_package_error_is_a_nodebio_error():
    from nodebio import errors

    classes = [getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)]
    exceptions = [c for c in classes if issubclass(c, BaseException) and not issubclass(c, Warning)]
    assert len(exceptions) >= 12
    assert all(issubclass(c, NodebioError) for c in exceptions)
    assert issubclass(DataValidationError, ValueError) and issubclass(UsageError, ValueError)


def test_a_broken_pipe_ends_quietly(monkeypatch, capsys):
    _failing(monkeypatch, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    monkeypatch.setattr(cli, "_silence_stdout", lambda: None)
    assert cli.entry(["info", "limonene"]) == 0
    assert "error" not in capsys.readouterr().err


def test_epochs_is_the_former_name_of_iterations(monkeypatch, capsys, tmp_path):
    seen = {}

    def train_run(dataset, out, **kwargs):
        seen.update(kwargs["options"])
        raise DataValidationError("stop here")

    from nodebio import runs

    monkeypatch.setattr(runs, "train_run", train_run)
    monkeypatch.setattr(cli, "load_dataset", lambda args: None)
    assert cli.main(["train", "--dataset", "limonene", "--epochs", "7", "--out", str(tmp_path / "r")]) == 2
    assert seen == {"iterations": 7}
    assert "--epochs is deprecated" in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "limonene", "--iterations", "5", "--out", str(tmp_path / "r")]) == 2
    assert seen == {"iterations": 5} and "deprecated" not in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "limonene", "--iterations", "5", "--epochs", "5",
                     "--out", str(tmp_path / "r")]) == 2
    assert "Give --iterations only" in capsys.readouterr().err


def test_the_reference_lists_every_command_and_option_of_the_parser():
    reference = cli.reference(width=80)
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        assert f"### nodebio {name}\n" in reference
        for action in sub._actions:
            for flag in action.option_strings:
                if action.help != "==SUPPRESS==":
                    assert flag in reference, (name, flag)
    assert "--epochs" not in reference  # the deprecated alias is hidden
    assert "--iterations" in reference
    blocks = reference.split("```")[1::2]  # the code blocks: the parser's help, wrapped
    assert max(len(line) for block in blocks for line in block.splitlines()) <= 80
