"""A real ComfyUI for the bench scripts: start one as ../shared/comfyui/README.md describes, call its HTTP API,
read its websocket's messages, and turn a template (a UI workflow) into the API prompt the Run button sends.

    with ComfyServer.start("/tmp/comfy", port=8188) as server:      # or ComfyServer("http://127.0.0.1:8188")
        prompt = api_prompt(workflow, server.get("/object_info"))
        with server.events() as ev:
            pid = server.post("/prompt", {"prompt": prompt, "client_id": ev.client_id})["prompt_id"]
            timings = ev.node_times(pid)                            # {node id: seconds}, in run order

Only the standard library: the scripts run with any Python that has the pack's requirements.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "example_workflows"
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
# frontend-only widgets saved after a file combo: the upload button (and the audio player for audio)
UPLOAD_WIDGETS = {"image_upload": 1, "video_upload": 1, "animated_image_upload": 1, "audio_upload": 2}
FRONTEND_ONLY = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}


def add_server_args(ap, port: int) -> None:
    """``--comfy-root`` (start a ComfyUI here) or ``--url`` (a running one), and ``--port`` for the former."""
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--comfy-root", help="a ComfyUI built by ../shared/comfyui/setup.sh: started and stopped here")
    where.add_argument("--url", help="a running ComfyUI with this pack")
    ap.add_argument("--port", type=int, default=port)


class ComfyServer:
    """A ComfyUI reached at ``url``; :meth:`start` launches one (stopped by :meth:`stop`, by its PID)."""

    def __init__(self, url: str, process: subprocess.Popen | None = None, log: Path | None = None):
        self.url = url.rstrip("/")
        self.process, self.log = process, log

    @classmethod
    def from_args(cls, args) -> ComfyServer:
        """The server ``add_server_args``' options name: started from ``--comfy-root``, or reached at ``--url``."""
        return cls.start(args.comfy_root, args.port) if args.comfy_root else cls(args.url)

    @classmethod
    def start(cls, root: str | os.PathLike, port: int = 8188, timeout: float = 120.0,
              extra_args: tuple[str, ...] = ()) -> ComfyServer:
        """``root``: the folder ../shared/comfyui/setup.sh filled (ComfyUI/ and venv/), with this pack linked
        as ComfyUI/custom_nodes/<name>.  Starts ``main.py --cpu`` on 127.0.0.1:``port`` and waits until it
        answers; the log goes to ``root``/fsth_bench_server.log."""
        root = Path(root)
        main, python = root / "ComfyUI" / "main.py", root / "venv" / "bin" / "python"
        if not main.is_file() or not python.is_file():
            raise SystemExit(f"{root}: no ComfyUI/main.py and venv/bin/python here; build one with "
                             f"bash ../shared/comfyui/setup.sh {root}")
        linked = [p for p in (root / "ComfyUI" / "custom_nodes").iterdir()
                  if p.is_dir() and (p / "nodes" / "generate.py").is_file() and (p / "fsth_core").is_dir()]
        if not linked:
            raise SystemExit(f"this pack is not in {root}/ComfyUI/custom_nodes: "
                             f"ln -s {ROOT} {root}/ComfyUI/custom_nodes/fsth")
        log = root / "fsth_bench_server.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(python), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
                                     *extra_args], cwd=main.parent, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        server = cls(f"http://127.0.0.1:{port}", proc, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"ComfyUI exited with code {proc.returncode}; see {log}")
            try:
                server.get("/system_stats")
                return server
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        server.stop()
        raise SystemExit(f"ComfyUI did not answer within {timeout:.0f} s; see {log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def __enter__(self) -> ComfyServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=60) as r:
            return json.loads(r.read())

    def post(self, path: str, data: dict):
        req = urllib.request.Request(self.url + path, data=json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"POST {path}: {e.code} {e.read().decode(errors='replace')[:2000]}") from None

    def events(self) -> Events:
        return Events(self.url)

    def run(self, prompt: dict, timeout: float = 1800.0) -> tuple[dict, dict]:
        """Queue ``prompt`` and wait for it -> (its /history entry, {node id: seconds} of the nodes that ran)."""
        with self.events() as ev:
            pid = self.post("/prompt", {"prompt": prompt, "client_id": ev.client_id})["prompt_id"]
            times = ev.node_times(pid, timeout)
        for _ in range(200):  # the history entry is stored just after the last message
            entry = self.get(f"/history/{pid}").get(pid)
            if entry is not None and entry.get("status", {}).get("completed") is not None:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"prompt {pid} finished but has no history entry")
        status = entry.get("status", {})
        if status.get("status_str") != "success":
            errors = [m for m in status.get("messages", []) if m[0] == "execution_error"]
            raise RuntimeError(f"the prompt failed: {json.dumps(errors)[:3000]}")
        return entry, times


class Events:
    """ComfyUI's websocket (/ws) as a stream of its JSON messages (binary preview frames are skipped).
    A minimal RFC 6455 client: the server's frames are unmasked, ours (pong, close) masked."""

    def __init__(self, url: str):
        u = urllib.parse.urlparse(url)
        self.client_id = uuid.uuid4().hex
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws?clientId={self.client_id} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the websocket handshake was cut")
            head += chunk
        head, self._buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")

    def _exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the websocket closed")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _send(self, opcode: int, payload: bytes = b"") -> None:
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body)

    def message(self, timeout: float) -> dict:
        """The next JSON message (waits ``timeout`` seconds at most for each frame)."""
        self.sock.settimeout(timeout)
        parts: list[bytes] = []
        kind = 0
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            data = self._exact(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            opcode = b0 & 0x0F
            if opcode == 9:
                self._send(10, data)
            elif opcode == 8:
                raise ConnectionError("the server closed the websocket")
            elif opcode in (0, 1, 2):  # continuation, text, binary
                if opcode:
                    kind, parts = opcode, []
                parts.append(data)
                if b0 & 0x80 and kind == 1:
                    return json.loads(b"".join(parts))

    def node_times(self, prompt_id: str, timeout: float = 1800.0) -> dict[str, float]:
        """Wait for ``prompt_id`` to finish -> {node id: wall seconds} for each node that ran, in order
        (from the 'executing' messages: a node runs until the next one starts)."""
        times: dict[str, float] = {}
        current, since = None, None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.message(max(1.0, deadline - time.monotonic()))
            data = msg.get("data") or {}
            if data.get("prompt_id") not in (None, prompt_id):
                continue
            kind, now = msg.get("type"), time.perf_counter()
            if kind in ("executing", "execution_success", "execution_error", "execution_interrupted"):
                if current is not None:
                    times[current] = times.get(current, 0.0) + now - since
                current, since = (data.get("node"), now) if kind == "executing" else (None, None)
                if kind != "executing" or data.get("node") is None:
                    return times
        raise TimeoutError(f"prompt {prompt_id} did not finish within {timeout:.0f} s")

    def close(self) -> None:
        try:
            self._send(8)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self) -> Events:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_template(name: str) -> dict:
    """A template of this pack by file name (with or without .json) or path."""
    p = Path(name)
    if not p.is_file():
        p = TEMPLATES / (name if name.endswith(".json") else name + ".json")
    return json.loads(p.read_text())


def _widget_names(info: dict) -> list[tuple[str, int]]:
    """(input name, frontend-only values that follow it) for each widget, in widgets_values order."""
    out = []
    for section in ("required", "optional"):
        for name in info.get("input_order", {}).get(section, []):
            spec = info["input"][section][name]
            kind, opts = spec[0], (spec[1] if len(spec) > 1 else {}) or {}
            if (isinstance(kind, list) or kind in WIDGET_TYPES) and not opts.get("forceInput"):
                extra = int(bool(opts.get("control_after_generate")))
                extra += sum(n for k, n in UPLOAD_WIDGETS.items() if opts.get(k))
                out.append((name, extra))
    return out


def api_prompt(workflow: dict, object_info: dict) -> dict:
    """A UI workflow -> the API prompt the frontend sends for it ({id: {class_type, inputs}}), widget values
    matched to inputs by ComfyUI's /object_info (muted, bypassed and frontend-only nodes left out)."""
    links = {link[0]: link for link in workflow.get("links", [])}
    prompt = {}
    for node in workflow["nodes"]:
        t = node["type"]
        if t in FRONTEND_ONLY or node.get("mode", 0) in (2, 4):
            continue
        if t not in object_info:
            raise ValueError(f"node {node['id']}: {t} is not a node of this ComfyUI")
        inputs: dict = {}
        values = node.get("widgets_values") or []
        if isinstance(values, dict):
            inputs.update({k: v for k, v in values.items() if k in dict(_widget_names(object_info[t]))})
        else:
            values = list(values)
            for name, extra in _widget_names(object_info[t]):
                if not values:
                    break
                inputs[name] = values.pop(0)
                del values[:extra]
        for i in node.get("inputs", []):
            if i.get("link") is not None:
                _, src, slot, _, _, _ = links[i["link"]]
                inputs[i["name"]] = [str(src), slot]
        prompt[str(node["id"])] = {"class_type": t, "inputs": inputs}
    return prompt
