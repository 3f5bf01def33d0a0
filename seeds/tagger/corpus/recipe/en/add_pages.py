#!/usr/bin/env python3
"""Append manually transcribed stored-page excerpts (from the 'pages' search corpus) to pool/pages.jsonl
and their labels to labels_pages.tsv. Input: JSON list on stdin with keys
url, publisher, date, title, text, label, topics, borderline, hn, reason. Text must be a verbatim prefix of the stored excerpt."""
import json, sys, hashlib, os
BASE = "/work/corpus/en"
items = json.load(sys.stdin)
have = set()
if os.path.exists(f"{BASE}/pool/pages.jsonl"):
    have = {json.loads(l)["url"] for l in open(f"{BASE}/pool/pages.jsonl")}
n = 0
with open(f"{BASE}/pool/pages.jsonl", "a") as P, open(f"{BASE}/labels_pages.tsv", "a") as L:
    for it in items:
        if it["url"] in have: continue
        pid = "pages-" + hashlib.sha1(it["url"].encode()).hexdigest()[:10]
        lic = it.get("licence") or ("CC-BY-2.5" if "wikinews.org" in it["url"] else ("public-domain" if "voanews.com" in it["url"] else "unknown"))
        rec = {"id": pid, "publisher": it["publisher"], "collection": "search-tool 'pages' corpus (stored public web page excerpt)",
               "url": it["url"], "date": it["date"], "language": "en", "licence": lic, "title": it["title"], "text": it["text"].strip(),
               "text_is_excerpt": True}
        if it.get("date_note"): rec["date_note"] = it["date_note"]
        P.write(json.dumps(rec, ensure_ascii=False) + "\n")
        L.write("\t".join([pid, str(it["label"]), ",".join(it.get("topics", [])), "1" if it.get("borderline") else "0",
                           "1" if it.get("hn") else "0", it["reason"]]) + "\n")
        have.add(it["url"]); n += 1
print("added", n, "total", len(have))
