"""``animate``: a video of the person in the source image(s), driven by a video or procedural motion."""
from __future__ import annotations

import argparse

from fsth_core.options import (
    BACKEND_HELP,
    BACKENDS,
    CRF_RANGE,
    D_STEPS,
    DEFAULT_FPS,
    FACE_BOX_HELP,
    FINETUNE_STEPS_HELP,
    LR_D,
    LR_G,
    MAX_BATCH,
    MAX_D_STEPS,
    MAX_FINETUNE_STEPS,
    MAX_FPS,
    MAX_FRAMES,
    MAX_INTENSITY,
    MAX_SHOTS,
    MAX_THREADS,
    METHODS,
    MOTIONS,
    PRECISIONS,
    RETARGET_MODES,
    SLIDERS,
)

NAME = "animate"
HELP = "animate 1-32 pictures (or a clip) of a person with a driving video, procedural motion or a sound"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import FPS, SEED, device, face_box, face_rule, finite, floats, ints

    p.add_argument("--model", metavar="M.safetensors", help="meta-learned model (not needed for --method warp)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--source", nargs="+", metavar="IMG",
                     help=f"1-{MAX_SHOTS} images of the person: each region of every frame (mouth, eyes, the rest of "
                          "the face) comes from the one nearest in shape and pose; the first is the picture animated")
    src.add_argument("--source-clip", metavar="VIDEO",
                     help=f"a video (or folder of frames) of the person: up to --shots (default {MAX_SHOTS}) frames "
                          "showing the face in different ways are picked by their landmarks and used as the sources; "
                          "the most typical frame is the picture animated")
    src.add_argument("--source-video", metavar="CLIP",
                     help="video-to-video: re-animate the face in this video (or folder of frames), frame by frame "
                          "at its own resolution; the motion (--driver or --motion) is added to its own")
    motion = p.add_mutually_exclusive_group(required=True)
    motion.add_argument("--driver", metavar="VIDEO|N",
                        help="driving video (or folder of frames); or a camera index (0: the first webcam): live, "
                             "until q/Esc in --preview or Ctrl-C, and the video of what was recorded is written")
    motion.add_argument("--motion", choices=MOTIONS,
                        help="procedural motion: talk = blinks, speech, head turns; still = the source's own pose "
                             "(with --edit: a posed portrait)")
    motion.add_argument("--audio", metavar="FILE",
                        help="talk to a sound (wav, mp3, or the sound of a video): the mouth follows its loudness, "
                             "the video is as long as the sound and carries it")
    p.add_argument("--shots", type=ints(1, MAX_SHOTS), default=MAX_SHOTS, metavar="N",
                   help=f"with --source-clip: how many frames to pick (1-{MAX_SHOTS})")
    given = p.add_mutually_exclusive_group()
    given.add_argument("--face-box", type=face_box, nargs="+", metavar="X,Y,W,H",
                       help="the face's box in each --source image (one box for all, or one per image, in order) "
                            "or in the first frame of --source-video: X,Y its top-left corner, W,H its size, in "
                            "pixels; " + FACE_BOX_HELP)
    given.add_argument("--landmarks", metavar="FILE.npz",
                       help="the source's 68 landmarks instead of detecting them (e.g. the landmarks command's "
                            "output, corrected): 'points' [N,68,2], one set per --source image in order, or one "
                            "per frame of --source-video; x, y in pixels (docs/landmarks.md shows the layout)")
    p.add_argument("--driver-face-box", type=face_box, metavar="X,Y,W,H",
                   help="the face's box in the first frame of the --driver video (it seeds the tracker); "
                        + FACE_BOX_HELP)
    p.add_argument("--out", required=True, metavar="OUT",
                   help="the result: a video (.mp4, .mov, .mkv: H.264; .webm: VP9; .gif), or lossless PNG frames: "
                        "a new or empty folder (ending in /) or a pattern such as frames/f_%%05d.png; never one "
                        "of the inputs")
    p.add_argument("--crf", type=ints(*CRF_RANGE), default=18, metavar=f"{CRF_RANGE[0]}-{CRF_RANGE[1]}",
                   help="video quality: 0 = best (x264 lossless), 18 = default, 51 = smallest; for exact pixels "
                        "write PNG frames")
    p.add_argument("--method", default="neural", choices=METHODS,
                   help="neural: the paper's generator; warp: training-free mesh warp")
    p.add_argument("--finetune-steps", type=ints(0, MAX_FINETUNE_STEPS), metavar="N",
                   help=f"fine-tuning steps (default: the checkpoint's recommendation, else {FINETUNE_STEPS_HELP})")
    p.add_argument("--no-finetune", action="store_true", help="feed-forward result (no fine-tuning)")
    p.add_argument("--finetune-lr", type=floats(0, 1, low_open=True), nargs=2, metavar=("LR_G", "LR_D"),
                   help=f"learning rates (default: the checkpoint's recommendation, else {LR_G:g} {LR_D:g})")
    p.add_argument("--finetune-pixel-l1", type=floats(0, 1e6), help="extra pixel L1 weight while fine-tuning")
    p.add_argument("--driver-mouth", action="store_true",
                   help="with a driver video: every frame's mouth interior (teeth, tongue) is the driver's own, "
                        "aligned to the animated lips and colour-matched to the picture, instead of the source's "
                        "or a painted one")
    p.add_argument("--finetune-d-steps", type=ints(1, MAX_D_STEPS), metavar="N",
                   help="discriminator updates per generator update while fine-tuning (default: as the model was "
                        f"meta-learned, its --d-steps, else {D_STEPS})")
    p.add_argument("--retarget", default="relative", choices=RETARGET_MODES,
                   help="relative: the driver's motion on the source's face shape; absolute: raw landmarks")
    p.add_argument("--paste-back", action=argparse.BooleanOptionalAction, default=True,
                   help="animate the whole source picture at its own resolution: only the head region that "
                        "moves is replaced, every other pixel is the picture's own (default); "
                        "--no-paste-back writes head crops at the model's size")
    p.add_argument("--fps", type=FPS,
                   help=f"output fps, up to {MAX_FPS:g} (default: the driver's average rate, or {DEFAULT_FPS:g}); "
                        "a driver video is "
                        "resampled to it by its timestamps, so the result lasts as long as the driver")
    p.add_argument("--seconds", type=floats(0, MAX_FRAMES / DEFAULT_FPS, low_open=True), default=4.0,
                   help=f"length of procedural motion (at most {MAX_FRAMES:,} frames: {MAX_FRAMES // 90000} h "
                        "at 25 fps)")
    p.add_argument("--edit", metavar="NAME=V,...",
                   help="expression edit of every frame: " + ", ".join(
                       f"{k} ({lo:g}..{hi:g})" for k, (lo, hi, _, _) in SLIDERS.items())
                   + "; e.g. mouth=0.3,smile=0.5,yaw=10 (yaw/pitch/roll in degrees)")
    p.add_argument("--intensity", type=floats(0, MAX_INTENSITY), default=1.0,
                   help=f"procedural motion intensity: 0 still, 1 natural, 2 lively (max {MAX_INTENSITY:g})")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--min-realism", type=finite, metavar="R",
                   help="replace frames the discriminator scores below R by the last kept frame")
    p.add_argument("--frames-dir", metavar="DIR",
                   help="also write the frames as PNGs into DIR, a new or empty folder (a non-empty one is "
                        "refused: nothing in an existing folder is ever deleted or replaced)")
    p.add_argument("--person-out", metavar="P.safetensors", help="save the (fine-tuned) person for reuse")
    p.add_argument("--person", metavar="P.safetensors", help="use a saved person instead of fine-tuning again")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="landmark detector: " + BACKEND_HELP)
    p.add_argument("--face", type=face_rule, default="largest",
                   help="which face of a source picture with several: 'largest' (default) or N, the N-th from the "
                        "left (0-based)")
    p.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto: bf16 on a GPU that has it; on a CPU what was measured fastest for the model's size "
                        "(python -m fsth_core info --bench; FSTH_PRECISION and FSTH_MEMORY_FORMAT override it)")
    p.add_argument("--batch", type=ints(1, MAX_BATCH), default=8,
                   help="frames generated at once (a camera: 1, the lowest latency)")
    p.add_argument("--preview", action="store_true",
                   help="show the frames in a window as they are made, with the achieved fps (q/Esc: stop, the "
                        "video so far is written); needs a display and OpenCV with window support (opencv-python)")
    p.add_argument("--threads", type=ints(1, MAX_THREADS), metavar="N",
                   help="torch threads while generating (default: all CPUs but one, which the other stages of "
                        "the pipeline and the video encoder use)")
    p.add_argument("--quiet", action="store_true")


def run(args) -> int:
    from fsth_core.inference.animate import AnimateOptions, animate
    from fsth_core.landmarks.edit import ExpressionEdit

    if args.source and len(args.source) > MAX_SHOTS:
        raise ValueError(f"at most {MAX_SHOTS} source images, got {len(args.source)}")
    if args.source_video and (args.audio or args.person or args.person_out or args.min_realism is not None
                              or args.face != "largest"):
        raise ValueError("--source-video works with --driver or --motion (not --audio, --person, --person-out, "
                         "--min-realism or --face)")
    from fsth_core.inference.live import PreviewWindow, camera_index

    if args.source_video and (args.preview or camera_index(args.driver) is not None):
        raise ValueError("--source-video works with a driver video (not a camera) and without --preview")
    if args.min_realism is not None and camera_index(args.driver) is not None:
        raise ValueError("--min-realism works with a driver video or --motion, not a camera")
    if args.driver_face_box is not None and (args.driver is None or camera_index(args.driver) is not None):
        raise ValueError("--driver-face-box marks the face in a --driver video (not a camera, not --motion/--audio)")
    if args.source_clip and (args.face_box or args.landmarks):
        raise ValueError("--face-box and --landmarks go with --source or --source-video; a --source-clip's frames "
                         "are found by the detector")
    if args.source_video and args.face_box and len(args.face_box) != 1:
        raise ValueError(f"--source-video takes one --face-box (its first frame's), got {len(args.face_box)}")
    opt = AnimateOptions(method=args.method, finetune_steps=0 if args.no_finetune else args.finetune_steps,
                         finetune_lr_g=args.finetune_lr[0] if args.finetune_lr else None,
                         finetune_lr_d=args.finetune_lr[1] if args.finetune_lr else None,
                         finetune_pixel_l1=args.finetune_pixel_l1, finetune_d_steps=args.finetune_d_steps,
                         retarget=args.retarget,
                         paste_back=args.paste_back, fps=args.fps, seconds=args.seconds,
                         intensity=0.0 if args.motion == "still" else args.intensity,
                         seed=args.seed, batch=args.batch, backend=args.backend, face=args.face,
                         device=args.device,
                         precision=args.precision, min_realism=args.min_realism, crf=args.crf,
                         edit=ExpressionEdit.parse(args.edit) if args.edit else None, threads=args.threads,
                         shots=args.shots, driver_mouth=args.driver_mouth,
                         face_boxes=tuple(args.face_box) if args.face_box else None,
                         driver_face_box=args.driver_face_box, source_landmarks=args.landmarks)
    if args.source_video:
        from fsth_core.inference.video2video import animate_clip
        s = animate_clip(args.model, args.source_video, args.out, args.driver, opt, args.frames_dir,
                         progress=not args.quiet)
    else:
        window = PreviewWindow() if args.preview else None  # no display: one error line, before any work
        try:
            s = animate(args.model, args.source or [], args.out, driver=args.driver, options=opt,
                        frames_dir=args.frames_dir, person_in=args.person, person_out=args.person_out,
                        progress=not args.quiet, audio=args.audio, preview=window,
                        source_clip=args.source_clip).as_summary()
        finally:
            if window is not None:
                window.close()
    print(f"wrote {s['out']}: {s['written']} frames at {s['fps']:g} fps ({s['method']}"
          + (f", fine-tuned {s['finetune_steps']} steps" if s.get("finetune_steps") else "")
          + (f", {s['held_frames']} unrealistic frames held" if "held_frames" in s else "")
          + (", with sound" if "audio" in s else "")
          + (f", camera: {s['skipped']} frames skipped while busy" if s.get("camera") else "")
          + (", stopped by the user" if s.get("stopped") else "")
          + (f"; {s['frames_per_s']:.1f} frames/s end to end" if "frames_per_s" in s else "")
          + (f", set-up {s['setup_s']:.1f} s" if "setup_s" in s else "") + ")")
    return 0
