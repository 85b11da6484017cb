"""The pack as a user sees it in a real ComfyUI: screenshots of the Templates dialog, of each template as it
opens (and, with --run, after it ran), and of the node search for the words people type.  Not a CI test.

    python bench/comfyui_screens.py --comfy-root /tmp/comfy [--port 8191] [--out bench/out/screens] [--run]
    python bench/comfyui_screens.py --url http://127.0.0.1:8188 ...               # a ComfyUI already running

ComfyUI is the one ../shared/comfyui/README.md builds, with this pack linked into ComfyUI/custom_nodes (see
bench/_comfyui.py).  The browser is Debian's chromium (``apt-get install chromium``), driven headless by
Playwright's Python package (``pip install playwright``; no browser download: ``--chromium`` names the
executable, /usr/bin/chromium by default), in a 1600x1000 window.

What it does, as a new user would: opens ComfyUI, opens the Templates dialog from the sidebar and picks the
pack's entry under Extensions (``templates.png``); opens each template from its card (``template_N.png``)
and measures, in the page, every node's box (title bar included) and the "fsth" badge under it: the report
lists nodes that overlap, nodes outside the visible part of the window (under the sidebar, the top menu or
the minimap), and nodes the frontend had to grow past their stored size.  ``--run`` presses Run on each
template whose nodes and models this ComfyUI has, waits, and saves ``template_N_run.png`` (the previews, and
whether they fit their nodes).  Then the node search (double-click on the canvas) for each of --search
(``search_<word>.png``) with the pack's nodes among the results and their rank.  The findings are printed
and written to ``report.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench._comfyui import ROOT, ComfyServer, add_server_args

WINDOW = {"width": 1600, "height": 1000}
WORDS = ["talking head", "face", "portrait", "animate", "lip", "landmark", "FSTH"]
# where the canvas is covered at 1600x1000 (left sidebar, top bar with the floating menu, the minimap)
COVERED = {"sidebar": (0, 0, 60, 1000), "top": (0, 0, 1600, 100), "minimap": (1340, 740, 1600, 1000)}

NODE_BOXES = """() => {
  const ds = app.canvas.ds, T = LiteGraph.NODE_TITLE_HEIGHT;
  const box = (x, y, w, h) => [(x + ds.offset[0]) * ds.scale, (y + ds.offset[1]) * ds.scale,
                               (x + w + ds.offset[0]) * ds.scale, (y + h + ds.offset[1]) * ds.scale];
  return app.graph._nodes.map(n => ({id: n.id, type: n.type, title: n.title,
    screen: box(n.pos[0], n.pos[1] - T, n.size[0], n.size[1] + T), canvas: [n.pos[0], n.pos[1] - T,
    n.pos[0] + n.size[0], n.pos[1] + n.size[1]], size: [...n.size]}));
}"""


def overlaps(a, b, margin=0.0) -> bool:
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


def check_layout(nodes: list[dict], stored: dict) -> dict:
    """Overlapping nodes (the badge under each node counts: 24 canvas px), nodes under covered parts of the
    window or outside it, nodes grown past their stored size."""
    out = {"overlapping": [], "hidden": [], "grown": []}
    for i, a in enumerate(nodes):
        ca = list(a["canvas"])
        ca[3] += 24  # the "fsth" badge below the node
        for b in nodes[i + 1:]:
            if overlaps(ca, b["canvas"]):
                out["overlapping"].append(f"{a['title']} ({a['id']}) / {b['title']} ({b['id']})")
        s = a["screen"]
        if s[0] < 0 or s[1] < 0 or s[2] > WINDOW["width"] or s[3] > WINDOW["height"]:
            out["hidden"].append(f"{a['title']} ({a['id']}): outside the window {[round(v) for v in s]}")
        for where, r in COVERED.items():
            if overlaps(s, r):
                out["hidden"].append(f"{a['title']} ({a['id']}): under the {where}")
        w, h = stored.get(a["id"], a["size"])
        if a["size"][0] > w + 1 or a["size"][1] > h + 1:
            out["grown"].append(f"{a['title']} ({a['id']}): stored {w}x{h}, drawn "
                                f"{a['size'][0]:.0f}x{a['size'][1]:.0f}")
    return out


def open_app(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.app && window.app.graph && window.LiteGraph", timeout=120_000)
    page.wait_for_timeout(2500)
    page.keyboard.press("Escape")  # a first-run dialog, if any


def close_dialogs(page, shot: Path | None = None) -> list[str]:
    """Close the dialogs that are open (saving a screenshot of each first) -> their texts."""
    texts = []
    for k in range(6):
        found = page.evaluate("() => [...document.querySelectorAll('.p-dialog')].map(d => d.innerText.slice(0, 400))")
        if not found:
            break
        texts += found
        if shot is not None:
            page.screenshot(path=f"{shot}_{k + 1}.png")
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    return texts


def open_templates(page, module: str) -> None:
    if not page.get_by_text(module, exact=True).first.is_visible():
        page.get_by_text("Templates", exact=True).first.click()
    page.get_by_text(module, exact=True).first.wait_for(timeout=30_000)
    page.get_by_text(module, exact=True).first.click()
    page.wait_for_timeout(2000)


def run_template(page, server: ComfyServer, workflow: dict, timeout: float) -> str:
    """Press Run (what the Run button does) and wait -> the run's status, or why it did not run."""
    have = server.get("/object_info")
    missing = sorted({n["type"] for n in workflow["nodes"]} - set(have) - {"MarkdownNote", "Note"})
    if missing:
        return f"not run: this ComfyUI has no {', '.join(missing)}"
    before = set(server.get("/history"))
    page.evaluate("async () => { await app.queuePrompt(0, 1) }")
    page.wait_for_timeout(1500)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        q = server.get("/queue")
        if not q["queue_running"] and not q["queue_pending"]:
            break
        time.sleep(1.0)
    else:
        return "timed out"
    page.wait_for_timeout(3000)  # previews load
    new = [e for k, e in server.get("/history").items() if k not in before]
    if not new:
        return "not run: ComfyUI refused the prompt (see the screenshot)"
    return new[-1].get("status", {}).get("status_str", "unknown")


def search(page, word: str, shots: Path, index: int) -> dict:
    page.evaluate("app.graph.clear()")
    page.mouse.dblclick(800, 600)
    page.wait_for_timeout(800)
    page.keyboard.type(word, delay=20)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shots / f"search_{index}_{word.replace(' ', '_')}.png"))
    options = page.evaluate("() => [...document.querySelectorAll('li[role=option]')]"
                            ".map(o => o.innerText.split('\\n')[0].trim()).filter(t => t)")
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    return {"results": len(options), "fsth": [(i + 1, o) for i, o in enumerate(options) if o.startswith("FSTH")]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_server_args(ap, port=8191)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "screens"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--run", action="store_true", help="also run each template that can run here (minutes)")
    ap.add_argument("--run-timeout", type=float, default=900.0)
    ap.add_argument("--search", nargs="*", default=WORDS)
    ap.add_argument("--search-only", action="store_true", help="only the node search")
    args = ap.parse_args()
    try:
        from playwright.sync_api import sync_playwright  # optional: only this script drives a browser
    except ImportError:
        raise SystemExit("this script needs Playwright's Python package: pip install playwright "
                         "(and Debian's chromium: apt-get install chromium)") from None
    shots = Path(args.out)
    shots.mkdir(parents=True, exist_ok=True)
    server = ComfyServer.from_args(args)
    report: dict = {"templates": {}, "search": {}}
    with server, sync_playwright() as p:
        listing = server.get("/workflow_templates")
        ours = {p.stem for p in (ROOT / "example_workflows").glob("*.json")}
        module = next(m for m, names in listing.items() if set(names) == ours)  # this pack's folder name
        names = sorted(listing[module])
        report["dialog_order"] = listing[module]
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport=WINDOW)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_app(page, server.url)
        if args.search_only:
            names = []
        else:
            open_templates(page, module)
            page.screenshot(path=str(shots / "templates.png"))
            close_dialogs(page)
        for i, name in enumerate(names, 1):
            workflow = json.loads((ROOT / "example_workflows" / f"{name}.json").read_text())
            stored = {n["id"]: n["size"] for n in workflow["nodes"]}
            open_templates(page, module)
            page.get_by_text(name, exact=True).first.click()
            page.wait_for_timeout(4000)
            found = {"dialogs": close_dialogs(page, shots / f"template_{i}_dialog")}
            page.screenshot(path=str(shots / f"template_{i}.png"))
            found.update(check_layout(page.evaluate(NODE_BOXES), stored))
            found["view"] = page.evaluate("() => ({scale: app.canvas.ds.scale, offset: [...app.canvas.ds.offset]})")
            if args.run:
                found["run"] = run_template(page, server, workflow, args.run_timeout)
                page.screenshot(path=str(shots / f"template_{i}_run.png"))
                found["after_run"] = check_layout(page.evaluate(NODE_BOXES), stored)
            report["templates"][name] = found
            close_dialogs(page)
        for i, word in enumerate(args.search, 1):
            report["search"][word] = search(page, word, shots, i)
        report["page_errors"] = errors
        browser.close()
    (shots / "report.json").write_text(json.dumps(report, indent=1))
    print(f"templates in the dialog (server order): {report['dialog_order']}")
    for name, found in report["templates"].items():
        print(f"{name}: view {found['view']}")
        for k in ("overlapping", "hidden", "grown"):
            for v in found[k]:
                print(f"  {k}: {v}")
        for d in found["dialogs"]:
            print(f"  dialog: {d!r}")
        if "run" in found:
            print(f"  run: {found['run']}")
            for k in ("overlapping", "hidden", "grown"):
                for v in found["after_run"][k]:
                    print(f"  after the run, {k}: {v}")
    for word, r in report["search"].items():
        print(f"search {word!r}: {r['results']} results, FSTH nodes: {r['fsth'] or 'none'}")
    print(f"screenshots and report.json in {shots}")


if __name__ == "__main__":
    main()
