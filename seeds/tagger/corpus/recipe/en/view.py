#!/usr/bin/env python3
"""Print compact reading views of candidate articles for manual labelling.
usage: view.py POOL START N [--order strong|both]  (order file cached in pool dir)"""
import json, re, sys, hashlib, os
sys.path.insert(0, os.path.dirname(__file__))
from cands import CN, JP, STRONG
pool = sys.argv[1]; start = int(sys.argv[2]); n = int(sys.argv[3])
recs = [json.loads(l) for l in open(pool)]
def rid(r): return hashlib.sha1(r["url"].encode()).hexdigest()[:10]
scored = []
for r in recs:
    t = r["title"] + " " + r["text"]
    c, j, s = len(CN.findall(t)), len(JP.findall(t)), len(STRONG.findall(t))
    if c and j:
        scored.append((-(s > 0), -min(c, j), r["date"], r, c, j, s))
scored.sort(key=lambda x: x[:3])
sent_split = re.compile(r"(?<=[.!?\"”])\s+")
for k, (_, _, _, r, c, j, s) in enumerate(scored[start:start+n], start):
    text = r["text"]
    sents = sent_split.split(text)
    hits = [x for x in sents if (CN.search(x) and JP.search(x)) or STRONG.search(x)]
    if not hits: hits = [x for x in sents if CN.search(x) or JP.search(x)]
    lead = text[:350].replace("\n", " ")
    print(f"## {k} {rid(r)} {r['date']} cn={c} jp={j} s={s} len={len(text)}")
    print(f"T: {r['title']}")
    print(f"L: {lead}")
    for h in hits[:3]:
        print("  >", h[:260].replace("\n", " "))
print("TOTAL", len(scored))
