#!/usr/bin/env python3
"""Print compact reading views (title, lead, sentences naming Japan/China) for labelling."""
import json, re, sys
fn, pool, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
JP = re.compile(r'日本|日方|日媒|岸田|安倍|菅义伟|东京|東京|自卫队|尖阁|钓鱼岛|日中|中日')
rows = [json.loads(l) for l in open(fn)]
rows = [r for r in rows if r['pool'] == pool][start:end]
for r in rows:
    t = r['text']
    sents = re.split(r'(?<=[。！？\n])', t)
    hits = [s.strip() for s in sents if JP.search(s)]
    lead = t[:150].replace('\n', ' ')
    print(f"## {r['gnews_id']} {r['date']} | {r['title']}")
    print(f"   L: {lead}")
    for s in hits[:3]:
        if s[:60] in lead: continue
        print(f"   J: {s[:130]}")
    print(f"   (nJ={len(hits)}, len={len(t)})")
