"""Weights and person files a user hands us: safetensors recognised by their header, never unpickled; a broken or
foreign file is one error line naming it.

The CLI runs in-process (``fsth_core.cli.main``) with tiny, generated inputs; fixtures are in conftest.py."""
from __future__ import annotations

import io
import json
import pickle
import struct
from pathlib import Path

import cv2
import pytest
import torch
from _cli_helpers import NEURAL, assert_refused, cli, no_leftovers, snapshot
from safetensors.numpy import load_file
from skimage import data as samples

from fsth_core.models.weights import WeightsError, load_model, parse_header, read_header, save_model, save_tensors


def _with_header_length(n: int) -> tuple[bytes, bool]:
    """(a valid safetensors file whose JSON header is exactly ``n`` bytes (padded with spaces, as the
    format allows), whether it holds the one small tensor 't': only when that fits)."""
    for header, data in (({"t": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                           "__metadata__": {"kind": "test"}}, b"\x01\x02"), ({}, b"")):
        text = json.dumps(header, separators=(",", ":")).encode()
        if len(text) <= n:
            return struct.pack("<Q", n) + text + b" " * (n - len(text)) + data, bool(header)
    return struct.pack("<Q", n) + b" " * n, False  # n < 2: no JSON object fits: not a safetensors file


def test_safetensors_detection_over_header_lengths_0_to_4096(tmp_path):
    """Property: a file with safetensors framing is read as safetensors whatever its first bytes
    (the header length) are; a pickle/zip is named as such only when that framing fails."""
    pk = 0x4B50  # b"PK" read as a little-endian length
    first_bytes = set()
    for n in list(range(4097)) + [pk, pk + 0x10000]:
        blob, has_t = _with_header_length(n)
        first_bytes.add(blob[:1])
        if n < 2:
            with pytest.raises(WeightsError, match="not a safetensors file") as e:
                parse_header(io.BytesIO(blob), len(blob), "f.safetensors")
            assert "pickle" not in str(e.value)
            continue
        entries, meta = parse_header(io.BytesIO(blob), len(blob), "f.safetensors")
        assert ((entries["t"]["shape"], meta) == ([2], {"kind": "test"})) if has_t else (entries, meta) == ({}, {})
        if blob[:1] == b"\x80" or blob[:2] == b"PK" or n % 512 == 0:  # the real reader and safetensors agree
            path = tmp_path / f"h{n}.safetensors"
            path.write_bytes(blob)
            assert read_header(path)[0].keys() == entries.keys()
            assert {k: v.tolist() for k, v in load_file(str(path)).items()} == ({"t": [1, 2]} if has_t else {})
    assert {b"\x80", b"P"} <= first_bytes  # the lengths that were refused before are covered
    path = tmp_path / "f.safetensors"
    for blob in (pickle.dumps({"w": [1, 2, 3]}, protocol=4), b"PK\x03\x04" + bytes(60), b"\x80" + bytes(3)):
        path.write_bytes(blob)
        with pytest.raises(WeightsError, match="f.safetensors: is a pickle/zip"):
            read_header(path)


def test_model_whose_header_length_starts_like_a_pickle_loads(tmp_path, capsys):
    """A real model file whose 8-byte header length begins with 0x80 (the pickle magic byte)."""
    out = tmp_path / "m170.safetensors"
    assert cli(capsys, "init", "--preset", "tiny", "--videos", "170", "--out", out)[0] == 0
    model = load_model(out)
    save_model(tmp_path / "m.safetensors", model, description="")
    (n,) = struct.unpack("<Q", (tmp_path / "m.safetensors").read_bytes()[:8])
    # a description that long makes the (8-byte aligned) header length's low byte 0x80
    save_model(tmp_path / "m.safetensors", model, description="x" * ((0x80 - n) % 256))
    assert (tmp_path / "m.safetensors").read_bytes()[:1] == b"\x80"
    assert load_model(tmp_path / "m.safetensors").config.num_videos == 170


def _header_file(tmp_path, header: str, data: bytes = b"") -> Path:
    raw = header.encode()
    p = tmp_path / "weights.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return p


@pytest.mark.parametrize("header, words", [
    ('{"__metadata__": 5}', "__metadata__"),
    ('{"__metadata__": {"kind": 5}}', "__metadata__"),
    ('{"t": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": [1, 2]}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [' + "9" * 5000 + '], "data_offsets": [0, 4]}}', "not a safetensors"),
    ('{"t": ' + "[" * 100000 + "]" * 100000 + "}", "nests too deeply"),
    ('{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', "truncated"),
])
def test_malformed_weights_header_is_one_error_naming_the_file(tmp_path, capsys, header, words):
    p = _header_file(tmp_path, header, b"\0" * 4)
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "info", "--weights", p), "weights.safetensors", words)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("meta, words", [
    ({"kind": "model", "config": "[]"}, "'config' must be a JSON dict"),
    ({"kind": "model", "config": "{\"nope\": 1}"}, "invalid model config"),
    ({"kind": "model", "config": "{not json"}, "'config' is not valid JSON"),
    ({"kind": "model", "format_version": "abc", "config": "{}"}, "'format_version' must be an integer"),
    ({"kind": "model"}, "no model config"),
])
def test_bad_model_metadata_names_the_file(tmp_path, capsys, meta, words):
    p = save_tensors(tmp_path / "bad.safetensors", {"embedder.x": torch.zeros(1)}, meta)
    assert_refused(cli(capsys, "info", "--weights", p), "bad.safetensors", words)


def test_bad_person_metadata_names_the_file(work, capsys, tiny_model):
    config = read_header(tiny_model)[1]["config"]
    part = {"identity.embedding": torch.zeros(1)}
    full = {f"identity.{k}": torch.zeros(1) for k in ("embedding", "psi", "w", "source", "source_points")}
    for tensors, meta, words in ((part, {"kind": "person"}, "no model config"),
                                 (part, {"kind": "person", "config": config}, "'identity.psi' is missing"),
                                 (full, {"kind": "person", "config": config, "shots": "x"}, "'shots' must be")):
        p = save_tensors(work / "me.safetensors", tensors, meta)
        assert_refused(cli(capsys, "animate", "--quiet", "--model", tiny_model, "--source", work / "portrait.jpg",
                           "--person", p, "--motion", "talk", "--seconds", "0.2", "--out", work / "o.mp4"),
                       "me.safetensors", words)
    assert not (work / "o.mp4").exists() and not no_leftovers(work)


def test_a_person_file_of_another_picture_is_refused(work, capsys, tiny_model):
    """Issue 22.17: the CLI accepted it silently; the Generator node refused it (the same check now)."""
    cv2.imwrite(str(work / "other.png"), samples.camera())  # another person (the portrait is the astronaut)
    args = [*NEURAL, "--seconds", "0.2", "--model", tiny_model]
    assert cli(capsys, *args, "--source", work / "portrait.jpg", "--out", work / "a.mp4", "--person-out",
               work / "p.safetensors")[0] == 0
    before = snapshot(work)
    assert_refused(cli(capsys, *args, "--source", work / "other.png", "--person", work / "p.safetensors", "--out",
                       work / "b.mp4"), "other.png", "not the picture the identity was made from",
                   "p.safetensors was made from")
    assert snapshot(work) == before and not no_leftovers(work)
    rc, _, err = cli(capsys, *args, "--source", work / "portrait.jpg", "--person", work / "p.safetensors", "--out",
                     work / "b.mp4")
    assert rc == 0, err
