"""68-point facial landmarks (iBUG 300-W layout): detection, tracking, smoothing, cropping,
drawing, retargeting, procedural motion and paste-back.

Submodules are imported on demand (``from fsth_core.landmarks.track import extract_landmarks``);
see docs/landmarks.md.
"""
