#!/usr/bin/env python3
"""Extract distinct GNews (gnews.org, zh-hans) article reposts from the full git history of
github.com/ourhimalayas/txt.  Two layouts exist in history:
  content/gnews/<n>/README.md  rolling slots (2021-2022), each blob version = one article
  content/gnews/<id>.md        one file per article with a `M/D/YYYY h:mm AM UTC` stamp (2022-2024)
Output raw/gnews.jsonl: blob, commit, path, date (article stamp if present, else first commit date),
url, title, text (markdown stripped: images, link targets, [[zh:..]] wiki markup, emphasis)."""
import subprocess, json, re, sys, threading
from datetime import datetime
GIT = ['git', '--git-dir=/work/.mirror/ourhimalayas+txt/repo']
out = subprocess.run(GIT + ['log', '--all', '--raw', '--no-abbrev', '--format=C %H %cI', '--', 'content/gnews'],
                     capture_output=True, text=True).stdout
first = {}
cur = None
for line in out.splitlines():
    if line.startswith('C '):
        _, h, d = line.split(' ', 2); cur = (h, d[:10])
    elif line.startswith(':'):
        parts = line.split('\t'); meta = parts[0].split(); path = parts[-1]
        blob = meta[3]
        if not path.endswith('.md') or set(blob) == {'0'} or path == 'content/gnews/README.md':
            continue
        first[blob] = (cur[1], cur[0], path)   # newest-first log: ends at oldest appearance
print('blobs', len(first), file=sys.stderr)
blobs = list(first)
p = subprocess.Popen(GIT + ['cat-file', '--batch'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
inp = ('\n'.join(blobs) + '\n').encode()
threading.Thread(target=lambda: (p.stdin.write(inp), p.stdin.close())).start()
STAMP = re.compile(r'`\s*(\d{1,2})/(\d{1,2})/(\d{4}) \d{1,2}:\d{2} [AP]M UTC')
seen = set(); n = 0
with open('/work/corpus/cjk/raw/gnews.jsonl', 'w') as f:
    for b in blobs:
        hdr = p.stdout.readline().split()
        size = int(hdr[2]); data = p.stdout.read(size); p.stdout.read(1)
        t = data.decode('utf-8', 'replace')
        m = re.search(r'^## (.+)$', t, re.M)
        u = re.search(r'\[轉載自GNews\]\((https?://[^)]+)\)', t)
        if not m or not u:
            continue
        title = re.sub(r'\[\[zh:([^\]]*)\]\]', r'\1', m.group(1)).strip()
        st = STAMP.search(t[:u.end() + 5])
        d, c, path = first[b]
        if st:
            mo, da, yr = map(int, st.groups()); d = f'{yr:04d}-{mo:02d}-{da:02d}'
        body = t[u.end():]
        body = re.sub(r'\[\[zh:([^\]]*)\]\]', r'\1', body)
        body = re.sub(r'!\[[^\]]*\]\([^)]*\)', '', body)
        body = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', body)
        body = re.sub(r'[*`#]+', '', body)
        body = '\n'.join(l.strip() for l in body.splitlines() if l.strip())
        key = re.sub(r'.*/(\d+)/?$', r'\1', u.group(1))
        if key in seen:
            continue
        seen.add(key)
        f.write(json.dumps({'blob': b, 'commit': c, 'path': path, 'date': d, 'url': u.group(1), 'gnews_id': key,
                            'title': title, 'text': body}, ensure_ascii=False) + '\n')
        n += 1
print('articles', n, file=sys.stderr)
