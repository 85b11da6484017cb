"""Node definitions: INPUT_TYPES / RETURN_TYPES / FUNCTION consistent, tooltips, registration, imports."""
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDGETS = ("INT", "FLOAT", "STRING", "BOOLEAN")
# the ids users' saved workflows store: none may disappear or be renamed (a new node adds its own)
SAVED_IDS = {"FSTH_LoadModel", "FSTH_LandmarkExtract", "FSTH_RenderLandmarks", "FSTH_RetargetLandmarks",
            "FSTH_ProceduralMotion", "FSTH_Embedder", "FSTH_FewShotFinetune", "FSTH_Generator",
            "FSTH_RealismScore", "FSTH_PasteBack", "FSTH_SaveIdentity", "FSTH_LoadIdentity",
            "FSTH_VideoToVideo", "FSTH_EditLandmarks"}


def load_pack():
    if "fsth_pack" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fsth_pack", ROOT / "__init__.py",
                                                      submodule_search_locations=[str(ROOT)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules["fsth_pack"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["fsth_pack"]


def nodes():
    return sorted(load_pack().NODE_CLASS_MAPPINGS.items())


def test_all_nodes_registered_with_display_names():
    pack = load_pack()
    assert SAVED_IDS <= set(pack.NODE_CLASS_MAPPINGS), SAVED_IDS - set(pack.NODE_CLASS_MAPPINGS)
    assert set(pack.NODE_DISPLAY_NAME_MAPPINGS) == set(pack.NODE_CLASS_MAPPINGS)
    assert all(i.startswith("FSTH_") for i in pack.NODE_CLASS_MAPPINGS)
    assert all(n.startswith("FSTH ") for n in pack.NODE_DISPLAY_NAME_MAPPINGS.values())


def test_every_node_is_documented_under_its_display_name():
    """docs/nodes.md says how many nodes the pack registers and describes each, by display name and id."""
    pack, docs = load_pack(), (ROOT / "docs" / "nodes.md").read_text()
    assert f"The pack registers {len(pack.NODE_CLASS_MAPPINGS)} nodes" in docs
    for node_id, name in pack.NODE_DISPLAY_NAME_MAPPINGS.items():
        assert f"- **{name}** (`{node_id}`" in docs, node_id


@pytest.mark.parametrize("node_id,cls", nodes())
def test_node_definition_is_consistent(node_id, cls):
    spec = cls.INPUT_TYPES()
    assert set(spec) <= {"required", "optional"} and spec["required"]
    assert cls.CATEGORY.split("/")[0] == "FSTH"
    assert isinstance(cls.RETURN_TYPES, tuple)
    names = getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)
    assert len(names) == len(cls.RETURN_TYPES) and len(set(names)) == len(names)
    assert cls.RETURN_TYPES or getattr(cls, "OUTPUT_NODE", False), "a node without outputs must be an output node"
    for attr in ("OUTPUT_IS_LIST", "OUTPUT_TOOLTIPS"):
        if hasattr(cls, attr):
            assert isinstance(getattr(cls, attr), tuple) and len(getattr(cls, attr)) == len(cls.RETURN_TYPES), attr
    assert cls.SEARCH_ALIASES and all(isinstance(a, str) and a for a in cls.SEARCH_ALIASES)
    assert not cls.RETURN_TYPES or all(cls.OUTPUT_TOOLTIPS), f"{node_id}: output tooltips"
    fn = getattr(cls, cls.FUNCTION)
    params = inspect.signature(fn).parameters
    args = [p for p in params if p != "self"]
    required, optional = list(spec["required"]), list(spec.get("optional", {}))
    assert args == required + optional, f"{node_id}: function arguments {args} != inputs {required + optional}"
    for name in optional:
        assert params[name].default is None
    for name, entry in {**spec["required"], **spec.get("optional", {})}.items():
        kind, opts = entry[0], entry[1]
        assert opts.get("tooltip"), f"{node_id}.{name} has no tooltip"
        if isinstance(kind, list):
            assert all(isinstance(v, str) for v in kind)
            assert "default" not in opts or opts["default"] in kind
        elif kind in ("INT", "FLOAT"):
            assert opts["min"] <= opts["default"] <= opts["max"]
            assert isinstance(opts["default"], int if kind == "INT" else float)
        elif kind not in WIDGETS:
            assert kind.isupper(), f"{node_id}.{name}: socket type {kind!r}"
    if hasattr(cls, "IS_CHANGED"):
        assert list(inspect.signature(cls.IS_CHANGED).parameters) == required + optional


def test_file_combos_list_models_from_weights_dirs(tmp_path):
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.models.weights import save_model

    load_pack()
    cls = sys.modules["fsth_pack.nodes.model"].LoadModel
    assert cls.INPUT_TYPES()["required"]["model_name"][0] == []
    save_model(tmp_path / "weights" / "a.safetensors", build_model(preset("tiny")))
    assert cls.INPUT_TYPES()["required"]["model_name"][0] == ["a.safetensors"]
    with pytest.raises(ValueError, match="no FSTH model found"):
        cls().load("", "auto")


def _run_isolated(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_pack_registers_without_optional_backends():
    code = (
        "import importlib.util, sys\n"
        "sys.modules['dlib'] = None; sys.modules['face_alignment'] = None\n"
        f"spec = importlib.util.spec_from_file_location('fsth_pack', r'{ROOT / '__init__.py'}',"
        f" submodule_search_locations=[r'{ROOT}'])\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['fsth_pack'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "print(len(mod.NODE_CLASS_MAPPINGS))\n"
    )
    assert _run_isolated(code).strip() == str(len(load_pack().NODE_CLASS_MAPPINGS))


def test_pack_adds_its_root_to_sys_path_when_core_is_not_importable(tmp_path):
    # ComfyUI imports custom_nodes/<pack>/__init__.py with only ComfyUI's folder on sys.path
    code = (
        "import importlib.util, sys\n"
        f"sys.path = [p for p in sys.path if p not in ('', r'{ROOT}')]\n"
        "assert importlib.util.find_spec('fsth_core') is None\n"
        f"spec = importlib.util.spec_from_file_location('fsth', r'{ROOT / '__init__.py'}',"
        f" submodule_search_locations=[r'{ROOT}'])\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['fsth'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "print(len(mod.NODE_CLASS_MAPPINGS))\n"
    )
    assert _run_isolated(code).strip() == str(len(load_pack().NODE_CLASS_MAPPINGS))


def test_real_errors_inside_the_pack_surface(tmp_path):
    # a copy of the pack whose nodes package fails to import: the error must not be swallowed
    pack = tmp_path / "broken"
    (pack / "nodes").mkdir(parents=True)
    (pack / "__init__.py").write_text((ROOT / "__init__.py").read_text())
    (pack / "nodes" / "__init__.py").write_text("import not_a_module_xyz\n")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('broken', r'{pack / '__init__.py'}',"
        f" submodule_search_locations=[r'{pack}'])\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['broken'] = mod\n"
        "try:\n    spec.loader.exec_module(mod)\nexcept ImportError as e:\n    print('raised', e.name)\n"
    )
    assert _run_isolated(code).strip() == "raised not_a_module_xyz"


def test_combo_lists_come_from_the_options_module():
    from fsth_core import options
    pack = load_pack()
    combos = {}
    for node_id, cls in pack.NODE_CLASS_MAPPINGS.items():
        spec = cls.INPUT_TYPES()
        for name, entry in {**spec["required"], **spec.get("optional", {})}.items():
            if isinstance(entry[0], list):
                combos[(node_id, name)] = tuple(entry[0])
    assert combos[("FSTH_Generator", "method")] == combos[("FSTH_VideoToVideo", "method")] == options.METHODS
    assert combos[("FSTH_LandmarkExtract", "backend")] == options.BACKENDS
    assert combos[("FSTH_LoadModel", "precision")] == options.PRECISIONS
    assert combos[("FSTH_RetargetLandmarks", "mode")] == options.RETARGET_MODES
