#!/usr/bin/env python3
"""Japanese-origin *news* documents from WMT general/news test sets (source side only).
 - wmt21: github.com/wmt-conference/wmt21-news-systems  xml/newstest2021.ja-en.all.xml (origlang=ja)
 - wmt22: github.com/wmt-conference/wmt22-news-systems  xml/wmttest2022.ja-en.all.xml (domain=news)
 - wmt24: github.com/wmt-conference/wmt24-news-systems  txt/sources/ja-zh.txt + txt/documents/ja-zh.docs
          + txt/metadata/ja-zh.jsonl (domain=news)
Text = source segments joined with newlines (first segment is usually the headline)."""
import subprocess, json, re, xml.etree.ElementTree as ET
M = '/work/.mirror/wmt-conference+{}-news-systems/repo'
def show(repo, path):
    return subprocess.run(['git', '--git-dir=' + M.format(repo), 'show', 'HEAD:' + path], capture_output=True).stdout
def commit(repo):
    return subprocess.run(['git', '--git-dir=' + M.format(repo), 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
out = open('/work/corpus/cjk/raw/wmt_ja.jsonl', 'w')
n = 0
for repo, path, year in [('wmt21', 'xml/newstest2021.ja-en.all.xml', 2021), ('wmt22', 'xml/wmttest2022.ja-en.all.xml', 2022)]:
    root = ET.fromstring(show(repo, path))
    for doc in root.iter('doc'):
        if doc.get('origlang') != 'ja' or doc.get('domain') not in (None, 'news'):
            continue
        segs = [s.text or '' for s in doc.find('src').iter('seg')]
        out.write(json.dumps({'repo': 'wmt-conference/%s-news-systems' % repo, 'commit': commit(repo), 'path': path,
                              'docid': doc.get('id'), 'year': year, 'segments': segs}, ensure_ascii=False) + '\n'); n += 1
repo = 'wmt24'
src = show(repo, 'txt/sources/ja-zh.txt').decode().split('\n')
docs = show(repo, 'txt/documents/ja-zh.docs').decode().split('\n')
meta = [json.loads(l) for l in show(repo, 'txt/metadata/ja-zh.jsonl').decode().splitlines()]
from collections import OrderedDict
agg = OrderedDict()
for s, d, m in zip(src, docs, meta):
    if m.get('domain') != 'news':
        continue
    agg.setdefault(m['docid'], []).append(s)
for did, segs in agg.items():
    out.write(json.dumps({'repo': 'wmt-conference/wmt24-news-systems', 'commit': commit(repo), 'path': 'txt/sources/ja-zh.txt',
                          'docid': did, 'year': 2024, 'segments': segs}, ensure_ascii=False) + '\n'); n += 1
print(n)
