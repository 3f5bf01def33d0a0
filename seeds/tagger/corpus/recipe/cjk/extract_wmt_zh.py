#!/usr/bin/env python3
"""Chinese-origin news documents from WMT human-evaluation files (source side only).
 - WMT22: github.com/wmt-conference/wmt22-news-systems humaneval/DA+SQM/batches/batches.wmt22.zho-eng.{A,B}.json.zip
          (items carry documentID '<doc>#a-b', itemID = segment index, sourceText); news docs only
          (customer-support 'en_zh-TW_CLIENT', ecommerce_*, social_* are skipped).
 - WMT23: github.com/google/wmt-mqm-human-evaluation generalMT2023/zhen/sxs_mqm_generalMT2023_zhen.3ratingsPerSegment.tsv.tar.gz
          (columns doc, docSegId, source; docs named 'news_<source>.<n>:zh-en'; <v>..</v> error-span marks removed).
Documents may be partial (only the segments shown to raters)."""
import subprocess, json, re, io, zipfile, tarfile, csv, sys, collections
csv.field_size_limit(10**9)
def git(repo, *a):
    return subprocess.run(['git', '--git-dir=/work/.mirror/%s/repo' % repo] + list(a), capture_output=True).stdout
out = open('/work/corpus/cjk/raw/wmt_zh.jsonl', 'w'); n = 0
R = 'wmt-conference+wmt22-news-systems'; c22 = git(R, 'rev-parse', 'HEAD').decode().strip()
docs = collections.OrderedDict(); where = {}
for part in ('A', 'B'):
    p = 'humaneval/DA+SQM/batches/batches.wmt22.zho-eng.%s.json.zip' % part
    z = zipfile.ZipFile(io.BytesIO(git(R, 'show', 'HEAD:' + p)))
    for name in z.namelist():
        for b in json.loads(z.read(name)):
            for it in b['items']:
                base = it['documentID'].split('#')[0]
                if re.match(r'(en_zh|ecommerce_|social_)', base): continue
                if it['itemType'] != 'TGT': continue
                docs.setdefault(base, {})[int(it['itemID'])] = it['sourceText']; where.setdefault(base, p)
for base, segs in docs.items():
    out.write(json.dumps({'repo': 'wmt-conference/wmt22-news-systems', 'commit': c22, 'path': where[base], 'docid': base, 'year': 2022,
                          'segments': [segs[k] for k in sorted(segs)]}, ensure_ascii=False) + '\n'); n += 1
R = 'google+wmt-mqm-human-evaluation'; c23 = git(R, 'rev-parse', 'HEAD').decode().strip()
p = 'generalMT2023/zhen/sxs_mqm_generalMT2023_zhen.3ratingsPerSegment.tsv.tar.gz'
tf = tarfile.open(fileobj=io.BytesIO(git(R, 'show', 'HEAD:' + p)))
docs = collections.OrderedDict()
for m in tf.getmembers():
    f = io.TextIOWrapper(tf.extractfile(m), encoding='utf-8')
    for row in csv.DictReader(f, delimiter='\t', quoting=csv.QUOTE_NONE):
        d = row['doc']
        if not d.startswith('news_'): continue
        docs.setdefault(d, {})[int(row['docSegId'])] = re.sub(r'</?v>', '', row['source'])
for d, segs in docs.items():
    out.write(json.dumps({'repo': 'google/wmt-mqm-human-evaluation', 'commit': c23, 'path': p, 'docid': d, 'year': 2023,
                          'segments': [segs[k] for k in sorted(segs)]}, ensure_ascii=False) + '\n'); n += 1
print(n)
