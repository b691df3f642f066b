#!/usr/bin/env python3
"""Whole-process benchmark: modelguard vs picklescan on the same files, in one run.

  (a) 5,000 small pickles (90 % benign state-dict-like objects, 10 % os.system payloads);
  (b) a 2 GiB checkpoint in torch's zip format (torch.save of one large tensor).

Both tools run alternately, several rounds per case (ROUNDS=N, default 7); prints the best
and the median wall time of each, the peak RSS and the ratios. Needs the fixture venv
(torch, picklescan):
  python3 -m venv .venv && .venv/bin/pip install -r tests/fixtures/requirements.txt
  cargo build --release -p modelguard-cli
  .venv/bin/python bench/compare.py
Generated files go to bench/out/ (git-ignored) and are reused across runs.
"""
import collections
import os
import pickle
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
MG = os.environ.get("MODELGUARD", os.path.join(ROOT, "target", "release", "modelguard"))
PICKLESCAN = os.path.join(os.path.dirname(sys.executable), "picklescan")


class Payload:
    def __reduce__(self):
        return (os.system, ("echo modelguard-bench",))


def make_small(n=5000):
    d = os.path.join(OUT, "small")
    if os.path.isdir(d) and len(os.listdir(d)) == n:
        return d
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        if i % 10 == 0:
            obj = {"layer": [Payload()]}
        else:
            obj = collections.OrderedDict(
                (f"layer{j}.weight", [float(j)] * 8) for j in range(4)
            )
        with open(os.path.join(d, f"f{i:05}.pkl"), "wb") as f:
            pickle.dump(obj, f, protocol=2 + i % 4)
    return d


def make_big(gib=2):
    path = os.path.join(OUT, f"big_{gib}g.pt")
    if os.path.exists(path) and os.path.getsize(path) >= gib << 30:
        return path
    # In a child process: a forked child's peak RSS counts the parent's resident pages, so
    # a 2 GiB tensor built here would be reported as every later run's peak RSS.
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, torch; n = int(sys.argv[2]) // 4;"
            " torch.save({'weight': torch.zeros(n, dtype=torch.float32)}, sys.argv[1])",
            path,
            str(gib << 30),
        ],
        check=True,
    )
    return path


def timed(cmd):
    """Run cmd; return (seconds, peak RSS MiB, exit code). The child's peak RSS comes from
    wait4's rusage, so no wrapper process (/usr/bin/time) adds to the time."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    return dt, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def runs_of(cmds, rounds):
    """Run every command once per round, interleaved (so a slow spell of a shared machine
    hits all of them alike); return each command's list of (seconds, RSS MiB, exit code)."""
    results = [[] for _ in cmds]
    for _ in range(rounds):
        for i, cmd in enumerate(cmds):
            results[i].append(timed(cmd))
    return results


def main():
    if not os.path.exists(MG):
        sys.exit("build first: cargo build --release -p modelguard-cli")
    small = make_small()
    big = make_big()
    print(f"{'case':<22} {'':>6} {'modelguard':>16} {'picklescan':>16} {'speed-up':>9}")
    # More rounds give steadier medians on a noisy machine: ROUNDS=21 bench/compare.py.
    rounds = int(os.environ.get("ROUNDS", "7"))
    for label, target in (("5,000 small pickles", small), ("2 GiB torch zip", big)):
        mg, ps = runs_of(
            [[MG, "scan", "--format", "json", "--hash", "never", target], [PICKLESCAN, "-p", target]],
            rounds,
        )
        for stat, pick in (("best", min), ("median", statistics.median)):
            m = pick(r[0] for r in mg)
            p = pick(r[0] for r in ps)
            m_rss = max(r[1] for r in mg)
            p_rss = max(r[1] for r in ps)
            print(
                f"{label:<22} {stat:>6} {m*1000:9.1f} ms {m_rss:4.0f}M {p*1000:9.1f} ms {p_rss:4.0f}M"
                f" {p/m:8.1f}x   (exit codes {mg[0][2]}, {ps[0][2]})"
            )


if __name__ == "__main__":
    main()
