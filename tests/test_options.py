import subprocess
import sys


def test_options_module_imports_neither_torch_nor_cv2():
    code = "import sys, fsth_core.options; print(sorted({'torch', 'cv2'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_prepare_and_media_share_the_video_extensions():
    from fsth_core import options
    from fsth_core.data import prepare
    from fsth_core.io import media
    assert prepare.VIDEO_EXTS is options.VIDEO_EXTS is media.VIDEO_EXTS
    assert ".gif" in options.VIDEO_EXTS


def _choices(parser, dest):
    return next(tuple(a.choices) for a in parser._actions if a.dest == dest)


def test_cli_choices_come_from_the_options_module():
    import argparse

    from fsth_core import options
    from fsth_core.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert _choices(sub["animate"], "method") == options.METHODS
    assert _choices(sub["animate"], "backend") == options.BACKENDS
    assert _choices(sub["animate"], "precision") == options.PRECISIONS
    assert _choices(sub["animate"], "retarget") == options.RETARGET_MODES
    assert _choices(sub["animate"], "motion") == options.MOTIONS
    assert _choices(sub["eval"], "method") == _choices(sub["demo"], "method") == options.METHODS
    assert _choices(sub["prepare"], "backend") == _choices(sub["landmarks"], "backend") == options.BACKENDS
    assert _choices(sub["train"], "variant") == options.VARIANTS
    train = {a.dest: a.default for a in sub["train"]._actions}
    assert (train["lr_g"], train["lr_d"]) == (options.LR_G, options.LR_D)


def test_finetuning_defaults_are_the_options_defaults():
    from fsth_core import options
    from fsth_core.inference.finetune import FinetuneOptions, options_from_recipe

    o = options_from_recipe({}, 1)
    assert (o.steps, o.lr_g, o.lr_d, o.pixel_l1) == (options.FINETUNE_STEPS_ONE, options.LR_G, options.LR_D,
                                                       options.FINETUNE_PIXEL_L1)
    assert options_from_recipe({}, 32).steps == options.FINETUNE_STEPS_MANY
    assert (FinetuneOptions().lr_g, FinetuneOptions().lr_d) == (options.LR_G, options.LR_D)
    # a checkpoint's recommendation overrides the defaults, the caller overrides both
    assert options_from_recipe({"steps": 7, "lr_g": 1e-4}, 1, lr_g=3e-4).steps == 7
    assert options_from_recipe({"steps": 7, "lr_g": 1e-4}, 1, lr_g=3e-4).lr_g == 3e-4


def test_cli_help_imports_neither_torch_nor_cv2():
    """Every command's options come from options.py, so --help (all sub-parsers built) stays fast."""
    import subprocess
    import sys

    code = ("import sys; from fsth_core.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'cv2', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_one_parser_for_a_word_or_a_count(capsys):
    """``--face largest|N``, ``--videos all|N`` and the Landmark Extract node's face combo share one parser;
    a bad value is one line naming what is expected."""
    import pytest

    from fsth_core.cli import main
    from fsth_core.options import FACE_INDEX, FACE_WORDS, word_or_count

    assert word_or_count("largest", FACE_WORDS, 0, FACE_INDEX) == "largest"
    assert word_or_count("2", FACE_WORDS, 0, FACE_INDEX) == 2
    with pytest.raises(ValueError, match=r"must be >= 0, got -1"):
        word_or_count("-1", FACE_WORDS, 0, FACE_INDEX)
    with pytest.raises(ValueError, match=r"must be 'largest' or a face index"):
        word_or_count("left", FACE_WORDS, 0, FACE_INDEX)
    assert main(["eval", "--data", "x", "--videos", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--videos: a number of videos must be >= 1, got 0" in err
