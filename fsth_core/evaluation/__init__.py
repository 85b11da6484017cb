"""Evaluation in one place: the paper's self-reenactment protocol, held-out videos, metrics."""
