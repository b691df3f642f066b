#!/usr/bin/env python3
"""A fake Hugging Face hub with a realistic shape, for the hub-scale benchmark (issue 14).

Generated deterministically from a seed (Python 3.11 standard library only):

- ``--repos`` repositories (default 5,000): most are copies and fine-tunes of a few popular
  base models (Zipf popularity) carrying the base's weight files byte for byte, some small
  original models, a few large sharded repositories (hundreds of files, copied a few
  times), a few repositories with malicious pickles (harmless payload
  ``os.system('echo modelguard-bench …')``), two big checkpoints (a 2 GB torch zip and a
  1 GB safetensors, each in two repositories) served by Range from a virtual zero-filled
  region, never written to disk, and ``bench-push/*`` repositories that receive commits
  at run time.
- ``README.md`` and ``config.json`` are plain git files (no ``lfs`` in the tree, as on the
  Hub: the service hashes them after download); every other file is LFS (``lfs.oid`` = the
  SHA-256 of the bytes served).

Endpoints (the shapes ``modelguard-hub`` reads):

- ``GET /api/models?limit=&expand[]=sha&expand[]=lastModified[&cursor=N]`` with
  ``Link: <…&cursor=N>; rel="next"``;
- ``GET /api/models/{o}/{n}/revision/{rev}`` → ``{"id", "sha"}``;
- ``GET /api/models/{o}/{n}/tree/{rev}?recursive=true[&cursor=N]`` (``Link`` pagination);
- ``GET /{o}/{n}/resolve/{rev}/{path}`` with ``Range`` (206 + ``Content-Range``).

Bench-only: ``GET /_bench/stats`` (requests by kind, bytes served, fetches per content),
``GET /_bench/manifest`` (every repository's head, files, expected verdicts),
``POST /_bench/push?repo=bench-push/p0`` (a new commit with a new small file; answers
``{"repo", "sha", "path", "sha256"}``), ``GET /_bench/health``.

A *fetch* of a content is a request without ``Range`` or with a range starting at byte 0
(the service opens a file with one of those; later blocks of a range-read file are not
counted as fetches, their bytes are).

    python3 bench/hubscale/fakehub.py --port 0 --repos 5000 --seed 14   # prints the port
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
ZEROS = bytes(1 << 20)


# --------------------------------------------------------------------------- contents


class Content:
    """Bytes of one file: in-memory parts and virtual zero runs (``int`` = that many zeros)."""

    __slots__ = ("parts", "size", "sha256", "kind", "malicious", "offsets")

    def __init__(self, parts, kind: str, malicious: bool = False, sha256: str | None = None):
        self.parts = [p for p in parts if (p if isinstance(p, int) else len(p))]
        self.size = sum(p if isinstance(p, int) else len(p) for p in self.parts)
        self.kind = kind
        self.malicious = malicious
        self.offsets = []
        o = 0
        for p in self.parts:
            self.offsets.append(o)
            o += p if isinstance(p, int) else len(p)
        if sha256 is None:
            h = hashlib.sha256()
            for p in self.parts:
                if isinstance(p, int):
                    left = p
                    while left:
                        n = min(left, len(ZEROS))
                        h.update(ZEROS[:n])
                        left -= n
                else:
                    h.update(p)
            sha256 = h.hexdigest()
        self.sha256 = sha256

    def read(self, a: int, b: int):
        """Yield the bytes [a, b] (inclusive) in chunks."""
        for p, o in zip(self.parts, self.offsets):
            n = p if isinstance(p, int) else len(p)
            lo, hi = max(a, o), min(b + 1, o + n)
            if lo >= hi:
                continue
            if isinstance(p, int):
                left = hi - lo
                while left:
                    k = min(left, len(ZEROS))
                    yield ZEROS[:k]
                    left -= k
            else:
                yield p[lo - o : hi - o]

    def git_oid(self) -> str:
        h = hashlib.sha1(b"blob %d\0" % self.size)
        for chunk in self.read(0, self.size - 1):
            h.update(chunk)
        return h.hexdigest()


def zip_parts(members):
    """A stored (uncompressed) zip of ``[(name, bytes | int zeros)]`` as parts."""
    parts, central, offset = [], [], 0
    for name, data in members:
        nb = name.encode()
        if isinstance(data, int):
            crc, n = 0, data
            left = n
            while left:
                k = min(left, len(ZEROS))
                crc = zlib.crc32(ZEROS[:k], crc)
                left -= k
        else:
            crc, n = zlib.crc32(data), len(data)
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, crc, n, n, len(nb), 0)
        parts += [local + nb, data]
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, n, n, len(nb), 0, 0, 0, 0, 0, offset
            )
            + nb
        )
        offset += len(local) + len(nb) + n
    cd = b"".join(central)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(cd), offset, 0)
    parts += [cd + eocd]
    return parts


_TEMPLATE = None


def torch_zip(numel: int, rng: random.Random | None, prefix: str = "archive"):
    """A torch.save zip of ``{"weight": float32[numel], "bias": ones(4)}`` (from the
    fixture ``tests/fixtures/server/big_state_dict.pt`` with the sizes patched). ``rng``:
    random tensor bytes (distinct contents); ``None``: zeros, virtual (big checkpoints)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        import zipfile

        z = zipfile.ZipFile(ROOT / "tests/fixtures/server/big_state_dict.pt")
        _TEMPLATE = [(i.filename.split("/", 1)[1], z.read(i.filename)) for i in z.infolist()]
    members = []
    for name, data in _TEMPLATE:
        if name == "data.pkl":
            data = data.replace(b"J" + struct.pack("<I", 150_000), b"J" + struct.pack("<I", numel))
        elif name == "data/0":
            data = numel * 4 if rng is None else rng.randbytes(numel * 4)
        members.append((f"{prefix}/{name}", data))
    return zip_parts(members)


def safetensors(numel: int, rng: random.Random | None, name: str = "weight"):
    header = json.dumps(
        {"__metadata__": {"format": "pt"}, name: {"dtype": "F32", "shape": [numel], "data_offsets": [0, numel * 4]}},
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    return [struct.pack("<Q", len(header)) + header, numel * 4 if rng is None else rng.randbytes(numel * 4)]


WORDS = "the model weight layer token attention head bias embed norm vision text audio base large small fine tune".split()


def tokenizer(rng: random.Random, n: int) -> bytes:
    vocab = {f"{rng.choice(WORDS)}{i}": i for i in range(n)}
    return json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": vocab}}).encode()


def config_json(rng: random.Random, tag: str) -> bytes:
    return json.dumps(
        {"architectures": ["BenchModel"], "hidden_size": rng.choice([256, 512, 768, 1024]), "tag": tag},
        indent=2,
    ).encode()


def evil_pickle(tag: str) -> bytes:
    """Protocol-0 pickle calling os.system('echo modelguard-bench <tag>') (harmless)."""
    return b"cos\nsystem\n(S'echo modelguard-bench %s'\ntR." % tag.encode()


def benign_pickle(n: int) -> bytes:
    """A benign protocol-2 pickle {"v": n, "pad": "..."} distinct per n."""
    s = f"push-{n}".encode()
    return b"\x80\x02}q\x00(X\x01\x00\x00\x00vq\x01J" + struct.pack("<i", n) + b"X\x03\x00\x00\x00padq\x02X" + struct.pack("<I", len(s)) + s + b"u."


# --------------------------------------------------------------------------- the hub


class Hub:
    def __init__(self, repos: int, seed: int, all_lfs: bool = False, big: bool = True, shard_repos: int = 8, files: int = 0):
        self.lock = threading.Lock()
        self.contents: dict[str, Content] = {}
        self.lfs: dict[str, bool] = {}
        # repo -> list of commits [(sha, {path: content_sha})]
        self.repos: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.all_lfs = all_lfs
        self.seed = seed
        self.push_n = 0
        self.stats = {
            "listing_pages": 0,
            "listing_cursors": {},
            "tree_pages": 0,
            "revision": 0,
            "resolve": 0,
            "range_requests": 0,
            "bytes_served": 0,
            "not_found": 0,
            "pushes": 0,
        }
        self.fetches: dict[str, int] = {}
        self.content_bytes: dict[str, int] = {}
        self.listing_delay = 0.0
        t0 = time.time()
        self.extra = 0
        self._generate(repos, random.Random(seed), big, shard_repos)
        have = sum(len(c[-1][1]) for c in self.repos.values())
        if files > have:
            # More files per repository: every base model gets `extra` more weight files
            # (shards its copies carry too), sized to reach about `files` in all.
            copies = sum(1 for r in self.repos if r.startswith("org"))
            self.extra = -(-(files - have) // max(1, copies))
            self.contents, self.lfs, self.repos = {}, {}, {}
            self._generate(repos, random.Random(seed), big, shard_repos)
        self.gen_secs = time.time() - t0

    def add(self, parts, kind, malicious=False, lfs=True, sha256=None) -> str:
        c = Content(parts, kind, malicious, sha256)
        self.contents.setdefault(c.sha256, c)
        self.lfs[c.sha256] = lfs and True
        return c.sha256

    def commit_sha(self, repo: str, i: int) -> str:
        return hashlib.sha1(f"{self.seed}:{repo}:{i}".encode()).hexdigest()

    def put_repo(self, repo: str, files: dict[str, str]):
        self.repos[repo] = [(self.commit_sha(repo, 0), files)]

    def _generate(self, n_repos: int, rng: random.Random, big: bool, shard_repos: int):
        git = not self.all_lfs
        n_bases = max(10, n_repos // 100)
        bases = []
        for b in range(n_bases):
            r = random.Random(rng.random())
            f = {
                "config.json": self.add([config_json(r, f"base{b}")], "json", lfs=not git),
                "README.md": self.add([f"# base model {b}\n\nA popular base.\n".encode()], "md", lfs=not git),
                "tokenizer.json": self.add([tokenizer(r, r.randint(500, 3000))], "json"),
            }
            if b % 2 == 0:
                f["pytorch_model.bin"] = self.add(torch_zip(r.randint(2_000, 60_000), r), "torch")
            if b % 3 != 1:
                f["model.safetensors"] = self.add(safetensors(r.randint(2_000, 60_000), r), "safetensors")
            for i in range(self.extra):
                f[f"extra/part-{i:05d}.safetensors"] = self.add(safetensors(r.randint(100, 2_000), r), "safetensors")
            bases.append(f)
        weights = [1 / (i + 1) for i in range(n_bases)]  # Zipf: a few popular bases
        # Large sharded models (copied a few times).
        shard_sets = []
        for s in range(2):
            r = random.Random(rng.random())
            n = 150
            shards = {
                f"model-{i + 1:05d}-of-{n:05d}.safetensors": self.add(safetensors(r.randint(500, 4_000), r), "safetensors")
                for i in range(n)
            }
            shards["config.json"] = self.add([config_json(r, f"sharded{s}")], "json", lfs=not git)
            shard_sets.append(shards)
        special = []
        for k in range(shard_repos):
            special.append((f"bigorg/sharded-{k}", shard_sets[k % 2]))
        # Malicious: the example file (copied), generated variants, the zip and dotted-name examples.
        ex = lambda p: (ROOT / "examples" / p).read_bytes()  # noqa: E731
        mal_os = self.add([ex("malicious_os_system.pkl")], "pickle", malicious=True)
        mal_zip = self.add([ex("malicious_in_zip.zip")], "zip", malicious=True)
        mal_dot = self.add([ex("malicious_dotted_name.pkl")], "pickle", malicious=True)
        benign_pt = self.add([ex("benign_state_dict.pt")], "torch")
        for k in range(3):
            special.append((f"evil-{k}/pwn-model", {"pytorch_model.bin": mal_os, "config.json": bases[0]["config.json"]}))
        for k in range(4):
            m = self.add([evil_pickle(f"variant-{k}")], "pickle", malicious=True)
            special.append((f"evil-v{k}/finetune", {**bases[k % n_bases], "training_args.bin": m}))
        special.append(("evil-zip/archive", {"weights.zip": mal_zip, "model.bin": benign_pt}))
        special.append(("evil-dot/logger", {"model.pkl": mal_dot}))
        if big:
            g2 = self.add(torch_zip(500_000_000, None, "giant"), "torch-big")  # 2.0 GB
            g1 = self.add(safetensors(250_000_000, None), "safetensors-big")  # 1.0 GB
            special.append(("bigco/giant-2g", {"pytorch_model.bin": g2, "README.md": bases[0]["README.md"]}))
            special.append(("mirror/giant-2g", {"pytorch_model.bin": g2}))
            special.append(("bigco/giant-1g", {"model.safetensors": g1}))
            special.append(("mirror/giant-1g", {"model.safetensors": g1}))
        for name, files in special:
            self.put_repo(name, files)
        # Push repositories: a commit per push (config + the pushed file).
        for k in range(4):
            self.put_repo(f"bench-push/p{k}", {"config.json": bases[0]["config.json"], "weights.pkl": self.add([benign_pickle(-1 - k)], "pickle")})
        # The rest: copies and fine-tunes of bases, and small original models.
        i = 0
        while len(self.repos) < n_repos:
            i += 1
            owner = f"org{rng.randrange(max(1, n_repos // 8)):05d}"
            name = f"{owner}/model-{i:06d}"
            u = rng.random()
            if u < 0.06:  # an original small model: every file unique
                r = random.Random(rng.random())
                files = {
                    "config.json": self.add([config_json(r, name)], "json", lfs=not git),
                    "README.md": self.add([f"# {name}\n".encode()], "md", lfs=not git),
                    "model.safetensors": self.add(safetensors(r.randint(500, 20_000), r), "safetensors"),
                }
            else:
                b = rng.choices(range(n_bases), weights)[0]
                files = dict(bases[b])
                if rng.random() < 0.5:
                    files.pop("tokenizer.json", None)
                if rng.random() < 0.12:  # a fine-tune: its own adapter
                    r = random.Random(rng.random())
                    files["adapter_model.safetensors"] = self.add(safetensors(r.randint(200, 5_000), r), "safetensors")
            self.put_repo(name, files)
        self.names = sorted(self.repos)

    # ---- helpers

    def head(self, repo):
        return self.repos[repo][-1]

    def commit(self, repo, rev):
        commits = self.repos.get(repo)
        if not commits:
            return None
        if rev in ("main", "refs/heads/main", "HEAD"):
            return commits[-1]
        for c in commits:
            if c[0] == rev:
                return c
        return None

    def push(self, repo: str):
        with self.lock:
            self.push_n += 1
            n = self.push_n
            commits = self.repos[repo]
            files = dict(commits[-1][1])
            path = "weights.pkl"
            files[path] = self.add([benign_pickle(n)], "pickle")
            sha = self.commit_sha(repo, len(commits))
            commits.append((sha, files))
            self.stats["pushes"] += 1
        return {"repo": repo, "sha": sha, "path": path, "sha256": files[path]}

    def summary(self):
        files = [(r, p, s) for r, cs in self.repos.items() for p, s in cs[-1][1].items()]
        uniq = {s for _, _, s in files}
        return {
            "repos": len(self.repos),
            "files": len(files),
            "unique_contents": len(uniq),
            "dup_share": 1 - len(uniq) / max(1, len(files)),
            "total_bytes": sum(self.contents[s].size for _, _, s in files),
            "unique_bytes": sum(self.contents[s].size for s in uniq),
            "lfs_files": sum(1 for _, _, s in files if self.lfs[s]),
            "lfs_unique": len({s for s in uniq if self.lfs[s]}),
            "malicious_files": sum(1 for _, _, s in files if self.contents[s].malicious),
            "gen_secs": round(self.gen_secs, 2),
        }

    def manifest(self):
        out = []
        for r in self.names:
            sha, files = self.repos[r][-1]
            out.append(
                {
                    "repo": r,
                    "sha": sha,
                    "files": [
                        {
                            "path": p,
                            "sha256": s,
                            "size": self.contents[s].size,
                            "lfs": self.lfs[s],
                            "malicious": self.contents[s].malicious,
                        }
                        for p, s in sorted(files.items())
                    ],
                }
            )
        return out


TREE_PAGE = 100


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: Hub = None  # type: ignore
    base: str = ""

    def log_message(self, *a):  # quiet
        pass

    def _json(self, obj, status=200, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _status(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _count(self, key, n=1):
        with self.hub.lock:
            self.hub.stats[key] += n

    def do_POST(self):
        u = urlsplit(self.path)
        q = dict(parse_qsl(u.query))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if u.path == "/_bench/push":
            repo = q.get("repo", "bench-push/p0")
            if repo not in self.hub.repos:
                return self._status(404)
            return self._json(self.hub.push(repo))
        if u.path == "/_bench/listing_delay":
            self.hub.listing_delay = float(q.get("secs", "0"))
            return self._json({"listing_delay": self.hub.listing_delay})
        self._status(404)

    def do_GET(self):
        u = urlsplit(self.path)
        path = unquote(u.path)
        hub = self.hub
        if path == "/_bench/health":
            return self._json({"ok": True, **hub.summary()})
        if path == "/_bench/stats":
            with hub.lock:
                st = json.loads(json.dumps(hub.stats))
                fetches = dict(hub.fetches)
                cbytes = dict(hub.content_bytes)
            st["fetches"] = fetches
            st["content_bytes"] = cbytes
            return self._json(st)
        if path == "/_bench/manifest":
            return self._json({"summary": hub.summary(), "repos": hub.manifest()})
        if path == "/api/models":
            return self.list_models(parse_qsl(u.query))
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/") :].split("/")
            if len(rest) >= 4 and rest[2] == "revision":
                repo = "/".join(rest[:2])
                c = hub.commit(repo, "/".join(rest[3:]))
                self._count("revision")
                if not c:
                    return self._status(404)
                return self._json({"id": repo, "sha": c[0]})
            if len(rest) >= 4 and rest[2] == "tree":
                return self.tree("/".join(rest[:2]), "/".join(rest[3:]), dict(parse_qsl(u.query)))
            return self._status(404)
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]))
        self._status(404)

    def list_models(self, q):
        hub = self.hub
        if hub.listing_delay:
            time.sleep(hub.listing_delay)
        keys = [k for k, _ in q]
        qd = dict(q)
        if ("expand[]", "sha") not in q:
            return self._json({"error": "expand[]=sha expected", "keys": keys}, 400)
        limit = int(qd.get("limit", "1000"))
        cursor = int(qd.get("cursor", "0"))
        with hub.lock:
            hub.stats["listing_pages"] += 1
            lc = hub.stats["listing_cursors"]
            lc[str(cursor)] = lc.get(str(cursor), 0) + 1
            names = hub.names[cursor : cursor + limit]
            page = [
                {"_id": hashlib.md5(n.encode()).hexdigest()[:24], "id": n, "sha": hub.repos[n][-1][0], "lastModified": "2026-01-01T00:00:00.000Z"}
                for n in names
            ]
        headers = {}
        if cursor + limit < len(hub.names):
            headers["Link"] = f'<{self.base}/api/models?limit={limit}&expand%5B%5D=sha&expand%5B%5D=lastModified&cursor={cursor + limit}>; rel="next"'
        self._json(page, headers=headers)

    def tree(self, repo, rev, q):
        hub = self.hub
        self._count("tree_pages")
        if q.get("recursive") != "true":
            return self._json({"error": "recursive=true expected"}, 400)
        c = hub.commit(repo, rev)
        if not c:
            return self._json({"error": "Revision not found"}, 404)
        cursor = int(q.get("cursor", "0"))
        items = sorted(c[1].items())
        entries = []
        if cursor == 0 and any("/" in p for p, _ in items):
            pass
        for p, s in items[cursor : cursor + TREE_PAGE]:
            ct = hub.contents[s]
            e = {"type": "file", "oid": ct.git_oid() if ct.size < (1 << 20) else hashlib.sha1(s.encode()).hexdigest(), "size": ct.size, "path": p}
            if hub.lfs[s]:
                e["lfs"] = {"oid": s, "size": ct.size, "pointerSize": 134}
            entries.append(e)
        headers = {}
        if cursor + TREE_PAGE < len(items):
            headers["Link"] = f'<{self.base}/api/models/{repo}/tree/{rev}?recursive=true&cursor={cursor + TREE_PAGE}>; rel="next"'
        self._json(entries, headers=headers)

    def resolve(self, repo, rev, path):
        hub = self.hub
        c = hub.commit(repo, rev)
        s = c[1].get(path) if c else None
        if not s:
            self._count("not_found")
            return self._status(404)
        ct = hub.contents[s]
        rng = self.headers.get("Range")
        a, b = 0, ct.size - 1
        status = 200
        if rng and rng.startswith("bytes="):
            lo, _, hi = rng[6:].partition("-")
            a = int(lo)
            b = min(int(hi), ct.size - 1) if hi else ct.size - 1
            if a >= ct.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{ct.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        n = b - a + 1
        with hub.lock:
            hub.stats["resolve"] += 1
            if status == 206:
                hub.stats["range_requests"] += 1
            hub.stats["bytes_served"] += n
            hub.content_bytes[s] = hub.content_bytes.get(s, 0) + n
            if a == 0:
                hub.fetches[s] = hub.fetches.get(s, 0) + 1
        self.send_response(status)
        self.send_header("Content-Length", str(n))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{s}"')
        if status == 206:
            self.send_header("Content-Range", f"bytes {a}-{b}/{ct.size}")
        self.end_headers()
        try:
            for chunk in ct.read(a, b):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--repos", type=int, default=5000)
    ap.add_argument("--files", type=int, default=0, help="about this many files (more per repository); 0 = the default shape")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--all-lfs", action="store_true", help="serve README.md/config.json as LFS too")
    ap.add_argument("--no-big", action="store_true", help="leave out the 2 GB and 1 GB checkpoints")
    ap.add_argument("--listing-delay", type=float, default=0.0, help="seconds per listing page")
    ap.add_argument("--summary", action="store_true", help="print the shape and exit")
    a = ap.parse_args()
    hub = Hub(a.repos, a.seed, all_lfs=a.all_lfs, big=not a.no_big, files=a.files)
    hub.listing_delay = a.listing_delay
    if a.summary:
        print(json.dumps(hub.summary(), indent=2))
        return
    srv = Server((a.host, a.port), Handler)
    Handler.hub = hub
    Handler.base = f"http://{a.host}:{srv.server_address[1]}"
    print(json.dumps({"port": srv.server_address[1], **hub.summary()}), flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
