"""Shared checks for the command line's behaviour towards a user: one ``error:`` line and no traceback, files
left as they were (by hash), no partial or temporary file left behind."""
from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import torch

from fsth_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = ROOT / "fsth_core" / "assets" / "portrait.jpg"
WARP = ["animate", "--quiet", "--method", "warp", "--motion", "talk", "--seconds", "0.2", "--fps", "10"]
NEURAL = ["animate", "--quiet", "--motion", "talk", "--fps", "10", "--no-finetune"]


def snapshot(*roots) -> dict:
    """{path: (sha256, mode)} of every file and folder under ``roots`` (to compare before/after)."""
    out = {}
    for root in map(Path, roots):
        items = [root] + sorted(root.rglob("*")) if root.is_dir() else [root]
        for p in items:
            if p.is_file():
                out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
            elif p.is_dir():
                out[str(p)] = ("dir", p.stat().st_mode)
    return out


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``fsth_core ARGS`` in this process -> (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@dataclass(frozen=True)
class Ran:
    """What a command did, as ``subprocess.CompletedProcess`` says it."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args) -> Ran:
    """Run ``python -m fsth_core ARGS`` in this process (no second start of Python and torch, 2-3 s each)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    return Ran(rc, out.getvalue(), err.getvalue())


def assert_refused(result, *needles, rc: int = 2) -> str:
    """Exit ``rc``, exactly one line on stderr, starting 'error: ' and holding each needle, no traceback.

    ``result``: (exit status, stdout, stderr) as ``cli`` returns, or a ``subprocess.CompletedProcess``."""
    code, out, err = (result.returncode, result.stdout, result.stderr) if hasattr(result, "returncode") else result
    assert code == rc, (code, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


def no_leftovers(folder) -> list[str]:
    """Temporary or partial files the program may have left in ``folder`` (recursively)."""
    return [str(p) for p in Path(folder).rglob("*")
            if ".partial" in p.name or p.name.endswith(".tmp") or ".fsth-write-test" in p.name]


def torch_equal(a, b) -> bool:
    return bool(torch.equal(a, b))
