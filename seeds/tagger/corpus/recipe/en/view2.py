#!/usr/bin/env python3
"""Compact view: view2.py POOL START N  (same ordering as view.py)."""
import json, re, sys, hashlib, os
sys.path.insert(0, os.path.dirname(__file__))
from cands import CN, JP, STRONG
pool = sys.argv[1]; start = int(sys.argv[2]); n = int(sys.argv[3])
H = int(sys.argv[4]) if len(sys.argv) > 4 else 2
recs = [json.loads(l) for l in open(pool)]
def rid(r): return hashlib.sha1(r["url"].encode()).hexdigest()[:10]
scored = []
for r in recs:
    t = r["title"] + " " + r["text"]
    c, j, s = len(CN.findall(t)), len(JP.findall(t)), len(STRONG.findall(t))
    if c and j: scored.append((-(s > 0), -min(c, j), r["date"], r, c, j, s))
scored.sort(key=lambda x: x[:3])
ss = re.compile(r"(?<=[.!?\"”])\s+")
for k, (_, _, _, r, c, j, s) in enumerate(scored[start:start+n], start):
    sents = ss.split(r["text"])
    hits = [x for x in sents if (CN.search(x) and JP.search(x)) or STRONG.search(x)] or [x for x in sents if CN.search(x) or JP.search(x)]
    print(f"#{k} {rid(r)} {r['date'][:4]} c{c} j{j} s{s} | {r['title'][:110]}")
    print("  L:", r["text"][:220].replace("\n", " "))
    for h in hits[:H]: print("  >", h[:180].replace("\n", " "))
