"""Shared command-line plumbing: exit codes and one-line errors."""

import pytest

from cli import ArgumentParser, run_main
from errors import InputError
from report import describe_batch, finished_line


def exit_status(main) -> int:
    with pytest.raises(SystemExit) as raised:
        run_main(main)
    return raised.value.code


def test_input_error_exits_2_with_one_line(capsys):
    def main(argv):
        raise InputError("invalid value 3 for x: expected 4")

    assert exit_status(main) == 2
    assert capsys.readouterr().err == "error: invalid value 3 for x: expected 4\n"


def test_interrupt_exits_130_with_one_line(capsys):
    def main(argv):
        raise KeyboardInterrupt

    assert exit_status(main) == 130
    assert capsys.readouterr().err == "error: interrupted; files saved before the interrupt are kept\n"


def test_option_prefix_is_rejected(capsys):
    parser = ArgumentParser(prog="compare.py")
    parser.add_argument("--seeds", type=int, default=20)
    with pytest.raises(SystemExit) as raised:
        parser.parse_args(["--seed", "3"])
    assert raised.value.code == 2
    assert "unrecognized arguments: --seed 3" in capsys.readouterr().err


def test_finished_line_names_evaluated_epoch():
    best = {"epochs": 473, "epochs_trained": 523, "steps": 473, "seconds": 2.5}
    assert finished_line(best) == ("finished   523 epochs in 2.50 s; evaluated below: "
                                   "the weights of epoch 473 (473 steps)")
    plain = {"epochs": 30, "epochs_trained": 30, "steps": 240, "seconds": 0.25}
    assert finished_line(plain) == "finished   30 epochs in 0.25 s, 240 steps"


def test_batch_of_one_row_is_singular(make_config):
    assert describe_batch(make_config("train.batch_size=1"), 120).startswith("1 row (stochastic")
    assert describe_batch(make_config("train.batch_size=16"), 120).startswith("16 rows (mini-batch")


def test_unknown_option_suggests_closest(capsys):
    parser = ArgumentParser(prog="predict.py")
    parser.add_argument("--sample")
    with pytest.raises(SystemExit) as raised:
        parser.parse_args(["--sampel", "5.1,3.5"])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert error == "error: unrecognized arguments: --sampel 5.1,3.5; did you mean --sample? See predict.py --help\n"
