"""Benchmark scripts (run as python -m bench.<name>); shared helpers in bench/_common.py."""
