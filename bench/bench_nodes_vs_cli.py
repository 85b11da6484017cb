"""The nodes against the command line on the same work: a template's API prompt sent to a running ComfyUI,
timed node by node, interleaved with ``python -m fsth_core animate`` doing the same job; medians.

    python bench/bench_nodes_vs_cli.py --comfy-root /tmp/comfy [--port 8190]      # starts ComfyUI, stops it
    python bench/bench_nodes_vs_cli.py --url http://127.0.0.1:8188                # a ComfyUI already running
        [--template 2] [--repeats 3] [--finetune-steps 0] [--json out.json]

ComfyUI is the one ../shared/comfyui/README.md builds, with this pack linked into its custom_nodes (see
bench/_comfyui.py).  The templates that have a command-line twin:

  2  "FSTH 2. Animate a portrait, no video needed": portrait + Procedural Motion -> Generator -> Paste Back
     -> Save Video; animate --source portrait --motion talk --seconds T/fps --seed S
  1  "FSTH 1. Animate a portrait with a driving video": portrait + driving video -> ...;
     animate --source portrait --driver mp4

Each round changes the motion (Procedural Motion's seed; the driver's Landmark Extract smoothing by 1e-6)
so ComfyUI runs everything from the motion on again while the model, the person and the fine-tuning stay
cached, as a user who tries another motion sees it.  The node rate is frames / the wall time of the nodes
that ran (from the websocket's 'executing' messages: landmarks, motion, Generator, Paste Back, Create Video,
Save Video).  The command line's is what it prints: frames / (its driver's landmarks + generation,
composition and encoding), after its set-up (loading, sources, identity, fine-tuning), which is not timed.
Both fine-tune ``--finetune-steps`` steps (0: the identity alone; the generation is the same work).
The CLI runs as a subprocess of this script, on the same machine, between two ComfyUI runs: on a shared
machine both see the same load, and the medians are compared.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench._comfyui import ROOT, ComfyServer, add_server_args, api_prompt, load_template
from bench._common import add_json_arg, emit
from fsth_core.runtime.paths import example_inputs

TWINS = (2, 1)  # the templates with a command-line twin, by their number
CLI_RATE = re.compile(r"wrote .*: (\d+) frames .*; ([\d.]+) frames/s end to end, set-up ([\d.]+) s")


def nodes_of(prompt: dict, class_type: str) -> list[str]:
    return [k for k, v in prompt.items() if v["class_type"] == class_type]


def prepare(prompt: dict, finetune_steps: int) -> dict:
    """The template's prompt with the bench's fine-tuning steps; its Save Video writes under fsth_bench/."""
    for k in nodes_of(prompt, "FSTH_FewShotFinetune"):
        prompt[k]["inputs"]["steps"] = finetune_steps
    for k in nodes_of(prompt, "SaveVideo"):
        prompt[k]["inputs"]["filename_prefix"] = "fsth_bench/nodes"
    return prompt


def vary_motion(prompt: dict, round_: int) -> dict:
    """Another motion of the same length: ComfyUI re-runs everything from the motion on."""
    p = json.loads(json.dumps(prompt))
    motion = nodes_of(p, "FSTH_ProceduralMotion")
    if motion:
        p[motion[0]]["inputs"]["seed"] = 1000 + round_
        return p
    videos = [k for k in nodes_of(p, "FSTH_LandmarkExtract") if p[k]["inputs"]["input_kind"] == "video"]
    p[videos[0]]["inputs"]["smoothing"] += 1e-6 * (round_ + 1)
    return p


def cli_args(prompt: dict, out: Path, finetune_steps: int, round_: int) -> list[str]:
    """``animate`` doing the template's job (the same model, picture, motion length, fps, batch; the pack's
    own copies of the files the template loads)."""
    files = example_inputs()
    gen = prompt[nodes_of(prompt, "FSTH_Generator")[0]]["inputs"]
    model = prompt[nodes_of(prompt, "FSTH_LoadModel")[0]]["inputs"]
    picture = next(v["inputs"]["image"] for v in prompt.values() if v["class_type"] == "LoadImage")
    args = [sys.executable, "-m", "fsth_core", "animate", "--model", str(ROOT / "weights" / model["model_name"]),
            "--source", str(files[picture]), "--out", str(out), "--finetune-steps", str(finetune_steps),
            "--batch", str(gen["batch_size"]), "--method", gen["method"], "--precision", model["precision"],
            "--quiet"]
    motion = nodes_of(prompt, "FSTH_ProceduralMotion")
    if motion:
        m = prompt[motion[0]]["inputs"]
        args += ["--motion", "talk", "--seconds", str(m["frames"] / m["fps"]), "--fps", str(m["fps"]),
                 "--seed", str(1000 + round_), "--intensity", str(m["intensity"])]
    else:
        video = next(v["inputs"]["file"] for v in prompt.values() if v["class_type"] == "LoadVideo")
        args += ["--driver", str(files[video])]
    return args


def run_cli(args: list[str]) -> dict:
    t = time.perf_counter()
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    m = CLI_RATE.search(res.stdout)
    if res.returncode or not m:
        raise RuntimeError(f"animate failed ({res.returncode}): {res.stdout[-1500:]}{res.stderr[-1500:]}")
    return {"frames": int(m.group(1)), "frames_per_s": float(m.group(2)), "setup_s": float(m.group(3)),
            "wall_s": wall}


def run_nodes(server: ComfyServer, prompt: dict) -> dict:
    _, times = server.run(prompt)
    names = {k: v["class_type"] for k, v in prompt.items()}
    frames = prompt[nodes_of(prompt, "FSTH_ProceduralMotion")[0]]["inputs"]["frames"] \
        if nodes_of(prompt, "FSTH_ProceduralMotion") else None
    per = {}
    for k, s in times.items():
        per[names[k]] = per.get(names[k], 0.0) + s
    return {"frames": frames, "seconds": sum(times.values()), "per_node": per}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_server_args(ap, port=8190)
    ap.add_argument("--template", type=int, default=TWINS[0], choices=TWINS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--finetune-steps", type=int, default=0)
    add_json_arg(ap)
    args = ap.parse_args()

    server = ComfyServer.from_args(args)
    with server, tempfile.TemporaryDirectory(prefix="fsth_bench_") as tmp:
        info = server.get("/object_info")
        name = next((ROOT / "example_workflows").glob(f"FSTH {args.template}. *.json")).stem
        prompt = prepare(api_prompt(load_template(name), info), args.finetune_steps)
        print(f"warm-up: {name} in ComfyUI (loads the model, fine-tunes, caches) and animate once")
        first = run_nodes(server, vary_motion(prompt, -1))
        run_cli(cli_args(prompt, Path(tmp) / "warm.mp4", args.finetune_steps, -1))
        nodes, cli = [], []
        for r in range(args.repeats):
            nodes.append(run_nodes(server, vary_motion(prompt, r)))
            frames = nodes[-1]["frames"] or first["frames"]
            cli.append(run_cli(cli_args(prompt, Path(tmp) / f"cli{r}.mp4", args.finetune_steps, r)))
            nodes[-1]["frames"] = frames or cli[-1]["frames"]
            print(f"round {r + 1}: nodes {nodes[-1]['frames'] / nodes[-1]['seconds']:.1f} frames/s "
                  f"({', '.join(f'{k} {v:.2f} s' for k, v in nodes[-1]['per_node'].items())}); "
                  f"animate {cli[-1]['frames_per_s']:.1f} frames/s (set-up {cli[-1]['setup_s']:.1f} s)")
    frames = cli[-1]["frames"]
    med = statistics.median
    node_fps = med(n["frames"] / n["seconds"] for n in nodes)
    fsth_fps = med(n["frames"] / sum(v for k, v in n["per_node"].items() if k.startswith("FSTH_")) for n in nodes)
    cli_fps = med(c["frames_per_s"] for c in cli)
    rows = [dict(run="ComfyUI template (nodes from the motion on)", frames=frames, frames_per_s=node_fps,
                 of_cli=node_fps / cli_fps),
            dict(run="  of which the FSTH nodes alone", frames=frames, frames_per_s=fsth_fps,
                 of_cli=fsth_fps / cli_fps),
            dict(run="python -m fsth_core animate", frames=frames, frames_per_s=cli_fps, of_cli=1.0)]
    per_node = {k: med(n["per_node"].get(k, 0.0) for n in nodes) for k in nodes[0]["per_node"]}
    rows += [dict(run=f"  node {k}", frames=frames, seconds=v) for k, v in per_node.items()]
    emit(rows, ["run", "frames", "frames_per_s", "of_cli", "seconds"], args,
         meta={"template": name, "repeats": args.repeats, "finetune_steps": args.finetune_steps,
               "cpus": os.cpu_count()})


if __name__ == "__main__":
    main()
