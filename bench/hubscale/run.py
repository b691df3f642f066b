#!/usr/bin/env python3
"""Hub-scale benchmark driver (issue 14): crawl a fake hub through the crawler, PostgreSQL
and several worker processes, with pushes during the crawl and a SIGKILL of every server
process at ~30 % of the crawl.

    python3 bench/hubscale/run.py                       # 5,000 repos, 3 worker processes x 2
    python3 bench/hubscale/run.py --repos 1000 --no-kill --no-big   # a quick look

What it does:

1. creates a fresh PostgreSQL database (dropped at the end unless ``--keep-db``);
2. starts ``fakehub.py``, one ``role = "api"`` process and ``--procs`` ``role = "worker"``
   processes of ``--bin`` (each ``workers = --workers``);
3. ``POST /v1/crawls {"hub": "hf", "repoType": "model"}``;
4. while the backlog drains, pushes a commit to a ``bench-push/*`` repository every
   ``--push-interval`` s, sends the Hub webhook and polls
   ``GET /v1/repos/{repo}/revisions/{sha}`` until ``scansDone`` (push-to-result latency);
5. when the crawl has listed ``--kill-at`` of the repositories, SIGKILLs every server
   process, restarts them, and later checks that the crawl resumed from its stored cursor
   (hub listing requests <= pages + one chunk);
6. waits for the crawl ``done`` and no queued/running job, then verifies every file's
   result against the hub's manifest, fetches per content, bytes, and database size;
7. prints one summary table (and writes ``out/summary-<time>.json``).

Python 3.11 standard library; ``psql`` on the PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET = "bench-hook-secret"
ADMIN = "bench-admin-token"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, headers=None, timeout=10):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


class Pg:
    def __init__(self, base: str, name: str):
        self.base, self.name = base, name
        self.url = f"{base}/{name}"

    def admin(self, sql):
        subprocess.run(["psql", f"{self.base}/test", "-qAt", "-c", sql], check=True, capture_output=True)

    def rows(self, sql):
        out = subprocess.run(
            ["psql", self.url, "-qAt", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def one(self, sql):
        r = self.rows(sql)
        return r[0][0] if r else None


def cpu_secs(pids) -> float:
    """User + system CPU seconds of processes (from /proc; 0 for a vanished one)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


class Cpu:
    """CPU used by the server processes, their PostgreSQL backends and the fake hub, sampled
    before the SIGKILL (which ends them) and at the end."""

    def __init__(self, pg, procs, hub_pid):
        self.pg, self.procs, self.hub_pid = pg, procs, hub_pid
        self.server = self.db = 0.0

    def sample(self):
        backends = [int(r[0]) for r in self.pg.rows(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )]
        self.server += cpu_secs(p.pid for p in self.procs.procs)
        self.db += cpu_secs(backends)

    def result(self):
        return {"server_cpu_s": round(self.server, 1), "postgres_backends_cpu_s": round(self.db, 1), "fakehub_cpu_s": round(cpu_secs([self.hub_pid]), 1)}


class Procs:
    """The server processes: one API, N workers; restartable."""

    def __init__(self, a, pg: Pg, hub_url: str, out: Path):
        self.a, self.pg, self.hub_url, self.out = a, pg, hub_url, out
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.procs: list[subprocess.Popen] = []
        self.generation = 0

    def config(self, name, role, listen, workers):
        a = self.a
        text = (
            f'listen = "{listen}"\ndb = "{self.pg.url}"\nrole = "{role}"\nworkers = {workers}\n'
            f'hf_endpoint = "{self.hub_url}"\nhf_webhook_secret = "{SECRET}"\nadmin_token = "{ADMIN}"\n'
            f"lease_secs = {a.lease_secs}\nhub_api_requests_per_sec = {a.hub_rate}\n"
            f"crawl_page_size = {a.page_size}\ncrawl_pages_per_job = {a.pages_per_job}\n"
            f"claim_batch = {a.claim_batch}\nshutdown_grace_secs = 5\n"
        )
        p = self.out / f"{name}.toml"
        p.write_text(text)
        return p

    def spawn(self, name, cfg):
        log = open(self.out / f"{name}.g{self.generation}.log", "wb")
        env = {k: v for k, v in os.environ.items() if k not in ("HF_ENDPOINT", "HF_TOKEN")}
        env.setdefault("MODELGUARD_LOG", "warn")
        return subprocess.Popen([self.a.bin, "--config", str(cfg)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)

    def start(self):
        self.procs = [self.spawn("api", self.config("api", "api", f"127.0.0.1:{self.api_port}", 1))]
        t0 = time.time()
        while True:
            try:
                if http("GET", f"{self.api}/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if self.procs[0].poll() is not None or time.time() - t0 > 60:
                raise SystemExit(f"api did not start; see {self.out}/api.g{self.generation}.log")
            time.sleep(0.1)
        for k in range(self.a.procs):
            cfg = self.config(f"worker{k}", "worker", "127.0.0.1:0", self.a.workers)
            self.procs.append(self.spawn(f"worker{k}", cfg))

    def kill(self):
        for p in self.procs:
            p.send_signal(signal.SIGKILL)
        for p in self.procs:
            p.wait()
        self.generation += 1

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def dead(self):
        return [p.args for p in self.procs if p.poll() is not None]


class Pusher(threading.Thread):
    """A push every `interval` s: new commit at the hub, webhook, poll until scansDone."""

    def __init__(self, hub_url, api, interval, kill_window):
        super().__init__(daemon=True)
        self.hub_url, self.api, self.interval = hub_url, api, interval
        self.kill_window = kill_window  # [start, end] of the restart, filled by the driver
        self.stop = threading.Event()
        self.results = []  # (t_sent, latency, overlapped_kill, repo, sha)
        self.pending = 0
        self.lock = threading.Lock()
        self.n = 0

    def run(self):
        while not self.stop.is_set():
            t_next = time.time() + self.interval
            repo = f"bench-push/p{self.n % 4}"
            self.n += 1
            threading.Thread(target=self.one, args=(repo,), daemon=True).start()
            self.stop.wait(max(0, t_next - time.time()))

    def one(self, repo, accepted=None):
        with self.lock:
            self.pending += 1
        try:
            _, c = http("POST", f"{self.hub_url}/_bench/push?repo={repo}")
            sha = c["sha"]
            body = {
                "event": {"action": "update", "scope": "repo.content"},
                "repo": {"type": "model", "name": repo, "id": "1", "private": False, "headSha": sha, "owner": {"id": "2"}},
                "updatedRefs": [{"ref": "refs/heads/main", "oldSha": None, "newSha": sha}],
                "webhook": {"id": "bench", "version": 3},
            }
            t0 = time.time()
            # The Hub redelivers a webhook that failed: retry until it is taken.
            while True:
                try:
                    st, _ = http("POST", f"{self.api}/webhooks/huggingface", body, {"X-Webhook-Secret": SECRET, "Content-Type": "application/json"}, timeout=5)
                    if st in (200, 202):
                        if accepted:
                            accepted.set()
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            url = f"{self.api}/v1/repos/{repo}/revisions/{sha}?limit=10"
            while True:
                try:
                    st, doc = http("GET", url, timeout=5)
                    if st == 200 and doc.get("scansDone") is True:
                        break
                except OSError:
                    pass
                if time.time() - t0 > 300:
                    break
                time.sleep(0.02)
            t1 = time.time()
            ks, ke = self.kill_window
            overlapped = ks is not None and t0 <= (ke or t1) and t1 >= ks
            with self.lock:
                self.results.append((t0, t1 - t0, overlapped, repo, sha, doc.get("status") if isinstance(doc, dict) else None))
        finally:
            with self.lock:
                self.pending -= 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("MODELGUARD_SERVER", "/work/bench-bin/modelguard-server"))
    ap.add_argument("--pg", default=os.environ.get("MODELGUARD_BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    ap.add_argument("--repos", type=int, default=5000)
    ap.add_argument("--files", type=int, default=0, help="about this many files (more per repository)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--no-big", action="store_true", help="no 2 GB / 1 GB checkpoints")
    ap.add_argument("--all-lfs", action="store_true", help="README.md/config.json as LFS files too")
    ap.add_argument("--procs", type=int, default=3, help="worker processes")
    ap.add_argument("--workers", type=int, default=2, help="workers per process")
    ap.add_argument("--claim-batch", type=int, default=1)
    ap.add_argument("--lease-secs", type=int, default=5)
    ap.add_argument("--hub-rate", type=float, default=0, help="hub_api_requests_per_sec (0 = unlimited)")
    ap.add_argument("--page-size", type=int, default=50, help="crawl_page_size")
    ap.add_argument("--pages-per-job", type=int, default=2, help="crawl_pages_per_job")
    ap.add_argument("--listing-delay", type=float, default=0.3, help="fake hub: seconds per listing page")
    ap.add_argument("--push-interval", type=float, default=0.75)
    ap.add_argument("--kill-at", type=float, default=0.3, help="share of repos listed at the SIGKILL")
    ap.add_argument("--no-kill", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--out", default=str(HERE / "out"))
    a = ap.parse_args()

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(a.out) / stamp
    out.mkdir(parents=True, exist_ok=True)
    pg = Pg(a.pg, f"mg_hubscale_{os.getpid()}")
    pg.admin(f"CREATE DATABASE {pg.name}")
    hub_cmd = [sys.executable, str(HERE / "fakehub.py"), "--port", "0", "--repos", str(a.repos), "--seed", str(a.seed), "--listing-delay", str(a.listing_delay), "--files", str(a.files)]
    if a.no_big:
        hub_cmd.append("--no-big")
    if a.all_lfs:
        hub_cmd.append("--all-lfs")
    hub = subprocess.Popen(hub_cmd, stdout=subprocess.PIPE, stderr=open(out / "fakehub.log", "wb"), text=True)
    procs = None
    try:
        info = json.loads(hub.stdout.readline())
        hub_url = f"http://127.0.0.1:{info['port']}"
        print(f"fake hub: {hub_url} {json.dumps(info)}", flush=True)
        _, man = http("GET", f"{hub_url}/_bench/manifest", timeout=60)
        procs = Procs(a, pg, hub_url, out)
        procs.start()
        summary = drive(a, pg, procs, hub_url, man, out, Cpu(pg, procs, hub.pid))
    finally:
        if procs:
            procs.stop()
        hub.terminate()
        hub.wait()
        if not a.keep_db:
            pg.admin(f"DROP DATABASE IF EXISTS {pg.name} WITH (FORCE)")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nwritten: {out}/summary.json")


def drive(a, pg: Pg, procs: Procs, hub_url: str, man, out: Path, cpu: Cpu):
    api = procs.api
    total_repos = len(man["repos"])
    total_files = sum(len(r["files"]) for r in man["repos"])
    st, c = http("POST", f"{api}/v1/crawls", {"hub": "hf", "repoType": "model"}, {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    assert st == 202, (st, c)
    crawl_url = f"{api}{c['links']['self']}"
    t_start = time.time()
    kill_window = [None, None]
    pusher = Pusher(hub_url, api, a.push_interval, kill_window)
    pusher.start()
    killed = None
    t_drained = None
    progress = []
    last_print = 0
    while True:
        time.sleep(0.5)
        now = time.time()
        try:
            st, cr = http("GET", crawl_url, timeout=5)
        except OSError:
            cr = None
        if not isinstance(cr, dict) or st != 200:
            cr = None
        row = pg.rows(
            "SELECT (SELECT count(*) FROM repo_files WHERE status <> 'queued'), (SELECT count(*) FROM repo_files), "
            "(SELECT count(*) FROM jobs WHERE status IN ('queued','running')), (SELECT count(*) FROM results), "
            "(SELECT count(*) FROM revisions WHERE state = 'listed')"
        )[0]
        done_files, listed_files, active, nresults, nrevs = map(int, row)
        progress.append((round(now - t_start, 2), done_files, listed_files, active, nresults, cr and cr.get("reposListed")))
        if now - last_print > 5:
            last_print = now
            print(
                f"t={now - t_start:6.1f}s crawl={cr and cr.get('state')} pages={cr and cr.get('pages')} listed={cr and cr.get('reposListed')} "
                f"files done={done_files}/{listed_files} active jobs={active} results={nresults} revs listed={nrevs} pushes={len(pusher.results)}",
                flush=True,
            )
        dead = procs.dead()
        if dead and killed is None or (dead and killed and now - killed["t_restart"] > 3):
            print(f"!! server process exited: {dead}", flush=True)
        if not a.no_kill and killed is None and cr and cr.get("reposListed", 0) >= a.kill_at * total_repos:
            _, hs = http("GET", f"{hub_url}/_bench/stats")
            before = {"t": round(now - t_start, 2), "pages": cr["pages"], "reposListed": cr["reposListed"], "hub_listing_pages": hs["listing_pages"], "files_done": done_files}
            running = pg.rows("SELECT kind, count(*) FROM jobs WHERE status = 'running' GROUP BY kind")
            # One push in flight at the kill: SIGKILL 30 ms after its webhook was taken, so
            # its jobs are queued or held by a worker that dies.
            cpu.sample()
            accepted = threading.Event()
            kill_window[0] = time.time()
            threading.Thread(target=pusher.one, args=("bench-push/p3", accepted), daemon=True).start()
            accepted.wait(5)
            time.sleep(0.03)
            at_kill = pg.rows("SELECT kind, lane, status, count(*) FROM jobs WHERE lane = 1 AND status IN ('queued', 'running') GROUP BY 1, 2, 3")
            procs.kill()
            t_k = time.time()
            procs.start()
            kill_window[1] = time.time()
            killed = {"before": before, "running_at_kill": {k: int(n) for k, n in running}, "push_lane_at_kill": at_kill, "restart_secs": round(kill_window[1] - t_k, 2), "t_restart": time.time()}
            print(f"** SIGKILLed every server process at {before}; running jobs {killed['running_at_kill']}; push lane {at_kill}; restarted in {killed['restart_secs']} s", flush=True)
            continue
        if cr and cr.get("state") in ("done", "failed") and active == 0 and done_files == listed_files and nrevs >= total_repos:
            t_drained = now
            break
        if now - t_start > a.timeout:
            print("!! timeout", flush=True)
            break
    pusher.stop.set()
    t_wait = time.time()
    while pusher.pending and time.time() - t_wait < 60:
        time.sleep(0.1)
    elapsed = (t_drained or time.time()) - t_start
    cpu.sample()
    cpu_use = cpu.result()
    _, cr = http("GET", crawl_url)
    _, hs = http("GET", f"{hub_url}/_bench/stats", timeout=30)
    s = report(a, pg, man, cr, hs, pusher, killed, elapsed, t_drained is not None, total_repos, total_files, out, progress)
    s["cpu"] = cpu_use
    s["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    n = s["files"]
    print(f"CPU: {json.dumps(cpu_use)}; per 1,000 files: server {cpu_use['server_cpu_s'] / n * 1000:.2f} s, "
          f"PostgreSQL {cpu_use['postgres_backends_cpu_s'] / n * 1000:.2f} s; load average at the end {s['loadavg_end']}")
    return s


def report(a, pg, man, cr, hs, pusher, killed, elapsed, drained, total_repos, total_files, out, progress):
    # The push repositories moved on during the run (their listed head is a later commit):
    # they are checked through the pushes, not against the manifest's first commit.
    man = {**man, "repos": [r for r in man["repos"] if not r["repo"].startswith("bench-push/")]}
    # Every file of every head: its status.
    rows = pg.rows("SELECT repo, revision, path, coalesce(sha256,''), status, coalesce(error,'') FROM repo_files")
    got = {(r[0], r[1], r[2]): r for r in rows}
    missing, queued, mal_not_unsafe, benign_unsafe, errors = [], [], [], [], []
    by_status = {}
    for repo in man["repos"]:
        for f in repo["files"]:
            r = got.get((repo["repo"], repo["sha"], f["path"]))
            if r is None:
                missing.append((repo["repo"], f["path"]))
                continue
            stt = r[4]
            by_status[stt] = by_status.get(stt, 0) + 1
            if stt == "queued":
                queued.append((repo["repo"], f["path"]))
            if f["malicious"] and stt != "unsafe":
                mal_not_unsafe.append((repo["repo"], f["path"], stt, r[5]))
            if not f["malicious"] and stt == "unsafe":
                benign_unsafe.append((repo["repo"], f["path"]))
            if stt == "error":
                errors.append((repo["repo"], f["path"], r[5][:200]))
    # Fetches per content.
    occ, size_of, lfs_of = {}, {}, {}
    for repo in man["repos"]:
        for f in repo["files"]:
            occ[f["sha256"]] = occ.get(f["sha256"], 0) + 1
            size_of[f["sha256"]] = f["size"]
            lfs_of[f["sha256"]] = f["lfs"]
    fetches = hs["fetches"]
    lfs_uniq = [s for s in occ if lfs_of[s]]
    git_uniq = [s for s in occ if not lfs_of[s]]
    lfs_multi = {s: n for s, n in fetches.items() if n > 1 and lfs_of.get(s)}
    lfs_never = [s for s in lfs_uniq if fetches.get(s, 0) == 0]
    git_fetches = sum(fetches.get(s, 0) for s in git_uniq)
    git_occ = sum(occ[s] for s in git_uniq)
    # Why was a content fetched more than once? Scan jobs with more than one attempt.
    reran = pg.rows("SELECT unique_key, attempts, status FROM jobs WHERE kind = 'scan' AND attempts > 1")
    reran_keys = {r[0] for r in reran}
    lfs_multi_rerun = sum(1 for s in lfs_multi if f"blob:{s}" in reran_keys)
    total_bytes = sum(f["size"] for r in man["repos"] for f in r["files"])
    bytes_served = hs["bytes_served"]
    # Database size.
    sizes = {r[0]: int(r[1]) for r in pg.rows(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC"
    )}
    db_bytes = sum(sizes.values())
    tup = {r[0]: {"ins": int(r[1]), "upd": int(r[2]), "hot_upd": int(r[3]), "dead": int(r[4])} for r in pg.rows(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup FROM pg_stat_user_tables "
        "WHERE relname IN ('repo_files', 'jobs', 'results', 'job_counts', 'revisions')"
    )}
    # Live size: the same tables rewritten without dead rows (bloat from updates excluded).
    subprocess.run(["psql", pg.url, "-qc", "VACUUM FULL"], check=True, capture_output=True)
    sizes_full = {r[0]: int(r[1]) for r in pg.rows(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC"
    )}
    db_bytes_full = sum(sizes_full.values())
    nresults = int(pg.one("SELECT count(*) FROM results"))
    scans_rerun = int(pg.one("SELECT count(*) FROM jobs WHERE kind = 'scan' AND attempts > 1"))
    quarantined = pg.rows("SELECT kind, coalesce(last_error,'') FROM jobs WHERE status = 'quarantined'")
    jobs_by = pg.rows("SELECT kind, lane, status, count(*) FROM jobs GROUP BY 1,2,3 ORDER BY 1,2,3")
    # Pushes.
    lat_ok = [r[1] for r in pusher.results if not r[2]]
    lat_kill = [r[1] for r in pusher.results if r[2]]
    push_bad = [r for r in pusher.results if r[5] not in ("safe", "caution")]
    resumed = None
    if killed:
        lp = hs["listing_pages"]
        resumed = {
            "pages_at_kill": killed["before"]["pages"],
            "hub_listing_requests_at_kill": killed["before"]["hub_listing_pages"],
            "pages_final": cr["pages"],
            "hub_listing_requests_final": lp,
            "cursors_requested_twice": {k: v for k, v in hs["listing_cursors"].items() if v > 1},
            "ok": lp <= cr["pages"] + a.pages_per_job and hs["listing_cursors"].get("0", 0) == 1,
        }
    s = {
        "machine": f"{os.cpu_count()} cores, {os.uname().release}",
        "params": vars(a),
        "drained": drained,
        "crawl": cr,
        "repos": total_repos,
        "files": total_files,
        "unique_contents": len(occ),
        "dup_share": round(1 - len(occ) / total_files, 4),
        "elapsed_s": round(elapsed, 1),
        "restart_s": killed and killed["restart_secs"],
        "repos_per_s": round(total_repos / elapsed, 1),
        "files_per_s": round(total_files / elapsed, 1),
        "results_rows": nresults,
        "by_status": by_status,
        "missing": len(missing),
        "still_queued": len(queued),
        "malicious_files": sum(1 for r in man["repos"] for f in r["files"] if f["malicious"]),
        "malicious_not_unsafe": mal_not_unsafe[:20],
        "benign_unsafe": benign_unsafe[:20],
        "errors": errors[:20],
        "n_errors": len(errors),
        "lfs_unique": len(lfs_uniq),
        "lfs_fetched_more_than_once": len(lfs_multi),
        "lfs_fetched_more_than_once_with_rerun_job": lfs_multi_rerun,
        "lfs_multi_detail": [(s[:12], n, size_of[s], f"blob:{s}" in reran_keys) for s, n in sorted(lfs_multi.items())][:20],
        "lfs_never_fetched": len(lfs_never),
        "git_unique": len(git_uniq),
        "git_occurrences": git_occ,
        "git_fetches": git_fetches,
        "scan_jobs_rerun": scans_rerun,
        "quarantined": quarantined[:20],
        "jobs": jobs_by,
        "bytes_served": bytes_served,
        "total_bytes": total_bytes,
        "unique_bytes": sum(size_of[s] for s in occ),
        "hub_requests": {k: hs[k] for k in ("listing_pages", "tree_pages", "revision", "resolve", "range_requests", "not_found")},
        "db_bytes": db_bytes,
        "db_tables": sizes,
        "db_bytes_per_million_files": round(db_bytes / total_files * 1e6),
        "db_bytes_vacuum_full": db_bytes_full,
        "db_tables_vacuum_full": sizes_full,
        "db_bytes_vacuum_full_per_million_files": round(db_bytes_full / total_files * 1e6),
        "row_stats": tup,
        "killed": killed and {k: v for k, v in killed.items() if k != "t_restart"},
        "resumed": resumed,
        "pushes": len(pusher.results),
        "push_p50_s": round(pct(lat_ok, 50), 3),
        "push_p99_s": round(pct(lat_ok, 99), 3),
        "push_max_s": round(max(lat_ok), 3) if lat_ok else None,
        "push_mean_s": round(statistics.mean(lat_ok), 3) if lat_ok else None,
        "pushes_over_kill": len(lat_kill),
        "push_over_kill_max_s": round(max(lat_kill), 3) if lat_kill else None,
        "push_not_safe": [(r[3], r[4][:12], r[5]) for r in push_bad][:10],
    }
    (out / "progress.json").write_text(json.dumps(progress))
    (out / "pushes.json").write_text(json.dumps(pusher.results))
    mb = lambda b: f"{b / 1e6:,.1f} MB"  # noqa: E731
    lines = [
        ("repositories / files", f"{total_repos:,} / {total_files:,} ({s['dup_share'] * 100:.1f} % duplicate content, {len(occ):,} unique)"),
        ("worker processes x workers", f"{a.procs} x {a.workers} (claim_batch {a.claim_batch}), hub rate {a.hub_rate or 'unlimited'}"),
        ("caught up in", f"{s['elapsed_s']} s (incl. {s['restart_s'] or 0} s restart)" + ("" if drained else " NOT DRAINED")),
        ("repos/s, files/s", f"{s['repos_per_s']}, {s['files_per_s']}"),
        ("crawl", f"state {cr.get('state')}, pages {cr.get('pages')}, listed {cr.get('reposListed')}, enqueued {cr.get('reposEnqueued')}, skipped {cr.get('reposSkipped')}"),
        ("results rows (contents scanned)", f"{nresults:,} (unique contents in the hub: {len(occ):,}; LFS {len(lfs_uniq):,}, git {len(git_uniq):,})"),
        ("file statuses", json.dumps(by_status)),
        ("missing / still queued / errors", f"{len(missing)} / {len(queued)} / {len(errors)}"),
        ("malicious unsafe", f"{s['malicious_files'] - len(mal_not_unsafe)} / {s['malicious_files']}; benign unsafe: {len(benign_unsafe)}"),
        ("LFS contents fetched > once", f"{len(lfs_multi)} of {len(lfs_uniq)} ({lfs_multi_rerun} had a re-run scan job); never fetched: {len(lfs_never)}"),
        ("git (non-LFS) fetches", f"{git_fetches:,} for {git_occ:,} occurrences of {len(git_uniq):,} contents"),
        ("bytes fetched / total", f"{mb(bytes_served)} / {mb(total_bytes)} ({bytes_served / total_bytes * 100:.3f} %); unique bytes {mb(s['unique_bytes'])}"),
        ("hub requests", json.dumps(s["hub_requests"])),
        ("push -> result p50 / p99 / max", f"{s['push_p50_s']} / {s['push_p99_s']} / {s['push_max_s']} s over {len(lat_ok)} pushes (+{len(lat_kill)} across the restart, max {s['push_over_kill_max_s']} s)"),
        ("database", f"{mb(db_bytes)}, {mb(s['db_bytes_per_million_files'])} per million files; after VACUUM FULL {mb(db_bytes_full)}, {mb(s['db_bytes_vacuum_full_per_million_files'])} per million files"),
        ("row writes", "; ".join(f"{k}: {v['ins']:,} inserted, {v['upd']:,} updated" for k, v in sorted(tup.items()))),
        ("SIGKILL + resume", json.dumps(resumed) if resumed else "not done"),
    ]
    w = max(len(k) for k, _ in lines)
    print("\n" + "-" * 100)
    for k, v in lines:
        print(f"{k:<{w}}  {v}")
    print("-" * 100)
    print("db tables:", ", ".join(f"{k} {mb(v)}" for k, v in sizes.items()))
    print("db tables after VACUUM FULL:", ", ".join(f"{k} {mb(v)}" for k, v in sizes_full.items()))
    print("jobs:", jobs_by)
    if mal_not_unsafe or benign_unsafe or errors or quarantined:
        print("malicious not unsafe:", mal_not_unsafe[:10])
        print("benign unsafe:", benign_unsafe[:10])
        print("errors:", errors[:10])
        print("quarantined:", quarantined[:10])
    if lfs_multi:
        print("LFS fetched more than once (sha, fetches, size, re-run job):", s["lfs_multi_detail"])
    return s


if __name__ == "__main__":
    main()
