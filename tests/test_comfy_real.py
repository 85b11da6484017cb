"""The templates against a real ComfyUI, where one is built by ../shared/comfyui/setup.sh (FSTH_COMFYUI_ROOT,
default /tmp/comfy): every core node a template uses exists there and is not deprecated, and the schema the
CI tests check the templates against (tests/_comfy_core_schema.py) says what that ComfyUI says.  Skipped
where there is no such ComfyUI (CI): the recorded schema stands in for it there."""
import json
import os
import subprocess
from pathlib import Path

import pytest
from _comfy_core_schema import AUTOGROW, CORE, DEPRECATED, FRONTEND_ONLY

HERE = Path(__file__).resolve().parent
COMFY = Path(os.environ.get("FSTH_COMFYUI_ROOT", "/tmp/comfy"))
PYTHON, MAIN = COMFY / "venv" / "bin" / "python", COMFY / "ComfyUI" / "main.py"
pytestmark = pytest.mark.skipif(not (PYTHON.is_file() and MAIN.is_file()),
                                reason=f"no ComfyUI built at {COMFY} (see ../shared/comfyui/README.md)")
WIDGETS = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}


@pytest.fixture(scope="module")
def comfy():
    """What ComfyUI's /object_info says of the recorded core nodes and of every node the templates use."""
    used = {n["type"] for p in (HERE.parent / "example_workflows").glob("*.json")
            for n in json.loads(p.read_text())["nodes"]}
    core = sorted((used | set(CORE) | DEPRECATED) - set(FRONTEND_ONLY) - {t for t in used if t.startswith("FSTH_")})
    res = subprocess.run([str(PYTHON), str(HERE / "_comfy_probe.py"), *core], cwd=MAIN.parent, capture_output=True,
                         text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    return used, json.loads(res.stdout.strip().splitlines()[-1])


def test_every_core_node_a_template_uses_exists_and_is_current(comfy):
    used, info = comfy
    core = sorted(t for t in used - set(FRONTEND_ONLY) if not t.startswith("FSTH_"))
    missing = {t for t in core if info[t] is None}
    assert missing <= {"LoadAudio"}, f"not nodes of this ComfyUI: {missing}"  # the recipe has no torchaudio
    assert not [t for t in core if t not in missing and info[t]["deprecated"]], "deprecated in this ComfyUI"


def test_the_recorded_schema_is_this_comfyuis(comfy):
    _, info = comfy
    for t in sorted(DEPRECATED):
        assert info[t] is None or info[t]["deprecated"], f"{t} is not deprecated here"
    for t, rec in CORE.items():
        real = info[t]
        if real is None:
            assert t == "LoadAudio", f"{t}: not a node of this ComfyUI"
            continue
        assert real["output"] == rec["outputs"], t
        assert not real["deprecated"], t
        spec = {k: v for sec in ("required", "optional") for k, v in real["input"].get(sec, {}).items()}
        order = [k for sec in ("required", "optional") for k in real["input_order"].get(sec, [])]
        widgets = [k for k in order if (isinstance(spec[k][0], list) or spec[k][0] in WIDGETS)
                   and not (spec[k][1:] and spec[k][1].get("forceInput"))]
        sockets = {k: spec[k][0] for k in order if k not in widgets}
        assert [w[0] for w in rec["widgets"] if w[1] != "UI"] == widgets, t
        if t in AUTOGROW:
            name, prefix, kind, low, high = AUTOGROW[t]
            tpl = spec[name][1]["template"]
            assert (tpl["prefix"], tpl["min"], tpl["max"]) == (prefix, low, high), t
            assert list(tpl["input"]["required"].values())[0][0] == kind, t
        else:
            assert sockets == rec["inputs"], t
