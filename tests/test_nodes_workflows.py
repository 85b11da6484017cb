"""Example workflows: only known node types, well-formed links, widget values that fit each node's
widget inputs (count, type, range); the pack's nodes run in graph order on tiny inputs (core I/O nodes
replaced by tensors)."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from _comfy_core_schema import AUTOGROW, CORE, DEPRECATED, FRONTEND_ONLY, OPTIONAL_INPUTS, OUTPUT_NODES
from test_nodes_defs import load_pack

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / "example_workflows").glob("*.json"))
PACK = load_pack()
WIDGET_TYPES = {"INT": int, "FLOAT": (int, float), "STRING": str, "BOOLEAN": bool}
CONTROL = {"fixed", "increment", "decrement", "randomize"}


def check_value(where, kind, spec, v):
    """One widget value against its type and its options / range."""
    if kind == "UI":
        return
    if kind == "COMBO":
        assert isinstance(v, str) and (spec is None or v in spec), f"{where}: {v!r}"
        return
    assert isinstance(v, WIDGET_TYPES[kind]) and not (kind != "BOOLEAN" and isinstance(v, bool)), (where, v)
    if kind in ("INT", "FLOAT"):
        assert spec[0] <= v <= spec[1], f"{where}={v} out of range"


def core_widget_values(node):
    """A core node's widgets_values checked against ComfyUI 0.8's schema -> {name: value}."""
    vals, out = list(node.get("widgets_values") or []), {}
    for w in CORE[node["type"]]["widgets"]:
        name, kind, spec = w[:3]
        assert vals, f"{node['type']}: no value for widget {name}"
        out[name] = v = vals.pop(0)
        check_value(f"{node['type']}.{name}", kind, spec, v)
        if w[3:] == ("control",):
            assert vals and vals.pop(0) in CONTROL, f"{node['type']}.{name}: control_after_generate value"
    assert not vals, f"{node['type']}: extra widget values {vals}"
    return out


def widget_inputs(cls):
    """[(name, type, options)] of a pack node's widget inputs, in widgets_values order."""
    spec = cls.INPUT_TYPES()
    out = []
    for section in ("required", "optional"):
        for name, entry in spec.get(section, {}).items():
            kind, opts = entry[0], entry[1] if len(entry) > 1 else {}
            if opts.get("forceInput"):
                continue  # a socket, not a widget
            if isinstance(kind, list):
                out.append((name, "COMBO", {**opts, "options": kind}))
            elif kind in WIDGET_TYPES:
                out.append((name, kind, opts))
    return out


def widget_kwargs(node):
    """A pack node's widgets_values -> {name: value}, checking count, type and range."""
    cls = PACK.NODE_CLASS_MAPPINGS[node["type"]]
    vals = list(node.get("widgets_values") or [])
    out = {}
    for name, kind, opts in widget_inputs(cls):
        assert vals, f"{node['type']}: no value for widget {name}"
        v = vals.pop(0)
        spec = (None if name in ("model_name", "identity_file") else opts["options"]) if kind == "COMBO" else \
            (opts["min"], opts["max"]) if kind in ("INT", "FLOAT") else None  # file lists depend on the installation
        check_value(f"{node['type']}.{name}", kind, spec, v)
        if opts.get("control_after_generate"):
            assert vals and vals.pop(0) in CONTROL, f"{node['type']}.{name}: control_after_generate value"
        out[name] = v
    assert not vals, f"{node['type']}: extra widget values {vals}"
    return out


def load(path):
    return json.loads(Path(path).read_text())


# the templates docs/nodes.md describes: file name -> the pack's nodes each one shows (a user's starting point).
# ComfyUI 0.8's Templates dialog shows a pack's template by its file name alone (title, and the description
# is that name again): the names are for people, numbered in the intended order.
DOCUMENTED = {
    "FSTH 1. Animate a portrait with a driving video": {
        "FSTH_LoadModel", "FSTH_LandmarkExtract", "FSTH_RetargetLandmarks", "FSTH_FewShotFinetune", "FSTH_Generator",
        "FSTH_PasteBack", "FSTH_SaveIdentity"},
    "FSTH 2. Animate a portrait, no video needed": {
        "FSTH_LoadModel", "FSTH_LandmarkExtract", "FSTH_FewShotFinetune", "FSTH_ProceduralMotion", "FSTH_Generator",
        "FSTH_PasteBack"},
    "FSTH 3. Talking head from three photos, best frames kept": {
        "FSTH_LoadModel", "FSTH_LandmarkExtract", "FSTH_FewShotFinetune", "FSTH_ProceduralMotion", "FSTH_Generator",
        "FSTH_RealismScore", "FSTH_PasteBack", "FSTH_SaveIdentity"},
    "FSTH 4. Paint a portrait from text, then make it talk": {
        "FSTH_LoadModel", "FSTH_LandmarkExtract", "FSTH_FewShotFinetune", "FSTH_ProceduralMotion", "FSTH_Generator",
        "FSTH_PasteBack"},
}


def test_there_are_four_example_workflows_with_thumbnails():
    assert len(WORKFLOWS) == 4
    assert all(p.with_suffix(".jpg").is_file() for p in WORKFLOWS)
    assert {p.stem for p in WORKFLOWS} == set(DOCUMENTED)
    docs = (ROOT / "docs" / "nodes.md").read_text()
    for p in WORKFLOWS:
        assert f"`{p.name}`" in docs, p.name  # each template is described where users read about it
        used = {n["type"] for n in load(p)["nodes"] if n["type"].startswith("FSTH_")}
        assert used == DOCUMENTED[p.stem], p.stem


def test_template_names_read_as_titles_in_the_intended_order():
    """The dialog's title and description are the file name (underscores and dashes become spaces): a
    sentence, no underscores, numbered so that sorting by name (the dialog's A-Z) gives the intended order;
    characters that every file system and a URL path take as they are."""
    names = [p.stem for p in WORKFLOWS]
    assert [int(re.match(r"FSTH (\d)\. [A-Z][a-z]", n).group(1)) for n in names] == [1, 2, 3, 4]
    for n in names:
        assert re.fullmatch(r"[A-Za-z0-9 .,]+", n) and "_" not in n and "-" not in n and len(n) <= 60, n
        assert load(ROOT / "example_workflows" / f"{n}.json")["extra"]["info"]["title"] == n


def test_thumbnails_are_square_and_show_different_results():
    import cv2

    thumbs = [cv2.imread(str(p.with_suffix(".jpg"))) for p in WORKFLOWS]
    for p, t in zip(WORKFLOWS, thumbs):
        assert t is not None and t.shape[0] == t.shape[1] >= 256, p.name  # the dialog's cards are square
        assert p.with_suffix(".jpg").stat().st_size < 200_000
    small = [cv2.resize(t, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32) for t in thumbs]
    for i in range(len(small)):
        for j in range(i + 1, len(small)):  # not the same picture four times
            assert np.abs(small[i] - small[j]).mean() > 12, (WORKFLOWS[i].stem, WORKFLOWS[j].stem)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_no_template_node_is_deprecated_or_unknown(path):
    """Against ComfyUI 0.8's recorded schema (tests/test_comfy_real.py checks it against a real ComfyUI)."""
    types = {n["type"] for n in load(path)["nodes"]}
    assert not types - set(PACK.NODE_CLASS_MAPPINGS) - set(CORE) - set(FRONTEND_ONLY), "unknown node types"
    assert not types & DEPRECATED, f"deprecated in ComfyUI 0.8: {types & DEPRECATED}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_workflow_nodes_links_and_widgets(path):
    wf = load(path)
    nodes = {n["id"]: n for n in wf["nodes"]}
    assert len(nodes) == len(wf["nodes"]) and wf["last_node_id"] >= max(nodes)
    types = {n["type"] for n in wf["nodes"]}
    unknown = types - set(PACK.NODE_CLASS_MAPPINGS) - set(CORE) - set(FRONTEND_ONLY)
    assert not unknown, f"unknown node types {unknown}"
    for n in wf["nodes"]:
        if n["type"] in FRONTEND_ONLY:  # a note: text only, no sockets
            assert not n["inputs"] and not n["outputs"] and len(n["widgets_values"]) == len(FRONTEND_ONLY[n["type"]])
            continue
        if n["type"] in PACK.NODE_CLASS_MAPPINGS:
            cls = PACK.NODE_CLASS_MAPPINGS[n["type"]]
            widget_kwargs(n)
            spec = {**cls.INPUT_TYPES()["required"], **cls.INPUT_TYPES().get("optional", {})}
            sockets = {k: v[0] for k, v in spec.items() if not isinstance(v[0], list)
                       and (v[0] not in WIDGET_TYPES or v[1].get("forceInput"))}
            widgets = {name: kind for name, kind, _ in widget_inputs(cls)}
            outputs = list(cls.RETURN_TYPES)
            required = [k for k in cls.INPUT_TYPES()["required"] if k in sockets]
        else:
            core_widget_values(n)
            sockets, outputs = dict(CORE[n["type"]]["inputs"]), CORE[n["type"]]["outputs"]
            widgets = {w[0]: w[1] for w in CORE[n["type"]]["widgets"]}
            required = [k for k in sockets if (n["type"], k) not in OPTIONAL_INPUTS]
            if n["type"] in AUTOGROW:
                name, prefix, kind, low, high = AUTOGROW[n["type"]]
                grown = [f"{name}.{prefix}{i}" for i in range(high)]
                sockets.update(dict.fromkeys(grown, kind))
                required += grown[:low]
                assert [i["name"] for i in n["inputs"]] == grown[:len(n["inputs"])]  # in order, none skipped
        assert [o["type"] for o in n["outputs"]] == outputs, n["type"]
        for i in n["inputs"]:
            if "widget" in i:  # a widget turned into an input: linked with the widget's own type
                assert widgets.get(i["widget"]["name"]) == i["type"], (n["type"], i["name"])
            else:
                assert sockets.get(i["name"]) == i["type"], (n["type"], i["name"])
        linked = {i["name"] for i in n["inputs"] if i.get("link") is not None}
        assert set(required) <= linked, f"{n['type']}: unconnected inputs {set(required) - linked}"
    for lid, a, aslot, b, bslot, kind in wf["links"]:
        assert nodes[a]["outputs"][aslot]["type"] == kind and lid in nodes[a]["outputs"][aslot]["links"]
        assert nodes[b]["inputs"][bslot]["link"] == lid
        assert nodes[b]["inputs"][bslot]["type"] == kind
    link_ids = [link[0] for link in wf["links"]]
    assert len(set(link_ids)) == len(link_ids) and wf["last_link_id"] >= max(link_ids)
    # every link an input claims exists, and every node is upstream of an output node
    ids = {link[0] for link in wf["links"]}
    assert all(i.get("link") is None or i["link"] in ids for n in wf["nodes"] for i in n["inputs"])
    feeds = {nid: {link[3] for link in wf["links"] if link[1] == nid} for nid in nodes}
    useful = {nid for nid, n in nodes.items() if n["type"] in OUTPUT_NODES | {"FSTH_SaveIdentity"} | set(FRONTEND_ONLY)}
    while True:
        more = {nid for nid in nodes if feeds[nid] & useful} - useful
        if not more:
            break
        useful |= more
    assert useful == set(nodes), f"nodes that feed no output: {set(nodes) - useful}"
    assert types & {"SaveVideo", "SaveImage", "SaveAnimatedWEBP"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_every_file_a_template_loads_ships_with_the_pack(path):
    from fsth_core.runtime.paths import example_inputs

    loaders = ("LoadImage", "LoadVideo", "LoadAudio")
    loads = [n["widgets_values"][0] for n in load(path)["nodes"] if n["type"] in loaders]
    assert loads and set(loads) <= set(example_inputs()), set(loads) - set(example_inputs())
    assert all(p.is_file() and p.stat().st_size < 300_000 for p in example_inputs().values())


def graph_order(wf):
    nodes = {n["id"]: n for n in wf["nodes"]}
    deps = {nid: {link[1] for link in wf["links"] if link[3] == nid} for nid in nodes}
    order, done = [], set()
    while len(order) < len(nodes):
        ready = [nid for nid in sorted(nodes) if nid not in done and deps[nid] <= done]
        assert ready, "the workflow has a cycle"
        order += ready
        done |= set(ready)
    return [nodes[i] for i in order]


@pytest.fixture(scope="module")
def tiny_inputs():
    import cv2
    from skimage import data

    from fsth_core.synthetic.audio import synthetic_speech

    img = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    pic = torch.from_numpy(img).float()[None] / 255
    video = torch.cat([torch.roll(pic, s, dims=1) for s in (0, 1, 2, 3)])  # a head moving down
    sound = torch.from_numpy(synthetic_speech(0.16, 16000, seed=0)[0])[None, None]  # AUDIO [B, C, N]: 4 frames
    return pic, video, {"waveform": sound, "sample_rate": 16000}


def core_node(node, inputs, tiny, sink):
    """Stand-ins for the core nodes: tensors for the I/O nodes, the tiny portrait for a diffusion model's
    VAE Decode, placeholders for what only flows between core nodes (model, conditioning, latent)."""
    pic, video, audio = tiny
    t = node["type"]
    if t in ("LoadImage", "VAEDecode"):
        return (pic.clone(), torch.zeros(1, 128, 128))[:len(CORE[t]["outputs"])]
    if t == "LoadAudio":
        return (audio,)
    if t == "GetVideoComponents":
        return video.clone(), None, 25.0
    if t in AUTOGROW:  # Batch Images: its inputs in order
        return (torch.cat([inputs[k] for k in sorted(inputs, key=lambda k: int(re.sub(r"\D", "", k)))]),)
    if t == "CreateVideo":
        return ((inputs["images"], inputs.get("fps", node["widgets_values"][0]), inputs.get("audio")),)
    if CORE[t]["outputs"]:
        return tuple(f"{t}:{o}" for o in CORE[t]["outputs"])
    sink.append((t, inputs))
    return ()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_workflow_runs_in_graph_order_on_tiny_inputs(path, tiny_inputs, tmp_path, monkeypatch):
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.models.weights import save_model

    wf = load(path)
    monkeypatch.setenv("FSTH_OUTPUT_DIR", str(tmp_path / "out"))
    for n in wf["nodes"]:
        if n["type"] == "FSTH_LoadModel":  # a tiny stand-in for the bundled checkpoint, under its name
            save_model(tmp_path / "weights" / n["widgets_values"][0], build_model(preset("tiny", warp_guided=True)))
    results, sink = {}, []
    links = {link[0]: link for link in wf["links"]}
    for node in graph_order(wf):
        if node["type"] in FRONTEND_ONLY:
            continue
        inputs = {}
        for i in node["inputs"]:
            if i.get("link") is not None:
                _, a, aslot, _, _, _ = links[i["link"]]
                inputs[i["name"]] = results[a][aslot]
        if node["type"] in PACK.NODE_CLASS_MAPPINGS:
            kw = widget_kwargs(node)
            if "steps" in kw:  # fine-tuning itself is covered by test_nodes_run; here: the graph
                kw["steps"] = 0
            if "batch_size" in kw:
                kw["batch_size"] = min(kw["batch_size"], 2)
            if "frames" in kw:
                kw["frames"] = min(kw["frames"], 3)
            kw.update({k: v for k, v in inputs.items()})
            obj = PACK.NODE_CLASS_MAPPINGS[node["type"]]()
            out = getattr(obj, obj.FUNCTION)(**kw)
            out = out["result"] if isinstance(out, dict) and "result" in out else out
            results[node["id"]] = out if isinstance(out, tuple) else ()
        else:
            results[node["id"]] = core_node(node, inputs, tiny_inputs, sink)
    saved = [s for s in sink if s[0] in ("SaveVideo", "SaveImage", "SaveAnimatedWEBP")]
    assert saved
    for kind, inputs in saved:
        frames = inputs["video"][0] if kind == "SaveVideo" else inputs["images"]
        assert frames.dim() == 4 and frames.shape[1:] == (128, 128, 3) and frames.shape[0] >= 1
        if kind == "SaveVideo" and any(n["type"] == "LoadAudio" for n in wf["nodes"]):
            _, fps, audio = inputs["video"]  # the sound reaches the video, and the video is as long as it
            assert audio is tiny_inputs[2] and frames.shape[0] == round(0.16 * fps)
    if any(n["type"] == "FSTH_SaveIdentity" for n in wf["nodes"]):
        assert list((tmp_path / "out" / "fsth_identities").glob("*.safetensors"))
