"""Face metrics: CSIM with dlib descriptors, landmark detection and AKD."""
import math

import cv2
import numpy as np
import pytest
from skimage import data

from fsth_core.evaluation.metrics import FaceEmbedder, MetricAccumulator, akd, csim, detect_landmarks


@pytest.fixture(scope="module")
def face():
    return np.ascontiguousarray(data.astronaut()[:256, 128:384])  # 256x256 crop around the face


@pytest.fixture(scope="module")
def other_face():
    """A different person: the first LFW face shipped with scikit-image, upscaled to 256x256 RGB."""
    small = (data.lfw_subset()[0] * 255).astype(np.uint8)
    big = cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC)
    return np.repeat(big[..., None], 3, axis=-1)


@pytest.fixture(scope="module")
def embedder():
    return FaceEmbedder()


def test_csim_self_other_and_missing(face, other_face, embedder):
    altered = np.ascontiguousarray(np.repeat(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)[..., None], 3, -1)[:, ::-1])
    noface = np.full_like(face, 127)
    real = np.stack([face, face, face, face])
    fake = np.stack([face, altered, other_face, noface])
    res = csim(real, fake, embedder=embedder)
    same, same_altered, other, missing = res.per_frame
    assert same == pytest.approx(1.0, abs=1e-6)
    assert same_altered > 0.95  # grey + mirrored: still the same identity
    assert other < same_altered - 0.1  # a different person is clearly less similar
    assert math.isnan(missing)
    assert res.missing == 1 and res.count == 3
    assert res.value == pytest.approx(np.mean([same, same_altered, other]))
    acc = MetricAccumulator()
    acc.add_result(res)
    assert acc.summary()["csim"]["missing"] == 1 and acc.summary()["csim"]["count"] == 3


def test_csim_whole_image_fallback_only_when_asked(face):
    blurred = cv2.GaussianBlur(face, (0, 0), 12)  # detector finds no face, but it is an aligned crop
    strict = csim(face, blurred, embedder=FaceEmbedder())
    loose = csim(face, blurred, embedder=FaceEmbedder(whole_image_fallback=True))
    assert strict.missing == 1 and math.isnan(strict.value)
    assert loose.missing == 0 and -1.0 <= loose.value <= 1.0


def test_csim_with_given_boxes(face, embedder):
    box = (60, 70, 190, 200)  # a fixed box around the astronaut's face in the crop
    res = csim(face, face, boxes=[box], embedder=embedder)
    assert res.per_frame[0] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="boxes"):
        csim(face, face, boxes=[box, box], embedder=embedder)


def test_csim_rejects_mismatched_frames(face, embedder):
    with pytest.raises(ValueError, match="same number of frames"):
        csim(np.stack([face, face]), face, embedder=embedder)


def _synthetic_landmarks(n, seed=0):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(50, 150, size=(n, 68, 2)).astype(np.float32)
    pts[:, 36] = (60, 100)
    pts[:, 45] = (140, 100)  # inter-ocular distance 80 px
    return pts


def test_akd_zero_for_identical_and_scales_with_shift():
    real = _synthetic_landmarks(3)
    assert akd(real, real).value == 0.0
    shift = np.array([3.0, 4.0], np.float32)  # |shift| = 5 px
    res = akd(real, real + shift)
    assert res.per_frame == pytest.approx([5 / 80] * 3)
    # scaling the whole face (and the shift) leaves AKD unchanged; doubling the shift doubles it
    assert akd(real * 2, real * 2 + 2 * shift).value == pytest.approx(5 / 80)
    assert akd(real, real + 2 * shift).value == pytest.approx(2 * res.value)


def test_akd_excludes_failed_detections():
    real = _synthetic_landmarks(4)
    fake = real + 8.0
    res = akd(real, fake, real_found=[True, False, True, True], fake_found=[True, True, True, False])
    assert res.count == 2 and res.missing == 2
    assert np.isnan(res.per_frame[[1, 3]]).all()
    assert res.value == pytest.approx(np.hypot(8, 8) / 80)
    bad = real.copy()
    bad[0, 45] = bad[0, 36]  # degenerate eyes: excluded, not inf
    assert akd(bad, fake).missing == 1
    with pytest.raises(ValueError, match="real_points"):
        akd(real[:, :5], fake[:, :5])


def test_akd_on_detected_landmarks_follows_image_shift(face, embedder):
    shifted = np.roll(face, (0, 6), axis=(0, 1))  # 6 px to the right
    blank = np.full_like(face, 127)
    pts, found = detect_landmarks(np.stack([face, face, blank]), embedder=embedder)
    pts_s, found_s = detect_landmarks(np.stack([face, shifted, face]), embedder=embedder)
    assert found.tolist() == [True, True, False] and found_s.all()
    assert pts.shape == (3, 68, 2) and pts.dtype == np.float32
    res = akd(pts, pts_s, found, found_s)
    iod = np.linalg.norm(pts[0, 36] - pts[0, 45])
    assert res.per_frame[0] == 0.0
    assert res.per_frame[1] == pytest.approx(6 / iod, rel=0.3)
    assert res.missing == 1


def test_people_chains_one_persons_pictures_and_splits_others():
    from fsth_core.evaluation.metrics.face import people

    e = np.eye(128)
    a, b, c = np.zeros(128), 0.5 * e[0], e[0]  # a-b 0.5, b-c 0.5, a-c 1.0: one person through b
    d = 5 * e[1]
    assert people([a, b, c]) == [[0, 1, 2]]
    assert people([a, d, c, b]) == [[0, 2, 3], [1]]


def test_missing_dlib_model_is_one_clear_line(tmp_path):
    from fsth_core.landmarks import dlib_models

    with pytest.raises(ValueError, match=r"dlib model file missing: .*shape_predictor_5_face_landmarks.dat"):
        FaceEmbedder(models_dir=str(tmp_path)).embed(np.zeros((32, 32, 3), np.uint8), (0, 0, 31, 31))
    why = dlib_models.missing("no_such_model.dat")
    assert why is not None and "\n" not in why and "no_such_model.dat" in why
    assert dlib_models.missing(dlib_models.SHAPE68_FILE) is None  # the installed models are found
