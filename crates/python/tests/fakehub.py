"""A local stand-in for the Hugging Face Hub: the tree API (`/api/{models,datasets}/ORG/NAME/
tree/REV?recursive=true`) and `resolve` downloads with HTTP Range support, over files that
are described, not stored: a 2 GB checkpoint is a few header bytes plus zeros generated on
demand, so nothing large is written to disk. Counts every byte it sends."""

from __future__ import annotations

import functools
import hashlib
import json
import struct
import threading
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple


class VirtualFile:
    """Bytes given as (offset, data) segments; zero everywhere else."""

    def __init__(self, size: int, segments: List[Tuple[int, bytes]]) -> None:
        self.size = size
        self.segments = sorted(segments)

    @classmethod
    def of(cls, data: bytes) -> "VirtualFile":
        return cls(len(data), [(0, data)])

    def sha256(self) -> str:
        """The real SHA-256 when every byte is given; a stand-in for virtual files (the
        scanner cannot check those without downloading them)."""
        if len(self.segments) == 1 and self.segments[0] == (0, self.segments[0][1]) \
                and len(self.segments[0][1]) == self.size:
            return hashlib.sha256(self.segments[0][1]).hexdigest()
        return hashlib.sha256(repr((self.size, self.segments[:1])).encode()).hexdigest()

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``start..end`` inclusive."""
        end = min(end, self.size - 1)
        out = bytearray(max(0, end - start + 1))
        for off, data in self.segments:
            lo, hi = max(start, off), min(end + 1, off + len(data))
            if lo < hi:
                out[lo - start:hi - start] = data[lo - off:hi - off]
        return bytes(out)


@functools.lru_cache(maxsize=None)
def _zeros_crc(n: int) -> int:
    crc, chunk = 0, bytes(1 << 24)
    while n > 0:
        k = min(n, len(chunk))
        crc = zlib.crc32(chunk[:k] if k < len(chunk) else chunk, crc)
        n -= k
    return crc


def torch_zip(pickle_bytes: bytes, tensor_bytes: int) -> VirtualFile:
    """A torch.save-layout zip (stored members: archive/data.pkl, archive/version,
    archive/data/0) whose tensor storage is ``tensor_bytes`` zeros, never materialised."""
    members: List[Tuple[str, Optional[bytes], int, int]] = [
        ("archive/data.pkl", pickle_bytes, len(pickle_bytes), zlib.crc32(pickle_bytes)),
        ("archive/version", b"3\n", 2, zlib.crc32(b"3\n")),
        ("archive/data/0", None, tensor_bytes, _zeros_crc(tensor_bytes)),
    ]
    segs: List[Tuple[int, bytes]] = []
    central = bytearray()
    pos = 0
    for name, data, size, crc in members:
        n = name.encode()
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, size, size,
                            len(n), 0) + n
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc,
                               size, size, len(n), 0, 0, 0, 0, 0, pos) + n
        segs.append((pos, local))
        pos += len(local)
        if data is not None:
            segs.append((pos, data))
        pos += size
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                       len(central), pos, 0)
    segs.append((pos, bytes(central) + eocd))
    return VirtualFile(pos + len(central) + len(eocd), segs)


class FakeHub:
    """``with FakeHub() as hub: hub.add("org/name", {"path": VirtualFile}); hub.url``."""

    def __init__(self, token: Optional[str] = None, redirect_lfs: bool = True) -> None:
        self.repos: Dict[Tuple[str, str], Dict[str, VirtualFile]] = {}
        self.token = token
        self.redirect_lfs = redirect_lfs
        self.sent: Dict[str, int] = {}
        self.requests: List[str] = []
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                hub._get(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, repo: str, files: Dict[str, VirtualFile], repo_type: str = "model") -> None:
        self.repos[(repo_type + "s", repo)] = files

    @property
    def bytes_sent(self) -> int:
        return sum(self.sent.values())

    def __enter__(self) -> "FakeHub":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _send(self, h, status: int, body: bytes, headers: Dict[str, str], key: str) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
        with self.lock:
            self.sent[key] = self.sent.get(key, 0) + len(body)

    def _get(self, h) -> None:
        u = urllib.parse.urlsplit(h.path)
        path = urllib.parse.unquote(u.path)
        with self.lock:
            self.requests.append(f"{h.command} {h.path} {h.headers.get('Range', '')}")
        if self.token and h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(h, 401, b'{"error":"Invalid credentials"}', {}, "auth")
        parts = path.strip("/").split("/")
        if parts[:1] == ["api"] and len(parts) >= 6 and parts[4] == "tree":
            kind, repo = parts[1], "/".join(parts[2:4])
            files = self.repos.get((kind, repo))
            if files is None:
                return self._send(h, 404, b'{"error":"Repository not found"}', {}, "tree")
            entries = [{"type": "directory", "oid": "0" * 40, "size": 0, "path": "archive"}]
            for p, f in files.items():
                e = {"type": "file", "oid": hashlib.sha1(p.encode()).hexdigest(), "size": f.size,
                     "path": p}
                if f.size > 1000:
                    # The Hub announces LFS files' SHA-256.
                    e["lfs"] = {"oid": f.sha256(), "size": f.size, "pointerSize": 134}
                entries.append(e)
            return self._send(h, 200, json.dumps(entries).encode(),
                              {"Content-Type": "application/json"}, "tree")
        if parts[:1] == ["cdn"]:
            kind, repo, fpath = parts[1], "/".join(parts[2:4]), "/".join(parts[4:])
        else:
            kind = "models"
            if parts[:1] in (["datasets"], ["spaces"]):
                kind, parts = parts[0], parts[1:]
            if len(parts) < 5 or parts[2] != "resolve":
                return self._send(h, 404, b"not found", {}, "other")
            repo, fpath = "/".join(parts[:2]), "/".join(parts[4:])
            f = self.repos.get((kind, repo), {}).get(fpath)
            if f is not None and f.size > 1000 and self.redirect_lfs:
                # Like the Hub: LFS files redirect to a CDN.
                return self._send(h, 302, b"", {"Location": f"{self.url}/cdn/{kind}/{repo}/{fpath}"},
                                  fpath)
        f = self.repos.get((kind, repo), {}).get(fpath)
        if f is None:
            return self._send(h, 404, b"Entry not found", {}, "other")
        rng = h.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a)
            end = int(b) if b else f.size - 1
            if start >= f.size:
                return self._send(h, 416, b"", {"Content-Range": f"bytes */{f.size}"}, fpath)
            end = min(end, f.size - 1)
            return self._send(h, 206, f.read(start, end),
                              {"Content-Range": f"bytes {start}-{end}/{f.size}",
                               "Accept-Ranges": "bytes"}, fpath)
        if f.size > (16 << 20):
            # Never stream gigabytes to a client that did not ask for a range.
            return self._send(h, 403, b"whole download refused by the fake hub", {}, fpath)
        return self._send(h, 200, f.read(0, f.size - 1), {"Accept-Ranges": "bytes"}, fpath)
