"""Inference stages: sources -> identity -> fine-tuning -> frames -> video, the person file, native-resolution
composition, video-to-video, the real-time pipeline (preview, camera) and the embedded demo.
"""
