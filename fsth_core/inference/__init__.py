"""Inference stages: sources -> identity -> fine-tuning -> frames -> video, the person file, native-resolution composition, video-to-video and the embedded demo."""
