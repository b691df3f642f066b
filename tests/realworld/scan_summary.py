#!/usr/bin/env python3
"""Summarise a `modelguard scan --format json` report of the real-world benign corpus.

    scan_summary.py REPORT.json [--top N] [--examples N] [--markdown] [--compare OLD.json]

Prints: files scanned (per source: wheels/<wheel>, made/<library>); files per worst
unsuppressed severity; status and verdict counts; the most common causes of findings at
low or above, grouped by (rule, severity, name) where name is the first dotted name of the
message (the imported/called global) or the message itself; example files with their
findings. Every file of the corpus is benign, so every finding at low or above is a false
positive.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys

SEV = ["info", "low", "medium", "high", "critical"]
RANK = {s: i for i, s in enumerate(SEV)}
NAME = re.compile(r"(?<![\w.])([A-Za-z_][\w]*(?:\.[A-Za-z_<>][\w<>]*)+)")


def source(path: str) -> str:
    parts = path.split("/")
    for i, p in enumerate(parts):
        if p in ("wheels", "made") and i + 1 < len(parts):
            return f"{p}/{parts[i + 1]}"
    return parts[0]


def cause(f: dict) -> tuple:
    msg = f["message"]
    m = NAME.search(msg)
    name = m.group(1) if m else re.sub(r"\d+", "N", msg)[:90]
    return (f["rule"], f["severity"], name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--markdown", action="store_true", help="tables for README.md")
    ap.add_argument("--compare", metavar="OLD.json",
                    help="also compare with an earlier report of the same corpus: worst severity "
                         "before/after and the files that got better or worse")
    a = ap.parse_args()
    r = json.load(open(a.report))
    files = r["files"]
    md = a.markdown

    def table(title, rows, head):
        print(f"\n{'### ' if md else '== '}{title}")
        if md:
            print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
            for row in rows:
                print("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
        else:
            for row in rows:
                print("  " + "  ".join(str(c) for c in row))

    worst = collections.Counter()
    status = collections.Counter(f["status"] for f in files)
    verdict = collections.Counter(f["verdict"] for f in files)
    per_src = collections.defaultdict(collections.Counter)
    causes = collections.Counter()
    cause_files = collections.defaultdict(set)
    rules = collections.Counter()
    flagged = []
    for f in files:
        live = [x for x in f["findings"] if not x.get("suppressed")]
        w = max((RANK[x["severity"]] for x in live), default=-1)
        ws = SEV[w] if w >= 0 else "none"
        worst[ws] += 1
        src = source(f["path"])
        per_src[src]["files"] += 1
        if w >= RANK["low"]:
            per_src[src]["flagged"] += 1
            per_src[src][ws] += 1
            flagged.append((w, f, live))
        if f["status"] != "complete":
            per_src[src]["not complete"] += 1
        seen = set()
        for x in live:
            if RANK[x["severity"]] >= RANK["low"]:
                c = cause(x)
                causes[c] += 1
                cause_files[c].add(f["path"])
                if x["rule"] not in seen:
                    rules[(x["rule"])] += 1
                    seen.add(x["rule"])
    n = len(files)
    nflag = sum(1 for _ in flagged)
    print(f"scanner: {r['scanner']['name']} {r['scanner']['version']} ruleset {r['scanner']['ruleset'][:19]}")
    print(f"files scanned: {n}; sources: {len(per_src)}; files with a finding >= low: {nflag} ({100 * nflag / max(n, 1):.1f}%)")
    table("files by worst unsuppressed finding", [(s, worst.get(s, 0)) for s in ["none"] + SEV], ["worst severity", "files"])
    table("status", sorted(status.items()), ["status", "files"])
    table("verdict", sorted(verdict.items()), ["verdict", "files"])
    table("per source (flagged = worst finding >= low)",
          [(s, c["files"], c["flagged"], c["critical"], c["high"], c["medium"], c["low"], c["not complete"])
           for s, c in sorted(per_src.items())],
          ["source", "files", "flagged", "critical", "high", "medium", "low", "not complete"])
    fmt = collections.defaultdict(collections.Counter)
    origin = collections.defaultdict(collections.Counter)
    for w, f, _ in flagged:
        fmt[f["format"]]["flagged"] += 1
    for f in files:
        fmt[f["format"]]["files"] += 1
        fmt[f["format"]][f["status"]] += 1
        o = source(f["path"]).split("/")[0]
        origin[o]["files"] += 1
    for w, f, _ in flagged:
        origin[source(f["path"]).split("/")[0]]["flagged"] += 1
    table("per origin", [(o, c["files"], c["flagged"], f"{100 * c['flagged'] / max(c['files'], 1):.1f}%")
                         for o, c in sorted(origin.items())], ["origin", "files", "flagged", "share"])
    table("per detected format", [(k, c["files"], c["flagged"], c["complete"], c["incomplete"], c["error"])
                                  for k, c in sorted(fmt.items(), key=lambda t: -t[1]["files"])],
          ["format", "files", "flagged", "complete", "incomplete", "error"])
    table("files per rule (findings >= low)", rules.most_common(), ["rule", "files"])
    table(f"top {a.top} causes (rule, severity, name) of findings >= low, by files",
          [(rule, sev, f"`{name}`" if md else name, len(cause_files[(rule, sev, name)]), k)
           for (rule, sev, name), k in sorted(causes.items(), key=lambda t: (-len(cause_files[t[0]]), -t[1], t[0]))[:a.top]],
          ["rule", "severity", "name", "files", "findings"])
    # Examples: the worst file of each source first (for variety), then more causes.
    print(f"\n{'### ' if md else '== '}{a.examples} example files")
    picked, used, paths = [], set(), set()
    ordered = sorted(flagged, key=lambda t: (-t[0], t[1]["path"]))
    for keyfn in (lambda f, top: source(f["path"]), lambda f, top: (source(f["path"]), cause(top[0]))):
        for w, f, live in ordered:
            if len(picked) >= a.examples:
                break
            top = [x for x in live if RANK[x["severity"]] >= RANK["low"]]
            key = keyfn(f, top)
            if key in used or f["path"] in paths:
                continue
            used.add(key)
            paths.add(f["path"])
            picked.append((f, top))
    for f, top in picked:
        print(f"\n{'- `' if md else '* '}{f['path']}{'`' if md else ''} ({f['format']}, {f['status']}, {f['verdict']})")
        for x in top[:4]:
            ev = (x.get("evidence") or "")[:160]
            print(f"  {'- ' if md else ''}{x['rule']} {x['severity']}: {x['message'][:200]}" + (f" — evidence: `{ev}`" if ev else ""))
        if len(top) > 4:
            print(f"  {'- ' if md else ''}… {len(top) - 4} more")
    if a.compare:
        compare(a.compare, r, md)


def worst_of(f: dict) -> int:
    return max((RANK[x["severity"]] for x in f["findings"] if not x.get("suppressed")), default=-1)


def compare(old_path: str, new: dict, md: bool) -> None:
    old = {f["path"]: f for f in json.load(open(old_path))["files"]}
    cur = {f["path"]: f for f in new["files"]}
    name = lambda w: SEV[w] if w >= 0 else "none"  # noqa: E731
    before = collections.Counter(name(worst_of(f)) for f in old.values())
    after = collections.Counter(name(worst_of(f)) for f in cur.values())
    print(f"\n{'### ' if md else '== '}compared with {old_path}")
    print(f"  files: {len(old)} before, {len(cur)} now, {len(old.keys() & cur.keys())} in both")
    for s in ["none"] + SEV:
        print(f"  {s:>8}: {before.get(s, 0):>6} -> {after.get(s, 0):>6}")
    worse, better = [], []
    for p in sorted(old.keys() & cur.keys()):
        wo, wn = worst_of(old[p]), worst_of(cur[p])
        if wn > wo and wn >= RANK["low"]:
            worse.append((p, name(wo), name(wn)))
        elif wn < wo and wo >= RANK["low"]:
            better.append((p, name(wo), name(wn)))
    print(f"  better: {len(better)} files; worse: {len(worse)} files")
    for p, o, n in worse[:20]:
        print(f"    worse: {p}: {o} -> {n}")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
