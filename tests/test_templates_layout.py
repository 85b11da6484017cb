"""The templates as they open in ComfyUI's frontend (1.35, the one ComfyUI 0.8 ships): nodes that do not
overlap (title bars and the pack's badge included), room for the previews, groups per stage read left to
right, a stored view that shows the whole graph in a 1600x1000 window, and, in the diffusion template, which
checkpoint to place where.  bench/comfyui_screens.py checks the same in the real frontend, with screenshots."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / "example_workflows").glob("*.json"))
TITLE = 30   # LiteGraph's title bar, above a node's pos
BADGE = 24   # room for the "fsth" node-source badge the frontend draws at the title bar's edge
GROUP_TITLE = 40
# the part of a 1600x1000 window where the canvas shows: right of the sidebar, below the top bar and its
# floating menu, and not under the minimap (bottom right)
VISIBLE = (60, 100, 1600, 1000)
MINIMAP = (1340, 740, 1600, 1000)
# the frontend's smallest sizes (LGraphNode.computeSize in 1.35) where a stored size must not be smaller,
# and the room previews need: an image or video as wide as the node under its widgets
MIN_SIZE = {"LoadImage": (250, 314), "LoadVideo": (300, 386), "FSTH_LandmarkExtract": (210, 198),
            "FSTH_FewShotFinetune": (210, 170), "FSTH_ProceduralMotion": (210, 174), "FSTH_Generator": (210, 142),
            "FSTH_PasteBack": (210, 118), "KSampler": (210, 262), "FSTH_RealismScore": (210, 118)}
PREVIEW_BELOW_WIDGETS = {"SaveVideo": 100, "PreviewImage": 10, "SaveImage": 40}  # widgets' height above it


def load(path):
    return json.loads(Path(path).read_text())


def box(n):
    """(x0, y0, x1, y1) of a node with its title bar and badge room."""
    x, y = n["pos"]
    w, h = n["size"]
    return x, y - TITLE - BADGE, x + w, y + h


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem[:6])
def test_nodes_do_not_overlap_and_have_room_for_their_previews(path):
    nodes = load(path)["nodes"]
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            assert not overlap(box(a), box(b)), f"{a['type']} ({a['id']}) overlaps {b['type']} ({b['id']})"
        w, h = a["size"]
        mw, mh = MIN_SIZE.get(a["type"], (0, 0))
        assert w >= mw and h >= mh, f"{a['type']} {w}x{h}: the frontend grows it to at least {mw}x{mh}"
        if a["type"] in PREVIEW_BELOW_WIDGETS:  # the results are square (320 or 512 px): a square preview fits
            assert h - PREVIEW_BELOW_WIDGETS[a["type"]] >= w - 20, f"{a['type']} {w}x{h}: its preview overflows"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem[:6])
def test_groups_hold_the_stages_in_reading_order(path):
    wf = load(path)
    groups = wf["groups"]
    assert len(groups) >= 4
    titles = [g["title"] for g in groups]
    assert [int(re.match(r"(\d) [A-Z]", t).group(1)) for t in titles] == list(range(1, len(groups) + 1)), titles
    rects = [(x, y, x + w, y + h) for x, y, w, h in (g["bounding"] for g in groups)]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not overlap(a, b), titles
    for a, b in zip(rects, rects[1:]):  # each stage right of the one before, or on a row below it
        assert b[0] >= a[2] or b[1] >= a[3], titles
    for n in wf["nodes"]:  # every node in exactly one group, below its title
        x0, y0, x1, y1 = box(n)
        inside = [t for t, r in zip(titles, rects) if r[0] <= x0 and x1 <= r[2] and r[1] + GROUP_TITLE <= y0 + BADGE
                  and y1 <= r[3]]
        assert len(inside) == 1, f"{n['type']} ({n['id']}) is in {inside}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem[:6])
def test_the_stored_view_shows_the_whole_graph_in_a_1600x1000_window(path):
    wf = load(path)
    ds = wf["extra"]["ds"]
    scale, (ox, oy) = ds["scale"], ds["offset"]
    assert 0.6 <= scale <= 1.0  # small enough to show it all, large enough to read

    def screen(r):
        return (r[0] + ox) * scale, (r[1] + oy) * scale, (r[2] + ox) * scale, (r[3] + oy) * scale

    groups = [(x, y, x + w, y + h) for x, y, w, h in (g["bounding"] for g in wf["groups"])]
    things = [box(n) for n in wf["nodes"]] + groups
    for r in map(screen, things):
        assert VISIBLE[0] <= r[0] and VISIBLE[1] <= r[1] and r[2] <= VISIBLE[2] and r[3] <= VISIBLE[3], r
        assert not overlap(r, MINIMAP), r


def test_the_diffusion_template_says_which_checkpoint_to_place_where():
    path = next(p for p in WORKFLOWS if p.stem.startswith("FSTH 4."))
    nodes = load(path)["nodes"]
    loader = next(n for n in nodes if n["type"] == "CheckpointLoaderSimple")
    (model,) = loader["properties"]["models"]  # the frontend's missing-model dialog reads this
    assert model["name"] == loader["widgets_values"][0] and model["directory"] == "checkpoints"
    assert model["url"].startswith("https://") and model["name"] in model["url"]
    (note,) = [n for n in nodes if n["type"] == "MarkdownNote"]
    text = note["widgets_values"][0]
    assert "models/checkpoints" in text and "SD 1.5" in text and model["name"] in text
    assert "Any SD 1.5 checkpoint" in text  # the FSTH half runs on whatever portrait the checkpoint paints
