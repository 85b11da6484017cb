import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_root_package_imports_without_comfyui():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('fsth_pack', r'{ROOT / '__init__.py'}',"
        f" submodule_search_locations=[r'{ROOT}'])\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['fsth_pack'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "assert isinstance(mod.NODE_CLASS_MAPPINGS, dict)\n"
        "assert not any(m == 'comfy' or m.startswith('comfy.') or m == 'folder_paths' for m in sys.modules)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


_COMFY = ("comfy", "comfy_extras", "comfy_api", "folder_paths", "server", "execution", "nodes")


def _comfy_imports(source: str) -> list[str]:
    """ComfyUI modules a Python source imports: import statements, and importlib.import_module /
    __import__ calls (or any other call) with a string naming one."""
    import ast

    def comfy(name: str) -> bool:
        return name.split(".")[0] in _COMFY

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if comfy(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and comfy(node.module):
            found.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and comfy(node.args[0].value) \
                and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__"):
            found.append(node.args[0].value)
    return found


def test_core_never_imports_comfyui():
    for path in (ROOT / "fsth_core").rglob("*.py"):
        text = path.read_text()
        assert "import comfy" not in text and "folder_paths" not in text, path
        assert _comfy_imports(text) == [], path


def test_the_comfyui_import_check_catches_every_form():
    for src in ("import comfy.model_management", "from comfy import utils", "import folder_paths",
                "import importlib\nimportlib.import_module('comfy.utils')", "__import__('folder_paths')",
                "from importlib import import_module\nimport_module('comfy_extras.nodes_video')"):
        assert _comfy_imports(src), src
    assert _comfy_imports("import importlib\nimportlib.import_module('fsth_core.io.media')\nimport numpy") == []


def test_cli_info_and_init(tmp_path, capsys):
    from fsth_core.cli import main

    assert main(["info", "--preset", "paper", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["preset"] == "paper" and info["generator_gflops_per_frame"] > 10
    assert set(info["parameters"]) == {"embedder", "generator", "discriminator"}
    out = tmp_path / "m.safetensors"
    assert main(["init", "--preset", "tiny", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", "--weights", str(out)]) == 0
    text = capsys.readouterr().out
    assert "preset      tiny" in text and "generator" in text


def test_cli_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"hello")
    out = subprocess.run([sys.executable, "-m", "fsth_core", "info", "--weights", str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "x.safetensors" in out.stderr


def test_pyproject_is_ready_for_the_comfy_registry():
    import cv2
    import tomllib

    root = Path(__file__).resolve().parent.parent
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    project, comfy = meta["project"], meta["tool"]["comfy"]
    assert project["license"] == {"file": "LICENSE"}
    assert (root / "LICENSE").read_text().startswith("MIT License")
    assert "License :: OSI Approved :: MIT License" in project["classifiers"]
    assert comfy["requires-comfyui"] == ">=0.8.0" and comfy["PublisherId"] and comfy["DisplayName"]
    assert "urls" not in project  # no placeholder address: the real one comes with publishing
    icon = cv2.imread(str(root / "icon.png"))
    assert icon is not None and icon.shape[0] == icon.shape[1] >= 128
