"""Files in and out: images and videos (streamed), where frames go, checks on output paths."""
