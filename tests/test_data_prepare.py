"""`prepare`: videos -> training set, resumable, with a summary of skipped videos."""
from pathlib import Path

import numpy as np
import pytest

from fsth_core.data.prepare import PrepareOptions, find_videos, prepare
from fsth_core.data.store import TrainingSet
from fsth_core.io.media import VideoWriter, load_image

PORTRAIT = Path(__file__).resolve().parent.parent / "fsth_core" / "assets" / "portrait.jpg"


def _moving_clip(path, frames=6):
    """A real photo sliding and zooming a little: a talking-head-like clip."""
    import cv2
    img = load_image(PORTRAIT)
    h, w = img.shape[:2]
    with VideoWriter(path, fps=10) as vw:
        for i in range(frames):
            m = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0 * i, 1.0 + 0.02 * i)
            m[0, 2] += 3 * i
            vw.write(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("vox")
    (root / "id001" / "vidA").mkdir(parents=True)
    (root / "id002" / "vidB").mkdir(parents=True)
    _moving_clip(root / "id001" / "vidA" / "00001.mp4")
    _moving_clip(root / "id002" / "vidB" / "00003.mp4", frames=4)
    with VideoWriter(root / "id002" / "vidB" / "blank.mp4", fps=10) as vw:
        for _ in range(3):
            vw.write(np.zeros((64, 64, 3), np.uint8))
    (root / "id002" / "broken.mp4").write_bytes(b"not a video")
    return root


def test_find_videos_uses_the_voxceleb_path_as_id(videos):
    ids = [vid for vid, _ in find_videos(videos)]
    assert "id001__vidA__00001" in ids and "id002__vidB__00003" in ids and len(ids) == 4


def test_prepare_writes_crops_and_landmarks_and_resumes(videos, tmp_path):
    out = tmp_path / "set"
    opt = PrepareOptions(size=64, workers=1)
    s = prepare(videos, out, opt, progress=False)
    assert sorted(s.written) == ["id001__vidA__00001", "id002__vidB__00003"]
    assert set(s.skipped) == {"id002__vidB__blank", "id002__broken"}
    assert "no face" in s.skipped["id002__vidB__blank"] and "broken.mp4" in s.skipped["id002__broken"]
    ts = TrainingSet(out)
    v = ts.video_ids.index("id001__vidA__00001")
    assert ts.num_frames(v) == 6
    frames, pts = ts.frames(v, [0, 5]), ts.landmarks(v)
    assert frames.shape == (2, 64, 64, 3) and pts.shape == (6, 68, 2)
    eyes, mouth = pts[:, 36:48, 1].mean(), pts[:, 48:68, 1].mean()
    assert 0 < eyes < mouth < 64  # the face sits inside the crop, upright
    mtime = (out / "videos" / "id001__vidA__00001").stat().st_mtime_ns
    again = prepare(videos, out, opt, progress=False)
    assert sorted(again.already_done) == sorted(s.written) and not again.written
    assert (out / "videos" / "id001__vidA__00001").stat().st_mtime_ns == mtime


def test_no_videos_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no video files"):
        prepare(tmp_path, tmp_path / "out", progress=False)
