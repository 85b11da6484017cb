"""Synthetic talking heads made here (a cartoon face template, photographic textures, audio), for training data and
tests; not a model.
"""
