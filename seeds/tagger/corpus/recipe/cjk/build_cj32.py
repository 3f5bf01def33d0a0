#!/usr/bin/env python3
"""cj-3.2: articles.cj-3.2.jsonl = articles.cj-3.1.jsonl (unchanged) + the Japanese stored-page leads in raw32/*.py.
Each raw32 item: url, publisher, date, date_precision, label, topics (letters), borderline, hn (hard negative,
set by hand: label 0 and both countries named as countries, or a look-alike trap), reason, text.
Items whose URL or text hash is already in cj-3.1 are dropped (reported)."""
import glob, hashlib, json, re, runpy, sys
TOP = dict(D='diplomacy', T='trade_economy', S='security_military', R='territorial', H='history',
           X='technology_export_controls', P='people_tourism')
RESERVED = re.compile(r'livedoor\.com|wikinews|reuters\.com|bbc\.|cnn\.com|todaii|nhk\.or\.jp/news/easy|thucnews|sogou|hkcnews|cctv', re.I)
sha = lambda t: hashlib.sha256(t.encode('utf-8')).hexdigest()
base = [json.loads(l) for l in open('articles.cj-3.1.jsonl')]
urls = {b['url'] for b in base}; hashes = {b['text_sha256'] for b in base}
out, dropped = [], []
for fn in sorted(glob.glob('raw32/pages_ja_*.py')):
    for it in runpy.run_path(fn)['ITEMS']:
        text = it['text'].strip(); h = sha(text)
        if RESERVED.search(it['url']) or RESERVED.search(it['publisher']):
            sys.exit('reserved source: ' + it['url'])
        if it['url'] in urls or h in hashes:
            dropped.append(it['url']); continue
        urls.add(it['url']); hashes.add(h)
        label = int(it['label'])
        title = text.split('\n')[0][:120]
        out.append(dict(id='pages-ja-' + hashlib.sha256(it['url'].encode()).hexdigest()[:12], publisher=it['publisher'],
            collection='search tool stored-pages corpus (cj-3.2 batch %s); text = lead of the page opening as stored, transcribed verbatim, cut at a sentence end' % fn.split('/')[-1],
            url=it['url'], date=it['date'], date_precision=it['date_precision'], language='ja',
            licence=('Japanese Government Standard Terms of Use 政府標準利用規約 2.0 (compatible with CC BY 4.0; attribution to the ministry/office required)'
                     if 'mofa.go.jp' in it['url'] else
                     'PRC state-organ official text (official documents are excluded from protection by PRC Copyright Law Art. 5; verify before committing text)'
                     if 'china-embassy' in it['url'] else
                     'unknown (publisher copyright) - refs+hash+derived features only; do not commit text'),
            text_completeness='excerpt (lead of the page opening as stored by the search tool)', text_is_excerpt=True,
            title=title, text=text, text_sha256=h, label=label,
            topics=[TOP[c] for c in it['topics'] if c in TOP] if label == 1 else [], borderline=bool(it['borderline']),
            hard_negative=bool(it['hn']) and label == 0, reason=it['reason']))
with open('articles.cj-3.2.jsonl', 'w') as f:
    for o in base + out: f.write(json.dumps(o, ensure_ascii=False) + '\n')
print('base', len(base), 'added', len(out), 'dropped as already present', len(dropped), dropped)
import collections
print('added: relevant', sum(o['label'] for o in out), 'hard neg', sum(o['hard_negative'] for o in out),
      'borderline', sum(o['borderline'] for o in out), 'publishers', len({o['publisher'] for o in out}),
      'years', sorted(collections.Counter(o['date'][:4] for o in out).items()))
