"""The 68-point face layout (iBUG 300-W), one home for every index and per-point weight.

Image-right is the face's left: the "right" eye (36-41) is on the image's left.  No torch, no cv2:
every module that reads or moves landmarks by part (edits, procedural motion, retargeting, the
synthetic head, the renderer, the warp mesh) imports its groups, pairs and weights from here.

Groups are slices, so ``points[EYE_RIGHT]`` is a view; ``PARTS`` lists them in drawing order.
"""
from __future__ import annotations

N_POINTS = 68

# index groups (the 300-W contours)
JAW = slice(0, 17)
BROW_RIGHT = slice(17, 22)
BROW_LEFT = slice(22, 27)
BROWS = slice(17, 27)
NOSE_BRIDGE = slice(27, 31)
NOSTRILS = slice(31, 36)
NOSE = slice(27, 36)
EYE_RIGHT = slice(36, 42)       # outer corner 36, upper lid 37-38, inner corner 39, lower lid 40-41
EYE_LEFT = slice(42, 48)        # inner corner 42, upper lid 43-44, outer corner 45, lower lid 46-47
EYES = slice(36, 48)
LIPS_OUTER = slice(48, 60)      # corners 48 and 54, upper lip 49-53, lower lip 55-59
LIPS_INNER = slice(60, 68)      # corners 60 and 64, upper lip 61-63, lower lip 65-67
MOUTH = slice(48, 68)

# (name, group, closed contour) in drawing order
PARTS: tuple[tuple[str, slice, bool], ...] = (
    ("jaw", JAW, False), ("brow_right", BROW_RIGHT, False), ("brow_left", BROW_LEFT, False),
    ("nose_bridge", NOSE_BRIDGE, False), ("nostrils", NOSTRILS, False),
    ("eye_right", EYE_RIGHT, True), ("eye_left", EYE_LEFT, True),
    ("lips_outer", LIPS_OUTER, True), ("lips_inner", LIPS_INNER, True),
)

# single points
CHIN = 8
NOSE_TOP, NOSE_TIP = 27, 30
EYE_OUTER_RIGHT, EYE_INNER_RIGHT, EYE_INNER_LEFT, EYE_OUTER_LEFT = 36, 39, 42, 45
MOUTH_CORNERS = (48, 54)        # outer lip corners (left of image, right of image)
INNER_CORNERS = (60, 64)

# (upper, lower) pairs that meet when the eyes close / the lips close
EYELID_PAIRS: tuple[tuple[int, int], ...] = ((37, 41), (38, 40), (43, 47), (44, 46))
INNER_LIP_PAIRS: tuple[tuple[int, int], ...] = ((61, 67), (62, 66), (63, 65))
UPPER_LIDS = tuple(u for u, _ in EYELID_PAIRS)
LOWER_LIDS = tuple(lo for _, lo in EYELID_PAIRS)

#: closing the eyes, the upper lid travels this share of the lid gap and the lower lid the rest,
#: so the lids meet near the lower lid (upper 80 %, lower 20 %)
UPPER_LID_SHARE = 0.8

# index -> weight of the downward jaw motion when the mouth opens (the chin moves fully)
JAW_DROP = {3: 0.1, 4: 0.3, 5: 0.55, 6: 0.75, 7: 0.9, 8: 1.0, 9: 0.9, 10: 0.75, 11: 0.55, 12: 0.3, 13: 0.1}
# index -> weight of the lower lip's (and the corners') downward motion when the mouth opens
LOWER_LIP_DROP = {55: 0.8, 56: 0.95, 57: 1.0, 58: 0.95, 59: 0.8, 65: 0.92, 66: 1.0, 67: 0.92,
                  48: 0.35, 54: 0.35, 60: 0.4, 64: 0.4}
# real speech (talking clips, 68-point landmarks): the inner-lip gap stays under about 0.40 of the
# inter-ocular distance (99th percentile); motion made here opens the mouth at most that far, and
# approaches it softly above MOUTH_OPENING_KNEE
MAX_MOUTH_OPENING = 0.40
MOUTH_OPENING_KNEE = 0.30
# a dropping jaw draws the mouth corners in: their inward travel per unit of opening (mouth widths)
JAW_NARROWING = 0.25
# index -> weight of the upper lip's upward motion when the mouth opens
UPPER_LIP_RAISE = {49: 0.1, 50: 0.15, 51: 0.15, 52: 0.15, 53: 0.1, 61: 0.12, 62: 0.12, 63: 0.12}
# mouth corners and their neighbours: index -> (side: -1 image-left / +1 image-right, weight along the
# lips, weight up), for smiles and for stretching the lips
CORNER_PULL = {48: (-1, 1.0, 1.0), 60: (-1, 0.9, 1.0), 54: (1, 1.0, 1.0), 64: (1, 0.9, 1.0),
               49: (-1, 0.45, 0.5), 59: (-1, 0.45, 0.6), 61: (-1, 0.3, 0.4), 67: (-1, 0.3, 0.4),
               53: (1, 0.45, 0.5), 55: (1, 0.45, 0.6), 63: (1, 0.3, 0.4), 65: (1, 0.3, 0.4),
               50: (-1, 0.15, 0.15), 58: (-1, 0.15, 0.2), 52: (1, 0.15, 0.15), 56: (1, 0.15, 0.2)}
# index -> weight of the brows' motion when they rise
BROW_RAISE = {17: 0.8, 18: 0.95, 19: 1.0, 20: 1.0, 21: 0.9, 22: 0.9, 23: 1.0, 24: 1.0, 25: 0.95, 26: 0.8}

# points that barely move with expression (nose, eye corners, the jaw's ends next to the ears)
STABLE = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45, 0, 1, 15, 16)
