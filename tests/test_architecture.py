"""The layering of fsth_core written in docs/architecture.md holds: no import runs back up a layer."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "fsth_core"
IMPORT = re.compile(r"^\s*(?:from|import)\s+fsth_core\.(\w+)", re.M)
DYNAMIC = re.compile(r"""import_module\(\s*f?["']fsth_core\.(\w+)""")


def _layers() -> dict[str, int]:
    """Folder (or top-level module) -> layer number, from the table in docs/architecture.md."""
    rows = re.findall(r"^\| (\d+) \| `([\w.]+?)(?:/|\.py)?` \|", (ROOT / "docs" / "architecture.md").read_text(), re.M)
    return {name: int(n) for n, name in rows}


def _unit(path: Path) -> str:
    rel = path.relative_to(CORE).parts
    return rel[0] if len(rel) > 1 else path.stem


def test_table_names_every_folder_and_module():
    layers = _layers()
    units = {_unit(p) for p in CORE.rglob("*.py")} - {"__init__", "__main__"}
    assert units == set(layers), f"not in docs/architecture.md: {units - set(layers)}; gone: {set(layers) - units}"


def test_no_import_runs_back_up():
    layers = _layers()
    wrong = []
    for path in CORE.rglob("*.py"):
        unit = _unit(path)
        if unit in ("__init__", "__main__"):
            continue
        text = path.read_text()
        for target in set(IMPORT.findall(text)) | set(DYNAMIC.findall(text)):
            if target != unit and layers[target] > layers[unit]:
                wrong.append(f"{path.relative_to(ROOT)} (layer {layers[unit]}) imports {target} "
                             f"(layer {layers[target]})")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_back_import(tmp_path):
    """The pattern finds the import forms the code uses, lazy ones inside functions included."""
    text = "def f():\n    from fsth_core.inference.animate import animate\nimport fsth_core.cli\n"
    assert set(IMPORT.findall(text)) == {"inference", "cli"}
    assert DYNAMIC.findall('importlib.import_module("fsth_core.training.meta")') == ["training"]
