#!/usr/bin/env python3
"""Select GNews candidates for labelling (keyword pre-filter only finds candidates; labels are by reading).
Pools: A = title names both countries / strong pair signal; B = both countries named in body only;
C = random articles. Stratified by year; seeded for reproducibility."""
import json, random, re, hashlib, collections
random.seed(20261203)
JP = re.compile(r'日本|日方|日媒|日相|岸田|安倍|菅义伟|菅義偉|石破|高市|东京|東京|自卫队|自衛隊|防卫省|外务省')
CN = re.compile(r'中国|中國|中共|北京|中方|习近平|習近平|王毅|秦刚|李强|李克强|解放军|海警')
STRONG = re.compile(r'中日|日中|钓鱼岛|釣魚島|釣魚台|钓鱼台|尖阁|尖閣|中日关系|日中関係')
arts = [json.loads(l) for l in open('raw/gnews.jsonl')]
seen_t, seen_h = set(), set(); uniq = []
for a in arts:
    if len(a['text']) < 150: continue
    nt = re.sub(r'\W', '', a['title'])[:40]
    h = hashlib.sha256(a['text'].encode()).hexdigest()
    if nt in seen_t or h in seen_h: continue
    seen_t.add(nt); seen_h.add(h); uniq.append(a)
A, B, C = collections.defaultdict(list), collections.defaultdict(list), collections.defaultdict(list)
for a in uniq:
    y = a['date'][:4]; t = a['title']; body = a['text']
    if (JP.search(t) and CN.search(t)) or STRONG.search(t):
        A[y].append(a)
    elif JP.search(body) and CN.search(body):
        B[y].append(a)
    else:
        C[y].append(a)
print({y: (len(A[y]), len(B[y]), len(C[y])) for y in sorted(A)})
def take(pool, quota):
    out = []
    for y, q in quota.items():
        xs = pool[y][:]; random.shuffle(xs); out += xs[:q]
    return out
selA = take(A, {'2021': 60, '2022': 80, '2023': 45, '2024': 55})
selB = take(B, {'2021': 30, '2022': 40, '2023': 30, '2024': 30})
selC = take(C, {'2021': 60, '2022': 80, '2023': 50, '2024': 60})
with open('work_zh_candidates.jsonl', 'w') as f:
    for pool, sel in (('A', selA), ('B', selB), ('C', selC)):
        for a in sel:
            a['pool'] = pool; f.write(json.dumps(a, ensure_ascii=False) + '\n')
print(len(selA), len(selB), len(selC))
