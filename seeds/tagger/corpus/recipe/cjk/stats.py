#!/usr/bin/env python3
"""Print corpus statistics (per language / publisher / year / collection / licence) as Markdown."""
import json, collections
A = [json.loads(l) for l in open('/work/corpus/cjk/articles.jsonl')]
print('| language | total | relevant | hard negatives | borderline |\n|---|---|---|---|---|')
for lang in ('ja', 'zh'):
    L = [o for o in A if o['language'] == lang]
    print('| %s | %d | %d | %d | %d |' % (lang, len(L), sum(o['label'] for o in L), sum(o['hard_negative'] for o in L), sum(o['borderline'] for o in L)))
for lang in ('ja', 'zh'):
    L = [o for o in A if o['language'] == lang]
    print('\n### %s by year (total / relevant)\n' % lang)
    y = collections.defaultdict(lambda: [0, 0])
    for o in L: y[o['date'][:4]][0] += 1; y[o['date'][:4]][1] += o['label']
    print(', '.join('%s: %d/%d' % (k, v[0], v[1]) for k, v in sorted(y.items())))
    print('\n### %s by publisher (total / relevant / hard-neg)\n' % lang)
    p = collections.defaultdict(lambda: [0, 0, 0])
    for o in L: p[o['publisher']][0] += 1; p[o['publisher']][1] += o['label']; p[o['publisher']][2] += o['hard_negative']
    for k, v in sorted(p.items(), key=lambda kv: -kv[1][0]): print('- %s: %d / %d / %d' % (k, *v))
    print('\n### %s by collection\n' % lang)
    c = collections.Counter(o['collection'].split(' @')[0].split(' (')[0] for o in L)
    for k, v in c.most_common(): print('- %s: %d' % (k, v))
    print('\n### %s by licence\n' % lang)
    c = collections.Counter(o['licence'] for o in L)
    for k, v in c.most_common(): print('- %s: %d' % (k, v))
