"""Each node called on tiny inputs returns its declared types and shapes; models are never modified;
progress and cancel go through a (stubbed) comfy.utils.ProgressBar."""
import json
import os
import stat
import sys
import threading
import types

import numpy as np
import pytest
import torch
from test_nodes_defs import load_pack

PACK = load_pack()
N = {k: v() for k, v in PACK.NODE_CLASS_MAPPINGS.items()}
T = sys.modules["fsth_pack.nodes._types"]
SIZE = 128  # picture side
FRAMES = 5


def check(node_id, result):
    """Result (tuple, or {'result': tuple}) matches the node's RETURN_TYPES."""
    if isinstance(result, dict):
        result = result["result"]
    cls = PACK.NODE_CLASS_MAPPINGS[node_id]
    assert isinstance(result, tuple) and len(result) == len(cls.RETURN_TYPES)
    want = {"FSTH_MODEL": T.FSTHModel, "FSTH_LANDMARKS": T.FSTHLandmarks, "FSTH_IDENTITY": T.FSTHIdentity,
            "STRING": str, "FLOAT": float, "INT": int}
    is_list = getattr(cls, "OUTPUT_IS_LIST", (False,) * len(result))
    for value, kind, as_list in zip(result, cls.RETURN_TYPES, is_list):
        if as_list:  # a ComfyUI list output: a Python list of values of the type
            assert isinstance(value, list) and value and all(type(v) is want[kind] for v in value)
        elif kind == "IMAGE":
            assert value.dtype == torch.float32 and value.dim() == 4 and value.shape[-1] == 3
            assert 0 <= float(value.min()) and float(value.max()) <= 1
        elif kind == "MASK":
            assert value.dtype == torch.float32 and value.dim() == 3
            assert 0 <= float(value.min()) and float(value.max()) <= 1
        else:
            assert isinstance(value, want[kind])
    return result


def state(m):
    return {k: v.clone() for k, v in m.model.state_dict().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def picture():
    import cv2
    from skimage import data

    img = cv2.resize(data.astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(img).float()[None] / 255


@pytest.fixture(scope="module")
def source(picture):
    return check("FSTH_LandmarkExtract", N["FSTH_LandmarkExtract"].extract(picture, "photos", "dlib", "largest", 0.0))


@pytest.fixture(scope="module")
def model():
    """A tiny warp-guided model (the bundled checkpoint's kind)."""
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model

    return T.FSTHModel(build_model(preset("tiny", warp_guided=True), seed=0), "tiny", "fp32")


@pytest.fixture(scope="module")
def motion(source):
    return check("FSTH_ProceduralMotion", N["FSTH_ProceduralMotion"].animate(source[0], FRAMES, 25.0, 1, 1.0))[0]


def test_landmark_extract_on_a_photo(source):
    lm, img = source
    assert lm.points.shape == (1, 68, 2) and lm.image_size == (SIZE, SIZE) and lm.found.all()
    assert img.shape == (1, SIZE, SIZE, 3) and float(img.max()) > 0.5  # lines drawn


def test_landmark_extract_video_tracks_and_smooths(picture):
    frames = torch.cat([torch.roll(picture, s, dims=2) for s in (0, 2, 4, 6)])
    lm, img = check("FSTH_LandmarkExtract", N["FSTH_LandmarkExtract"].extract(frames, "video", "dlib", "0", 0.5))
    assert len(lm) == 4 and img.shape == (4, SIZE, SIZE, 3)
    dx = np.diff(lm.points[:, :, 0].mean(1))
    assert (dx > 0).all()  # follows the shift to the right


def test_landmark_extract_takes_fps_start_and_length(picture):
    frames = torch.cat([torch.roll(picture, s, dims=2) for s in (0, 2, 4, 6, 8)])
    node = N["FSTH_LandmarkExtract"]
    full, _ = node.extract(frames, "video", "dlib", "0", 0.0)
    part, img = check("FSTH_LandmarkExtract", node.extract(frames, "video", "dlib", "0", 0.0, 12.5, 1, 3))
    assert len(part) == 3 and img.shape == (3, SIZE, SIZE, 3) and part.fps == 12.5 and full.fps is None
    np.testing.assert_allclose(part.points[0], full.points[1], atol=1.0)  # frames 1..3
    (tail, _) = node.extract(frames, "video", "dlib", "0", 0.0, None, 3, 0)  # length 0: to the end
    assert len(tail) == 2
    with pytest.raises(ValueError, match="start 5 is outside"):
        node.extract(frames, "video", "dlib", "0", 0.0, None, 5, 0)


def test_face_alignment_runs_on_comfyuis_device(comfy_stubs, picture, monkeypatch):
    mod = sys.modules["fsth_pack.nodes.landmarks"]
    seen = {}

    def fake_extract(frames, **kw):
        seen.update(kw)
        raise RuntimeError("stop")

    monkeypatch.setattr(mod, "extract_landmarks", fake_extract)
    monkeypatch.setattr(sys.modules["comfy.model_management"], "get_torch_device", lambda: torch.device("cuda", 1))
    with pytest.raises(RuntimeError, match="stop"):
        N["FSTH_LandmarkExtract"].extract(picture, "photos", "face_alignment", "largest", 0.0)
    assert seen["device"] == "cuda:1" and seen["backend"] == "face_alignment"


def test_missing_backends_say_what_to_install(picture, monkeypatch):
    with pytest.raises(ValueError, match="face.alignment"):
        N["FSTH_LandmarkExtract"].extract(picture, "photos", "face_alignment", "largest", 0.0)
    monkeypatch.setitem(sys.modules, "dlib", None)
    with pytest.raises(ValueError, match="pip install dlib-bin"):
        N["FSTH_LandmarkExtract"].extract(picture, "photos", "dlib", "largest", 0.0)


def test_landmark_extract_takes_a_face_mask_for_a_face_no_detector_finds():
    """A drawn face: refused (saying to connect a face mask) with Load Image's empty mask; with a mask painted
    over the face, its landmarks are the face template fitted into the mask's bounding box (and its features)."""
    from _landmark_helpers import drawn_face

    from fsth_core.landmarks.box_fit import fit_template

    img, (x, y, w, h), _ = drawn_face()
    images = torch.from_numpy(img).float()[None] / 255
    node = N["FSTH_LandmarkExtract"]
    with pytest.raises(ValueError, match="no face found in images.*a face_mask in ComfyUI"):
        node.extract(images, "photos", "dlib", "largest", 0.0, None, None, None, torch.zeros(1, 64, 64))
    mask = torch.zeros(1, *img.shape[:2])
    mask[0, y:y + h, x:x + w] = 1.0
    lm, drawn = check("FSTH_LandmarkExtract", node.extract(images, "photos", "dlib", "largest", 0.0, None, None, None,
                                                           mask))
    np.testing.assert_allclose(lm.points[0], fit_template(img, (x, y, x + w, y + h))[0], atol=1e-3)
    assert lm.found.all() and drawn.shape == (1, *img.shape)
    with pytest.raises(ValueError, match="face_mask is 32x32 but the images are 200x240"):
        node.extract(images, "photos", "dlib", "largest", 0.0, None, None, None, torch.ones(1, 32, 32))


def test_render_landmarks(source):
    (crop,) = check("FSTH_RenderLandmarks", N["FSTH_RenderLandmarks"].render(source[0], "crop", 64))
    (frame,) = check("FSTH_RenderLandmarks", N["FSTH_RenderLandmarks"].render(source[0], "frame", 64))
    assert crop.shape == (1, 64, 64, 3) and frame.shape == (1, SIZE, SIZE, 3)
    assert torch.equal(frame, source[1])


def test_procedural_motion_and_retarget(source, motion):
    src = source[0]
    assert motion.points.shape == (FRAMES, 68, 2) and motion.crop is not None and motion.fps == 25.0
    # a driver that is the source, shifted and scaled: relative retargeting gives the source back
    drv = T.FSTHLandmarks.of(src.points[[0, 0]] * 1.5 + 20, (300, 300))
    (rel,) = check("FSTH_RetargetLandmarks", N["FSTH_RetargetLandmarks"].retarget(src, drv, "relative", 0))
    assert rel.image_size == src.image_size and len(rel) == 2
    np.testing.assert_allclose(rel.points[1], src.points[0], atol=1e-2)
    (ab,) = check("FSTH_RetargetLandmarks", N["FSTH_RetargetLandmarks"].retarget(src, drv, "absolute", 0))
    np.testing.assert_allclose(ab.in_crop(64), rel.in_crop(64), atol=0.5)  # same head box, same face
    with pytest.raises(ValueError, match="reference_frame"):
        N["FSTH_RetargetLandmarks"].retarget(src, drv, "relative", 5)


def test_procedural_motion_talks_to_an_audio_input(source):
    from fsth_core.synthetic.audio import synthetic_speech

    x, _ = synthetic_speech(1.0, 16000, seed=3)
    audio = {"waveform": torch.from_numpy(np.stack([x, x]))[None], "sample_rate": 16000}  # ComfyUI AUDIO
    (lm,) = check("FSTH_ProceduralMotion", N["FSTH_ProceduralMotion"].animate(source[0], 7, 20.0, 0, 1.0, audio))
    assert len(lm) == 20 and lm.fps == 20.0  # frames follow the sound (1 s at 20 fps), not the widget
    gap = np.linalg.norm(lm.points[:, [61, 62, 63]] - lm.points[:, [67, 66, 65]], axis=-1).mean(-1)
    assert gap.max() - gap.min() > 0.05 * np.ptp(lm.points[0, :, 1])  # the mouth moves
    with pytest.raises(ValueError, match="expected ComfyUI AUDIO"):
        N["FSTH_ProceduralMotion"].animate(source[0], 7, 20.0, 0, 1.0, {"waveform": x})


def test_edit_landmarks_poses_a_still_portrait(model, picture, source, motion):
    node = N["FSTH_EditLandmarks"]
    (posed,) = check("FSTH_EditLandmarks", node.edit(source[0], 0.3, 0.5, 1.0, 0.0, 10.0, 0.0, 0.0))
    assert posed.points.shape == (1, 68, 2) and posed.image_size == (SIZE, SIZE)
    assert posed.crop is not None and np.allclose(posed.crop.box, source[0].source_box().box)  # same head box
    (track,) = node.edit(motion, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0)
    assert len(track) == FRAMES and track.fps == motion.fps and np.allclose(track.crop.box, motion.crop.box)
    (ident,) = N["FSTH_Embedder"].embed(model, picture, source[0])
    region, rmask = N["FSTH_Generator"].generate(model, ident, posed, "warp", 1, picture)
    full, mask = check("FSTH_PasteBack", N["FSTH_PasteBack"].paste(region, picture, posed, 0.1, rmask))
    assert full.shape == (1, SIZE, SIZE, 3) and mask.max() == 1.0
    moved = (full - picture).abs().amax(-1) > 0.08
    assert moved.any() and torch.equal(full[mask == 0], picture[mask == 0])
    (same,) = node.edit(source[0], 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    still, smask = N["FSTH_Generator"].generate(model, ident, same, "warp", 1, picture)
    assert float(smask.max()) == 0.0  # no edit: nothing moves


def test_embed_finetune_generate_score_paste(model, picture, source, motion):
    before = state(model)
    (ident,) = check("FSTH_Embedder", N["FSTH_Embedder"].embed(model, picture, source[0]))
    tuned, ident2 = check("FSTH_FewShotFinetune",
                          N["FSTH_FewShotFinetune"].finetune(model, picture, source[0], 1, 2, 0))
    assert tuned is not model and tuned.finetune_steps == 1 and ident2.identity.finetune_steps == 1
    assert not same_state(state(tuned), before)
    torch.testing.assert_close(ident2.identity.embedding, ident.identity.embedding)
    frames, fmask = check("FSTH_Generator", N["FSTH_Generator"].generate(tuned, ident2, motion, "neural", 2))
    assert frames.shape == (FRAMES, 64, 64, 3) and fmask.shape == (FRAMES, 64, 64)
    again, _ = N["FSTH_Generator"].generate(tuned, ident2, motion, "neural", 4)  # the model still works
    torch.testing.assert_close(again, frames, atol=2 / 255, rtol=0)
    warped, _ = check("FSTH_Generator", N["FSTH_Generator"].generate(model, ident, motion, "warp", 8))
    assert warped.shape == (FRAMES, 64, 64, 3)
    res = N["FSTH_RealismScore"].score(tuned, ident2, frames, motion, -1e6)
    out = check("FSTH_RealismScore", res)
    scores = out[2]
    assert out[0].shape[0] == FRAMES == len(scores) == out[3] and len(out[1]) == FRAMES
    assert json.loads(res["ui"]["text"][0])["scores"] == scores
    best, lm_best, _, count = check("FSTH_RealismScore",
                                    N["FSTH_RealismScore"].score(tuned, ident2, frames, motion, 1e6))
    assert best.shape[0] == 1 == len(lm_best) == count
    torch.testing.assert_close(best[0], frames[int(np.argmax(scores))], atol=1 / 255, rtol=0)
    pasted, pmask = check("FSTH_PasteBack", N["FSTH_PasteBack"].paste(frames, picture, motion, 0.1))
    assert pasted.shape == (FRAMES, SIZE, SIZE, 3) and pmask.shape == (FRAMES, SIZE, SIZE)
    pasted2, _ = N["FSTH_PasteBack"].paste(frames, picture, source[0], 0.1)  # same box from the source
    torch.testing.assert_close(pasted, pasted2)
    assert (pasted[:, :4] == picture[:, :4]).all()  # outside the head box: the picture
    from fsth_core.inference.compose import native_region

    # with the picture, frames are its head region at its own resolution, pasted back pixel for pixel
    for method, m, idn in (("neural", tuned, ident2), ("warp", model, ident)):
        region, rmask = check("FSTH_Generator", N["FSTH_Generator"].generate(m, idn, motion, method, 4, picture))
        expect = native_region(motion.head_box(), (SIZE, SIZE)).shape
        assert region.shape[1:3] == expect and rmask.shape == region.shape[:3]
        full, mask = check("FSTH_PasteBack", N["FSTH_PasteBack"].paste(region, picture, motion, 0.1, rmask))
        still = mask == 0
        assert still.any() and torch.equal(full[still], picture.expand_as(full)[still])
    with pytest.raises(ValueError, match="not the picture the identity was made from"):
        N["FSTH_Generator"].generate(model, ident, motion, "warp", 4, torch.flip(picture, [2]))
    assert same_state(state(model), before) and not model.model.folded


def test_generator_makes_the_cpu_inference_copy_once_per_model(model, picture, source, motion, monkeypatch):
    import fsth_core.inference.pipeline as P

    before = state(model)
    made, real = [], P.inference_copy
    monkeypatch.setattr(P, "inference_copy", lambda m, ex: made.append(m) or real(m, ex))
    (ident,) = N["FSTH_Embedder"].embed(model, picture, source[0])
    first, _ = N["FSTH_Generator"].generate(model, ident, motion, "neural", 2)
    copies = len(made)
    again, _ = N["FSTH_Generator"].generate(model, ident, motion, "neural", 2)  # another run (a new motion)
    assert copies <= 1 and len(made) == copies and torch.equal(first, again)
    assert same_state(state(model), before) and not model.model.folded  # the model itself is untouched


def test_embedder_refuses_pictures_of_several_people(model, picture):
    import importlib.util
    from pathlib import Path

    import cv2

    mpl = importlib.util.find_spec("matplotlib")
    if mpl is None:
        pytest.skip("needs matplotlib's public-domain portrait of Grace Hopper")
    hopper = cv2.imread(str(Path(list(mpl.submodule_search_locations)[0]) / "mpl-data/sample_data/grace_hopper.jpg"))
    hopper = cv2.resize(hopper[:512, :, ::-1], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    two = torch.cat([picture, torch.from_numpy(hopper).float()[None] / 255])
    (lm, _) = N["FSTH_LandmarkExtract"].extract(two, "photos", "dlib", "largest", 0.0)
    with pytest.raises(ValueError, match="2 different people .pictures 1; pictures 2"):
        N["FSTH_Embedder"].embed(model, two, lm)
    with pytest.raises(ValueError, match="different people"):
        N["FSTH_FewShotFinetune"].finetune(model, two, lm, 0, 2, 0)
    same = torch.cat([picture, torch.flip(picture, [2])])  # one person, mirrored
    (lm2, _) = N["FSTH_LandmarkExtract"].extract(same, "photos", "dlib", "largest", 0.0)
    (ident,) = check("FSTH_Embedder", N["FSTH_Embedder"].embed(model, same, lm2))
    assert ident.identity.shots == 2


def test_finetune_zero_steps_is_feed_forward(model, picture, source):
    tuned, ident = N["FSTH_FewShotFinetune"].finetune(model, picture, source[0], 0, 4, 0)
    assert tuned is model and ident.identity.finetune_steps == 0


def test_user_errors_are_clear(model, picture, source, motion):
    with pytest.raises(ValueError, match="landmarks has 1"):
        N["FSTH_Embedder"].embed(model, torch.cat([picture, picture]), source[0])
    with pytest.raises(ValueError, match="background is"):
        N["FSTH_PasteBack"].paste(picture[:, :64, :64], picture[:, :100], motion, 0.1)
    with pytest.raises(ValueError, match="frames must be"):
        N["FSTH_RealismScore"].score(model, N["FSTH_Embedder"].embed(model, picture, source[0])[0], picture, motion, 0)


def test_identity_of_another_preset_is_refused(model, picture, source, motion):
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model

    (ident,) = N["FSTH_Embedder"].embed(model, picture, source[0])
    other = T.FSTHModel(build_model(preset("tiny", embed_dim=64)), "other", "fp32")
    with pytest.raises(ValueError, match="was made with"):
        N["FSTH_Generator"].generate(other, ident, motion, "neural", 4)


def test_load_model_save_and_load_identity(tmp_path, monkeypatch, picture, source):
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.models.weights import save_model

    monkeypatch.setenv("FSTH_OUTPUT_DIR", str(tmp_path / "out"))
    save_model(tmp_path / "weights" / "tiny.safetensors", build_model(preset("tiny"), seed=1))
    (m,) = check("FSTH_LoadModel", N["FSTH_LoadModel"].load("tiny.safetensors", "fp32"))
    assert m.name == "tiny" and m.precision == "fp32"
    tuned, ident = N["FSTH_FewShotFinetune"].finetune(m, picture, source[0], 1, 1, 0)
    ui = N["FSTH_SaveIdentity"].save(ident, "me", tuned)
    assert ui["ui"]["text"] == ["me_00001.safetensors"]
    N["FSTH_SaveIdentity"].save(ident, "me")  # identity only
    files = PACK.NODE_CLASS_MAPPINGS["FSTH_LoadIdentity"].INPUT_TYPES()["required"]["identity_file"][0]
    assert files == ["me_00001.safetensors", "me_00002.safetensors"]
    m2, ident2 = check("FSTH_LoadIdentity", N["FSTH_LoadIdentity"].load(m, "me_00001.safetensors"))
    assert m2 is not m and m2.finetune_steps == 1 and same_state(state(m2), state(tuned))
    torch.testing.assert_close(ident2.identity.psi, ident.identity.psi)
    m3, _ = N["FSTH_LoadIdentity"].load(m, "me_00002.safetensors")
    assert m3 is m
    with pytest.raises(ValueError, match="plain name"):
        N["FSTH_SaveIdentity"].save(ident, "../x")


class _Bar:
    calls: list = []
    stop_at: int | None = None

    def __init__(self, total):
        self.total = total

    def update_absolute(self, value, total=None):
        _Bar.calls.append((value, total))
        if _Bar.stop_at is not None and value >= _Bar.stop_at:
            raise RuntimeError("Processing interrupted")  # what ComfyUI's hook does on Cancel


@pytest.fixture
def comfy_stubs(monkeypatch):
    fp = types.ModuleType("folder_paths")
    comfy = types.ModuleType("comfy")
    utils = types.ModuleType("comfy.utils")
    utils.ProgressBar = _Bar
    mm = types.ModuleType("comfy.model_management")
    mm.get_torch_device = lambda: torch.device("cpu")
    mm.intermediate_device = lambda: torch.device("cpu")
    mm.soft_empty_cache = lambda: None
    comfy.utils, comfy.model_management = utils, mm
    for name, mod in {"folder_paths": fp, "comfy": comfy, "comfy.utils": utils, "comfy.model_management": mm}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    _Bar.calls, _Bar.stop_at = [], None
    yield _Bar


def test_progress_per_frame_and_per_step_and_cancel(comfy_stubs, model, picture, source, motion):
    before = state(model)
    (ident,) = N["FSTH_Embedder"].embed(model, picture, source[0])
    N["FSTH_Generator"].generate(model, ident, motion, "neural", 2)
    assert comfy_stubs.calls == [(i, FRAMES) for i in range(1, FRAMES + 1)]  # per frame, as they are made
    comfy_stubs.calls, comfy_stubs.stop_at = [], 2
    with pytest.raises(RuntimeError, match="interrupted"):  # Cancel while the stages run in their threads
        N["FSTH_Generator"].generate(model, ident, motion, "neural", 2, picture)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("fsth-")]  # all stopped
    comfy_stubs.calls, comfy_stubs.stop_at = [], None
    N["FSTH_Generator"].generate(model, ident, motion, "warp", 2)
    assert [v for v, _ in comfy_stubs.calls] == list(range(1, FRAMES + 1))
    frames, _ = N["FSTH_Generator"].generate(model, ident, motion, "warp", 2)
    comfy_stubs.calls = []
    N["FSTH_RealismScore"].score(model, ident, frames, motion, 0.0)
    assert comfy_stubs.calls == [(FRAMES, FRAMES)]  # one batch of 8
    comfy_stubs.calls, comfy_stubs.stop_at = [], 1
    with pytest.raises(RuntimeError, match="interrupted"):
        N["FSTH_RealismScore"].score(model, ident, frames, motion, 0.0)
    comfy_stubs.calls, comfy_stubs.stop_at = [], 1
    with pytest.raises(RuntimeError, match="interrupted"):
        N["FSTH_FewShotFinetune"].finetune(model, picture, source[0], 50, 1, 0)
    assert comfy_stubs.calls == [(1, 50)]
    assert same_state(state(model), before)


def test_make_room_asks_comfyui_to_free_gpu_memory(comfy_stubs, model, monkeypatch):
    mm, calls = sys.modules["comfy.model_management"], []
    mm.free_memory = lambda required, device, keep_loaded=[]: calls.append((required, device))
    _comfy = sys.modules["fsth_pack.nodes._comfy"]
    _comfy.make_room(model.model, 4, 64, training=True)
    assert calls == []  # the CPU: nothing to free
    monkeypatch.setattr(mm, "get_torch_device", lambda: torch.device("cuda", 0))
    _comfy.make_room(model.model.generator, 4, 64)
    _comfy.make_room(model.model, 4, 64, training=True)
    (need_g, dev), (need_ft, _) = calls
    weights = sum(p.numel() * p.element_size() for p in model.model.generator.parameters())
    assert dev == torch.device("cuda", 0) and need_g > weights and need_ft > 4 * need_g


def test_model_folders_keep_extra_model_paths(tmp_path, monkeypatch):
    """folder_paths stub with ComfyUI 0.8's add_model_folder_path semantics (checked against its source)."""
    fp = types.ModuleType("folder_paths")
    fp.models_dir = str(tmp_path / "models")
    fp.folder_names_and_paths = {"fsth": (["/extra/fsth"], set())}  # from extra_model_paths.yaml

    def add(name, path, is_default=False):
        if name in fp.folder_names_and_paths:
            paths = fp.folder_names_and_paths[name][0]
            if path in paths:
                paths.remove(path)
            paths.insert(0, path) if is_default else paths.append(path)
        else:
            fp.folder_names_and_paths[name] = ([path], set())

    fp.add_model_folder_path = add
    fp.get_folder_paths = lambda name: list(fp.folder_names_and_paths[name][0])
    fp.get_output_directory = lambda: str(tmp_path / "output")
    monkeypatch.setitem(sys.modules, "folder_paths", fp)
    import fsth_core.runtime.paths as paths

    monkeypatch.setattr(paths, "_extra_dirs", [])
    sys.modules["fsth_pack.nodes._comfy"].register_model_folders()
    got, exts = fp.folder_names_and_paths["fsth"]
    assert got[0] == str(tmp_path / "models" / "fsth") and "/extra/fsth" in got and len(got) == 3
    assert exts == {".safetensors"}
    assert fp.folder_names_and_paths["fsth_identities"][0][1] == str(tmp_path / "output" / "fsth_identities")
    assert str(tmp_path / "models" / "fsth") in map(str, paths.weights_dirs())


@pytest.mark.parametrize("method", ["warp", "neural"])
def test_video_to_video_reanimates_each_frame_of_a_clip(model, picture, motion, method):
    """A clip (the picture panning), its own landmarks, and procedural motion as the driver."""
    clip = torch.cat([torch.roll(picture, shifts=k, dims=2) for k in range(FRAMES)])
    (lm, _) = N["FSTH_LandmarkExtract"].extract(clip, "video", "dlib", "largest", 0.0)
    out, mask = check("FSTH_VideoToVideo", N["FSTH_VideoToVideo"].reanimate(model, clip, lm, motion, method))
    assert out.shape == clip.shape and mask.shape == clip.shape[:3]
    still = mask == 0
    assert torch.equal(out[still], clip[still]) and (mask > 0).any()
    with pytest.raises(ValueError, match="landmarks belong to"):
        N["FSTH_VideoToVideo"].reanimate(model, clip[:, :64], lm, motion, method)


def test_example_inputs_are_installed_without_replacing_a_users_file(tmp_path, monkeypatch):
    from fsth_core.runtime.paths import example_inputs

    fp = types.ModuleType("folder_paths")
    fp.get_input_directory = lambda: str(tmp_path / "input")
    monkeypatch.setitem(sys.modules, "folder_paths", fp)
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "fsth_portrait.jpg").write_bytes(b"mine")  # a user's file of the same name
    install = sys.modules["fsth_pack.nodes._comfy"].install_example_inputs
    new = install()
    files = example_inputs()
    assert {p.name for p in new} == set(files) - {"fsth_portrait.jpg"} and len(new) >= 5
    assert (tmp_path / "input" / "fsth_portrait.jpg").read_bytes() == b"mine"
    umask = os.umask(0o022)
    os.umask(umask)
    for p in new:  # ordinary files, readable like the pack's own (not a temporary file's 0600)
        assert p.read_bytes() == files[p.name].read_bytes()
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
    assert install() == []  # nothing twice
    assert sorted(p.name for p in (tmp_path / "input").iterdir()) == sorted(files)  # no temporary files left
    fp.get_input_directory = lambda: str(tmp_path / "input" / "fsth_speech.wav" / "x")  # not a folder
    assert install() == []  # a warning, never an error while the pack loads


def test_embedder_picks_shots_from_a_clips_frames(model, picture, source):
    """A clip's frames (more than max_shots) give an identity of max_shots diverse pictures, which the
    Generator's warp then composes from; fewer pictures are all kept."""
    from fsth_core.landmarks.geometry import open_mouth

    lm = source[0]
    pts = np.stack([open_mouth(lm.points[0], 0.02 * i) for i in range(10)])
    frames = picture.expand(10, -1, -1, -1).contiguous()
    clip = type(lm)(pts, lm.image_size, np.ones(10, bool), np.zeros(10, bool), lm.fps, lm.crop)
    (ident,) = check("FSTH_Embedder", N["FSTH_Embedder"].embed(model, frames, clip, 3))
    assert ident.identity.shots == 3 and len(ident.identity.pictures) == 3
    (every,) = check("FSTH_Embedder", N["FSTH_Embedder"].embed(model, frames[:4], type(lm)(
        pts[:4], lm.image_size, np.ones(4, bool), np.zeros(4, bool), lm.fps, lm.crop)))
    assert every.identity.shots == 4
    warped, _ = check("FSTH_Generator", N["FSTH_Generator"].generate(model, ident, clip, "warp", 4))
    assert warped.shape[0] == 10
