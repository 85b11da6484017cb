"""``animate``: a video of the person in the source image(s), driven by a video or procedural motion."""
from __future__ import annotations

import argparse

from fsth_core.landmarks.edit import SLIDERS

NAME = "animate"
HELP = "animate 1-32 source images of a person with a driving video or procedural motion"


def add_arguments(p) -> None:
    p.add_argument("--model", metavar="M.safetensors", help="meta-learned model (not needed for --method warp)")
    p.add_argument("--source", nargs="+", required=True, metavar="IMG", help="1-32 images of the person")
    motion = p.add_mutually_exclusive_group(required=True)
    motion.add_argument("--driver", metavar="VIDEO", help="driving video (or folder of frames)")
    motion.add_argument("--motion", choices=["talk", "still"],
                        help="procedural motion: talk = blinks, speech, head turns; still = the source's own pose "
                             "(with --edit: a posed portrait)")
    motion.add_argument("--audio", metavar="FILE",
                        help="talk to a sound (wav, mp3, or the sound of a video): the mouth follows its loudness, "
                             "the video is as long as the sound and carries it")
    p.add_argument("--out", required=True, metavar="OUT.mp4")
    p.add_argument("--method", default="neural", choices=["neural", "warp"],
                   help="neural: the paper's generator; warp: training-free mesh warp")
    p.add_argument("--finetune-steps", type=int, metavar="N",
                   help="fine-tuning steps (default: the checkpoint's recommendation, else ~125 for one image "
                        "growing to ~230 for 32)")
    p.add_argument("--no-finetune", action="store_true", help="feed-forward result (no fine-tuning)")
    p.add_argument("--finetune-lr", type=float, nargs=2, metavar=("LR_G", "LR_D"),
                   help="learning rates (default: the checkpoint's recommendation, else 5e-5 2e-4)")
    p.add_argument("--finetune-pixel-l1", type=float, help="extra pixel L1 weight while fine-tuning")
    p.add_argument("--retarget", default="relative", choices=["relative", "absolute"],
                   help="relative: the driver's motion on the source's face shape; absolute: raw landmarks")
    p.add_argument("--paste-back", action=argparse.BooleanOptionalAction, default=True,
                   help="animate the whole source picture at its own resolution: only the head region that "
                        "moves is replaced, every other pixel is the picture's own (default); "
                        "--no-paste-back writes head crops at the model's size")
    p.add_argument("--fps", type=float, help="output fps (default: the driver's, or 25)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of procedural motion")
    p.add_argument("--edit", metavar="NAME=V,...",
                   help="expression edit of every frame: " + ", ".join(
                       f"{k} ({lo:g}..{hi:g})" for k, (lo, hi, _, _) in SLIDERS.items())
                   + "; e.g. mouth=0.3,smile=0.5,yaw=10 (yaw/pitch/roll in degrees)")
    p.add_argument("--intensity", type=float, default=1.0, help="procedural motion intensity (0-2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-realism", type=float, metavar="R",
                   help="replace frames the discriminator scores below R by the last kept frame")
    p.add_argument("--frames-dir", metavar="DIR", help="also write the frames as PNGs")
    p.add_argument("--person-out", metavar="P.safetensors", help="save the (fine-tuned) person for reuse")
    p.add_argument("--person", metavar="P.safetensors", help="use a saved person instead of fine-tuning again")
    p.add_argument("--backend", default="auto", choices=["auto", "dlib", "face_alignment"])
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--quiet", action="store_true")


def run(args) -> int:
    from fsth_core.animate import AnimateOptions, animate
    from fsth_core.landmarks.edit import ExpressionEdit

    if len(args.source) > 32:
        raise ValueError(f"at most 32 source images, got {len(args.source)}")
    opt = AnimateOptions(method=args.method, finetune_steps=0 if args.no_finetune else args.finetune_steps,
                         finetune_lr_g=args.finetune_lr[0] if args.finetune_lr else None,
                         finetune_lr_d=args.finetune_lr[1] if args.finetune_lr else None,
                         finetune_pixel_l1=args.finetune_pixel_l1, retarget=args.retarget,
                         paste_back=args.paste_back, fps=args.fps, seconds=args.seconds,
                         intensity=0.0 if args.motion == "still" else args.intensity,
                         seed=args.seed, batch=args.batch, backend=args.backend, device=args.device,
                         precision=args.precision, min_realism=args.min_realism,
                         edit=ExpressionEdit.parse(args.edit) if args.edit else None)
    s = animate(args.model, args.source, args.out, driver=args.driver, options=opt, frames_dir=args.frames_dir,
                person_in=args.person, person_out=args.person_out, progress=not args.quiet, audio=args.audio)
    print(f"wrote {s['out']}: {s['written']} frames at {s['fps']:g} fps ({s['method']}"
          + (f", fine-tuned {s['finetune_steps']} steps" if s.get("finetune_steps") else "")
          + (f", {s['held_frames']} unrealistic frames held" if "held_frames" in s else "")
          + (", with sound" if "audio" in s else "") + ")")
    return 0
