#!/usr/bin/env python3
"""Assemble /work/corpus/en/articles.jsonl from pools + manual label files (own code)."""
import json, hashlib, os, sys, re
sys.path.insert(0, os.path.dirname(__file__))
from cands import CN, JP
BASE = "/work/corpus/en"
out = []
def sha(t): return hashlib.sha256(t.encode("utf-8")).hexdigest()
def rid(url): return hashlib.sha1(url.encode()).hexdigest()[:10]
def read_labels(path):
    L = {}
    for line in open(path):
        p = line.rstrip("\n").split("\t")
        if len(p) < 6 or not p[0]: continue
        L[p[0]] = dict(label=int(p[1]), topics=[t for t in p[2].split(",") if t], borderline=p[3] == "1", hn=p[4] == "1", reason=p[5])
    return L
# --- Guardian (letitbevi/your-next-city) ---
G = {rid(r["url"]): r for r in map(json.loads, open(f"{BASE}/pool/guardian.jsonl"))}
gl = read_labels(f"{BASE}/labels_guardian.tsv")
for k in open(f"{BASE}/labels_guardian_ordneg.ids").read().split():
    if k not in gl:
        gl[k] = dict(label=0, topics=[], borderline=False, hn=False, reason="Ordinary negative: names at most one of China/Japan; unrelated story (title glance)")
for k, lab in gl.items():
    r = G[k]
    out.append({"id": f"guardian-{k}", "publisher": "The Guardian", "collection": r["collection"], "url": r["url"],
                "date": r["date"], "language": "en", "licence": "unknown",
                "title": r["title"], "text": r["text"], "text_sha256": sha(r["text"]),
                "label": lab["label"], "topics": lab["topics"] if lab["label"] == 1 else [], "borderline": lab["borderline"],
                "hard_negative": bool(lab["label"] == 0 and lab["hn"]), "reason": lab["reason"]})
# --- extra pools (each pool line already carries metadata; labels in labels_<name>.tsv keyed by id) ---
for name in ["pages", "wikinews"]:
    pp, lp = f"{BASE}/pool/{name}.jsonl", f"{BASE}/labels_{name}.tsv"
    if not (os.path.exists(pp) and os.path.exists(lp)): continue
    P = {r["id"]: r for r in map(json.loads, open(pp))}
    for k, lab in read_labels(lp).items():
        r = dict(P[k])
        r.update({"text_sha256": sha(r["text"]), "label": lab["label"], "topics": lab["topics"] if lab["label"] == 1 else [],
                  "borderline": lab["borderline"], "hard_negative": bool(lab["label"] == 0 and lab["hn"]), "reason": lab["reason"]})
        out.append(r)
# dedupe by id and by text hash / normalised title
seen, seen_h, final = set(), set(), []
for r in out:
    h = r["text_sha256"]
    if r["id"] in seen or h in seen_h: continue
    seen.add(r["id"]); seen_h.add(h); final.append(r)
KEYS = ["id","publisher","collection","url","date","language","licence","title","text","text_sha256","label","topics","borderline","hard_negative","reason"]
with open(f"{BASE}/articles.jsonl.tmp", "w") as f:
    for r in final:
        f.write(json.dumps({k: r.get(k) for k in KEYS} | ({"text_is_excerpt": True} if r.get("text_is_excerpt") else {}) | ({"date_note": r["date_note"]} if r.get("date_note") else {}), ensure_ascii=False) + "\n")
os.replace(f"{BASE}/articles.jsonl.tmp", f"{BASE}/articles.jsonl")
from collections import Counter
print("total", len(final), "relevant", sum(r["label"] for r in final), "hard_neg", sum(r["hard_negative"] for r in final),
      "borderline", sum(r["borderline"] for r in final))
print("publishers", Counter(r["publisher"] for r in final).most_common())
print("years", sorted(Counter(r["date"][:4] for r in final).items()))
