"""Run by tests/test_comfy_real.py with the Python of a ComfyUI built by ../shared/comfyui/setup.sh, in its
ComfyUI/ folder: loads ComfyUI's own nodes (not custom nodes) and prints, as JSON, what its /object_info
says of each of the node types given as arguments: {type: {"deprecated", "input", "input_order", "output"}}
or null for a type ComfyUI does not have."""
import asyncio
import contextlib
import io
import json
import sys

node_types = sys.argv[1:]
sys.path.insert(0, "")  # ComfyUI/ (the working directory) first: its nodes.py, comfy/, folder_paths
sys.argv = [sys.argv[0], "--cpu"]  # ComfyUI parses the command line when its modules are imported
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import comfy.options

    comfy.options.enable_args_parsing()  # as main.py does: --cpu is read
    import utils.extra_config  # noqa: F401 - as main.py does first: ComfyUI's utils package, not comfy/utils.py

    import nodes

    asyncio.run(nodes.init_builtin_extra_nodes())


def info(cls) -> dict:
    if hasattr(cls, "GET_NODE_INFO_V1"):  # ComfyUI's v3 node API
        d = cls.GET_NODE_INFO_V1()
        return {"deprecated": bool(d.get("deprecated")), "input": d["input"], "input_order": d["input_order"],
                "output": list(d["output"])}
    spec = cls.INPUT_TYPES()
    return {"deprecated": bool(getattr(cls, "DEPRECATED", False)), "input": spec,
            "input_order": {k: list(v) for k, v in spec.items()}, "output": list(cls.RETURN_TYPES)}


out = {t: info(nodes.NODE_CLASS_MAPPINGS[t]) if t in nodes.NODE_CLASS_MAPPINGS else None for t in node_types}
print(json.dumps(out, default=str))
