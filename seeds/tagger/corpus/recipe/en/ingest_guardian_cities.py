#!/usr/bin/env python3
"""Extract Guardian Open Platform articles from the letitbevi/your-next-city snapshot
into a pool JSONL (one record per unique webUrl). Own code; reads git objects only."""
import json, subprocess, sys, html, hashlib, re
GIT = "/work/.mirror/letitbevi+your-next-city/repo"
OUT = "/work/corpus/en/pool/guardian.jsonl"
def git(*a):
    return subprocess.run(["git", "--git-dir", GIT, *a], capture_output=True, check=True).stdout
commit = git("rev-parse", "HEAD").decode().strip()
files = [l.split("\t") for l in git("ls-tree", "-r", "-l", "HEAD").decode().splitlines()]
seen = {}
for meta, path in files:
    if "/data/" not in path or not path.endswith(".json"): continue
    if meta.split()[3] == "-" or "BAD" in meta: continue
    try:
        d = json.loads(git("show", f"HEAD:{path}"))
    except Exception as e:
        print("skip", path, e, file=sys.stderr); continue
    for r in d.get("results", []):
        url = r.get("webUrl")
        if not url or url in seen: continue
        text = html.unescape(r.get("article") or "").strip()
        text = re.sub(r"[ \t]+", " ", text)
        if len(text) < 200: continue
        seen[url] = {"url": url, "title": html.unescape(r.get("title", "")), "date": (r.get("publicationDate") or "")[:10],
                     "tags": r.get("tags", []), "text": text, "collection": f"github:letitbevi/your-next-city@{commit}:{path}"}
with open(OUT, "w") as f:
    for v in seen.values(): f.write(json.dumps(v, ensure_ascii=False) + "\n")
print(len(seen), "articles; commit", commit)
