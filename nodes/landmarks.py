"""Landmark nodes: extract from images, load from a file, render, retarget a driver onto a source, procedural
motion."""
from __future__ import annotations

from fsth_core.landmarks.audio import audio_motion
from fsth_core.landmarks.edit import ExpressionEdit, edit_landmarks
from fsth_core.landmarks.face_box import HINT, boxes_of_masks
from fsth_core.landmarks.given import read_landmarks
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.landmarks.render import draw_landmarks, draw_landmarks_batch
from fsth_core.landmarks.retarget import retarget
from fsth_core.landmarks.track import extract_landmarks
from fsth_core.options import (
    BACKEND_HELP,
    BACKENDS,
    FACE_BOX_HELP,
    FACE_INDEX,
    FACE_WORDS,
    MAX_FPS,
    MAX_INTENSITY,
    RETARGET_MODES,
    SLIDERS,
    word_or_count,
)

from ._comfy import (
    INPUTS,
    Progress,
    audio_to_numpy,
    full_path,
    image_batch,
    iter_uint8,
    list_files,
    mask_to_numpy,
    to_image,
    to_image_stream,
    torch_device,
)
from ._types import FSTHLandmarks

CATEGORY = "FSTH/landmarks"
FACES = [*FACE_WORDS, "0", "1", "2", "3", "4", "5"]
_WORK = 256  # side of the crop in which retargeting works (the result does not depend on it)


class ExtractLandmarks:
    DESCRIPTION = "68-point landmarks of one face in every image of a batch (video frames or photos)."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_LANDMARKS", "IMAGE")
    RETURN_NAMES = ("landmarks", "landmark_images")
    OUTPUT_TOOLTIPS = ("The 68 landmarks of the face in every image (frames without a face are interpolated "
                       "and flagged).", "The landmarks drawn as the paper's coloured line images, at the images' size.")
    SEARCH_ALIASES = ["face landmarks", "facial landmarks", "68 points", "face tracking", "dlib"]
    FUNCTION = "extract"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": ("IMAGE", {"tooltip": "Frames of a video, or photos of one person."}),
            "input_kind": (["video", "photos"], {
                "default": "video",
                "tooltip": "video: track the face from frame to frame and smooth; "
                           "photos: detect the face in each image on its own, no smoothing."}),
            "backend": (list(BACKENDS), {
                "default": "auto",
                "tooltip": f"Landmark detector: {BACKEND_HELP}."}),
            "face": (FACES, {"default": FACES[0],
                             "tooltip": "Which face: the largest, or n = the n-th face from the left (0-based)."}),
            "smoothing": ("FLOAT", {"default": 0.3, "min": 0.0, "max": 1.0, "step": 0.05,
                                    "tooltip": "Temporal smoothing of a video's landmarks (0 = off; "
                                               "ignored for photos)."}),
        }, "optional": {
            "fps": ("FLOAT", {"forceInput": True, "default": 25.0, "min": 1.0, "max": 240.0,
                              "tooltip": "The video's frame rate (connect Get Video Components' fps): smoothing "
                                         "works in real time and the landmarks carry it. Unconnected: 25."}),
            "start": ("INT", {"default": 0, "min": 0, "max": 1000000,
                              "tooltip": "First frame to use (0-based): skip the start of a long clip."}),
            "length": ("INT", {"default": 0, "min": 0, "max": 1000000,
                               "tooltip": "How many frames to use from start (0 = all the rest)."}),
            "face_mask": ("MASK", {"tooltip": "Optional, when no face is found: paint over the face in Load Image's "
                                              "mask editor and connect its MASK. Its bounding box marks the face "
                                              "(in a video: in the first frame used, which seeds the tracking; in "
                                              "photos: one mask for all, or one per photo), " + FACE_BOX_HELP
                                              + ". An empty mask is ignored."}),
        }}

    def extract(self, images, input_kind: str, backend: str, face: str, smoothing: float, fps=None, start=None,
                length=None, face_mask=None):
        first = int(start or 0)
        stop = len(images) if not length else min(len(images), first + int(length))
        if not 0 <= first < stop:
            raise ValueError(f"start {first} is outside the {len(images)} images")
        video, bar = input_kind == "video", Progress(stop - first)
        boxes = None if face_mask is None else boxes_of_masks(mask_to_numpy(face_mask, "face_mask"),
                                                              tuple(images.shape[1:3]), first, stop, not video)

        def stream():
            for f in iter_uint8(images, first, stop, "images"):
                yield f
                bar.update()

        res = extract_landmarks(stream(), backend=backend, face=word_or_count(face, FACE_WORDS, 0, FACE_INDEX),
                                smoothing=float(smoothing) if video else 0.0, track=video, progress=False,
                                total=stop - first, name="images", fps=float(fps) if fps else None,
                                device=str(torch_device()), face_box=boxes)
        missing = [i for i, f in enumerate(res.found) if not f]
        if not video and missing:  # a photo's landmarks must not be copied from another photo
            raise ValueError(f"no face found in photo {missing[0] + 1} of {stop - first} "
                             f"(images[{first + missing[0]}])"
                             + (f" nor in {len(missing) - 1} other(s)" if len(missing) > 1 else "")
                             + f": give only photos that show the face, or {HINT}")
        lm = FSTHLandmarks(res.points, res.image_size, res.found, res.interpolated, res.fps)
        drawn = (draw_landmarks(p, res.image_size) for p in res.points)
        return lm, to_image_stream(drawn, len(res.points))


class LoadLandmarks:
    DESCRIPTION = ("Loads 68-point landmarks from a .npz file in ComfyUI's input folder: points you corrected or "
                   "placed yourself, or a track the landmarks command wrote.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_LANDMARKS", "IMAGE")
    RETURN_NAMES = ("landmarks", "landmark_images")
    OUTPUT_TOOLTIPS = ("The file's landmarks, one set per picture or frame.",
                       "The landmarks drawn as the paper's coloured line images, at the pictures' size.")
    SEARCH_ALIASES = ["load landmarks", "npz", "edited landmarks", "face points file"]
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "landmarks_file": (list_files(INPUTS), {
                "tooltip": "A .npz in ComfyUI's input folder with 'points' [N,68,2] (or [68,2]), x, y in pixels of "
                           "the picture: np.savez('face.npz', points=pts), or the landmarks command's file."}),
        }, "optional": {
            "images": ("IMAGE", {"tooltip": "The pictures (or frames) the points are for: their size is checked "
                                            "and used. Needed when the file does not record image_size."}),
        }}

    @classmethod
    def IS_CHANGED(cls, landmarks_file, images=None):
        try:
            return str(full_path(INPUTS, landmarks_file).stat().st_mtime)
        except (ValueError, OSError):
            return ""

    def load(self, landmarks_file: str, images=None):
        size = None if images is None else tuple(image_batch(images, "images").shape[1:3])
        res = read_landmarks(full_path(INPUTS, landmarks_file), size)
        lm = FSTHLandmarks(res.points, res.image_size, res.found, res.interpolated, res.fps)
        return lm, to_image_stream((draw_landmarks(p, res.image_size) for p in res.points), len(res.points))


class RenderLandmarks:
    DESCRIPTION = "Draws landmarks as the paper's coloured line images."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    OUTPUT_TOOLTIPS = ("The landmark line images.",)
    SEARCH_ALIASES = ["draw landmarks", "landmark image"]
    FUNCTION = "render"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "landmarks": ("FSTH_LANDMARKS", {"tooltip": "Landmarks to draw."}),
            "space": (["crop", "frame"], {
                "default": "crop",
                "tooltip": "crop: in the head crop the generator sees (size x size); "
                           "frame: in the pixels of the frames the landmarks came from."}),
            "size": ("INT", {"default": 256, "min": 16, "max": 2048, "step": 8,
                             "tooltip": "Side of the crop images (space = crop only)."}),
        }}

    def render(self, landmarks: FSTHLandmarks, space: str, size: int):
        if space == "crop":
            return (to_image(draw_landmarks_batch(landmarks.in_crop(size), size)),)
        return (to_image(draw_landmarks_batch(landmarks.points, landmarks.image_size)),)


class RetargetLandmarks:
    DESCRIPTION = "Makes the source face follow a driver's landmarks (the result lies on the source picture)."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_LANDMARKS",)
    RETURN_NAMES = ("landmarks",)
    OUTPUT_TOOLTIPS = ("Landmarks on the source picture that follow the driver.",)
    SEARCH_ALIASES = ["motion transfer", "reenactment", "driving video", "retarget"]
    FUNCTION = "retarget"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "source": ("FSTH_LANDMARKS",
                       {"tooltip": "Landmarks of the portrait to animate (its first frame is used)."}),
            "driver": ("FSTH_LANDMARKS", {"tooltip": "Landmarks of the driving video."}),
            "mode": (list(RETARGET_MODES), {
                "default": "relative",
                "tooltip": "relative: only the driver's motion, on the source's face shape; "
                           "absolute: the driver's own landmarks (the paper; carries the driver's face shape)."}),
            "reference_frame": ("INT", {"default": 0, "min": 0, "max": 100000,
                                        "tooltip": "Driver frame taken as neutral (relative mode)."}),
        }}

    def retarget(self, source: FSTHLandmarks, driver: FSTHLandmarks, mode: str, reference_frame: int):
        if reference_frame >= len(driver):
            raise ValueError(f"reference_frame {reference_frame} is outside the driver's {len(driver)} frames")
        box = source.source_box()
        src = box.points_to_crop(source.points[0], _WORK)
        out = retarget(src, driver.in_crop(_WORK), mode=mode, reference=int(reference_frame))
        return (FSTHLandmarks(box.points_from_crop(out, _WORK), source.image_size, driver.found,
                              driver.interpolated, driver.fps, crop=box),)


class ProceduralMotion:
    DESCRIPTION = ("Animated landmarks of one face without a video: blinks, speech-like mouth, head motion; with "
                   "an audio input the mouth follows the sound's loudness (no phonemes) and the motion is as "
                   "long as the sound.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_LANDMARKS",)
    RETURN_NAMES = ("landmarks",)
    OUTPUT_TOOLTIPS = ("A landmark track of the source face (blinks, mouth, head motion), on its picture.",)
    SEARCH_ALIASES = ["talking", "audio to face", "lip sync", "idle animation", "blink"]
    FUNCTION = "animate"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "source": ("FSTH_LANDMARKS", {"tooltip": "Landmarks of the portrait (its first frame is used)."}),
            "frames": ("INT", {"default": 100, "min": 1, "max": 100000, "tooltip": "Number of frames to make."}),
            "fps": ("FLOAT", {"default": 25.0, "min": 1.0, "max": MAX_FPS, "step": 1.0,
                              "tooltip": "Frame rate (motion speeds are in seconds); use the same in CreateVideo."}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 2 ** 31 - 1, "control_after_generate": True,
                             "tooltip": "Random seed: the same seed gives the same motion."}),
            "intensity": ("FLOAT", {"default": 1.0, "min": 0.0, "max": MAX_INTENSITY, "step": 0.05,
                                    "tooltip": "0 = still, 1 = natural, 2 = lively."}),
        }, "optional": {
            "audio": ("AUDIO", {"tooltip": "Optional: a sound to talk to (Load Audio, or Get Video Components' "
                                           "audio). The mouth opens with its loudness and widens or rounds with "
                                           "its pitch colour; frames is then ignored: the motion lasts as long "
                                           "as the sound at fps. Connect the same audio to Create Video."}),
        }}

    def animate(self, source: FSTHLandmarks, frames: int, fps: float, seed: int, intensity: float, audio=None):
        kw = {"fps": float(fps), "seed": int(seed), "intensity": float(intensity)}
        if audio is None:
            pts = procedural_motion(source.points[0], int(frames), **kw)
        else:
            pts = audio_motion(source.points[0], *audio_to_numpy(audio), **kw)
        return (FSTHLandmarks.of(pts, source.image_size, float(fps), crop=source.source_box()),)


class EditLandmarks:
    DESCRIPTION = ("Expression editing: opens the mouth, smiles, closes the eyes, raises the brows and turns the "
                   "head of one pose or of every frame of a track (the 68 points have no pupils: no gaze). "
                   "With Landmark Extract's pose of a still portrait it poses the portrait without a driver.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_LANDMARKS",)
    RETURN_NAMES = ("landmarks",)
    OUTPUT_TOOLTIPS = ("The edited landmarks, on the same picture and head box as the input.",)
    SEARCH_ALIASES = ["expression editor", "face pose", "smile", "blink", "head turn", "advanced live portrait"]
    FUNCTION = "edit"

    @classmethod
    def INPUT_TYPES(cls):
        sliders = {name: ("FLOAT", {"default": 0.0, "min": lo, "max": hi, "step": step, "tooltip": tip})
                   for name, (lo, hi, step, tip) in SLIDERS.items()}
        return {"required": {"landmarks": ("FSTH_LANDMARKS", {
            "tooltip": "One pose (Landmark Extract on a portrait) or a track (Retarget / Procedural Motion); "
                       "every frame gets the same edit."}), **sliders}}

    def edit(self, landmarks: FSTHLandmarks, mouth: float, smile: float, eyes: float, brows: float, yaw: float,
             pitch: float, roll: float):
        e = ExpressionEdit(mouth, smile, eyes, brows, yaw, pitch, roll)
        lm = landmarks
        return (FSTHLandmarks(edit_landmarks(lm.points, e), lm.image_size, lm.found, lm.interpolated, lm.fps,
                              crop=lm.head_box()),)
