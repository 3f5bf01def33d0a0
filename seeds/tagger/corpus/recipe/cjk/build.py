#!/usr/bin/env python3
"""Assemble articles.jsonl from raw extracts + manual labels (labels/*.tsv; later lines override earlier).
Label TSV columns: id, label(0/1/DROP), topic letters, borderline(1/blank), reason.
Topic letters: D diplomacy, T trade_economy, S security_military, R territorial, H history,
X technology_export_controls, P people_tourism.
hard_negative is computed: label 0 and both countries named as countries in the text (after removing
contributor-group names and virus epithets), or a pair token (中日/日中) / Chūgoku-region trap present."""
import json, re, glob, hashlib, collections, subprocess
TOP = dict(D='diplomacy', T='trade_economy', S='security_military', R='territorial', H='history',
           X='technology_export_controls', P='people_tourism')
labels = {}
for fn in sorted(glob.glob('labels/*.tsv')):
    for line in open(fn):
        p = line.rstrip('\n').split('\t')
        if len(p) < 5: p += [''] * (5 - len(p))
        labels[p[0]] = p[1:5]
NOISE = re.compile(r'东京樱花团|東京櫻花団|東京桜花団|ヒマラヤ東京櫻花団|东京樱花农场|日本东京方舟农场|日本方舟农场|日本银河系农场|喜马拉雅日本|银河系农场|'
                   r'中共病毒|中共ウイルス|CCP病毒|中日财经爆|中日財經爆|樱花FM|さくらFM|日本東京|日本东京')
JP = re.compile(r'日本|日方|日媒|日相|岸田|安倍|菅义伟|菅義偉|石破|高市|自卫队|自衛隊|防卫省|防衛省|外务省')
CN = re.compile(r'中国|中國|中共|北京|中方|习近平|習近平|王毅|秦刚|李强|解放军|人民解放軍|海警')
PAIR = re.compile(r'中日|日中')
def sha(t): return hashlib.sha256(t.encode('utf-8')).hexdigest()
def gitc(repo): return subprocess.run(['git', '--git-dir=/work/.mirror/%s/repo' % repo, 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
GN_COMMIT = gitc('ourhimalayas+txt')
def publisher_gnews(title, text):
    lead = text[:120]
    if re.search(r'三立新[闻聞]网', title): return 'SETN 三立新聞網 (reposted by GNews)'
    if lead.startswith('【共同社'): return 'Kyodo News Chinese 共同社 (reposted by GNews)'
    if '【大纪元' in lead: return 'The Epoch Times 大纪元 (reposted by GNews)'
    if re.search(r'〔即时新闻／综合报导〕|〔编译[^〕]*／综合报导〕', lead): return 'Liberty Times 自由时报 (reposted by GNews)'
    if 'BBC中文' in lead: return 'BBC News Chinese BBC中文 (reposted by GNews)'
    if '（德国之声中文网）' in lead: return 'Deutsche Welle Chinese 德国之声 (reposted by GNews)'
    if '【Now新闻台】' in lead: return 'Now News 今日新闻 (reposted by GNews)'
    if '即時中心／' in lead: return 'SETN 三立新聞網 (reposted by GNews)'
    if '〔财经频道／综合报导〕' in lead: return 'Liberty Times 自由时报 (reposted by GNews)'
    return 'GNews (gnews.org)'
def hardneg(label, title, text, reason):
    if label != 0: return False
    t = NOISE.sub('', title + '\n' + text)
    if JP.search(t) and CN.search(t): return True
    if PAIR.search(title) or PAIR.search(text[:400]): return True
    if re.search(r'Chūgoku|Chunichi|during the day|中日 is the team', reason): return True
    return False
out = []
seen_hash = set()
# GNews (zh + ja)
cand = {json.loads(l)['gnews_id']: json.loads(l) for l in open('raw/gnews.jsonl')}
for gid, lab in labels.items():
    if gid not in cand: continue
    a = cand[gid]
    if lab[0] == 'DROP': continue
    text = a['text']; h = sha(text)
    if h in seen_hash: continue
    seen_hash.add(h)
    kana = len(re.findall(r'[\u3040-\u30ff]', text))
    lang = 'ja' if kana > 0.15 * len(text) else 'zh'
    label = int(lab[0]); topics = [TOP[c] for c in lab[1] if c in TOP] if label == 1 else []
    out.append(dict(id='gnews-' + gid, publisher=publisher_gnews(a['title'], text),
        collection='github.com/ourhimalayas/txt (git history, HEAD %s) %s @ commit %s' % (GN_COMMIT[:12], a['path'], a['commit'][:12]),
        url=a['url'], date=a['date'], language=lang,
        licence='unknown (gnews.org/original outlet copyright; source repo has no licence file) - commit refs+hash only',
        title=a['title'], text=text, text_sha256=h, label=label, topics=topics,
        borderline=lab[2] == '1', hard_negative=hardneg(label, a['title'], text, lab[3]), reason=lab[3]))
# WMT Japanese news docs
PUB = {'yahoo': 'Yahoo! News Japan (aggregated outlets)', 'shizuoka_shimbun': 'Shizuoka Shimbun', 'hokkaido_shimbun': 'Hokkaido Shimbun',
       'sanyo_shimbun': 'Sanyo Shimbun', 'iwate_nippo': 'Iwate Nippo', 'saga_shimbun': 'Saga Shimbun', 'yamagata_shimbun': 'Yamagata Shimbun',
       'ube_nippo_shimbun': 'Ube Nippo Shimbun', 'yaeyama_mainichi_shimbun': 'Yaeyama Mainichi Shimbun', 'fukui_shimbun': 'Fukui Shimbun',
       'bangkok_shuho': 'Bangkok Shuho', 'chubu_keizai_shimbun': 'Chubu Keizai Shimbun', 'iwate_nichinichi_shimbun': 'Iwate Nichinichi Shimbun',
       'nankai_nichinichi_shimbun': 'Nankai Nichinichi Shimbun', 'you_maga': 'You Maga', 'ise_shimbun': 'Ise Shimbun',
       'iwaki_minpo': 'Iwaki Minpo', 'tokachi_mainichi_shimbun': 'Tokachi Mainichi Shimbun'}
def pub_wmt(key):
    if key.startswith('bbc-japanese'): return 'BBC News Japan BBCニュース日本語'
    return PUB.get(key, key)
for l in open('raw/wmt_ja.jsonl'):
    d = json.loads(l); did = d['docid']
    key = re.sub(r'^test-ja-news_', '', did).split('-ja.')[0]
    lab = labels.get(did, ['0', '', '', 'Japanese local/general news not about China-Japan relations'])
    if lab[0] == 'DROP': continue
    text = '\n'.join(d['segments']); h = sha(text)
    if h in seen_hash: continue
    seen_hash.add(h)
    label = int(lab[0])
    out.append(dict(id='wmt%d-%s' % (d['year'] % 100, did), publisher=pub_wmt(key),
        collection='github.com/%s @ %s : %s' % (d['repo'], d['commit'][:12], d['path']),
        url='wmt-docid:' + did, date='%d-01-01' % d['year'], date_precision='year (WMT %d test-set collection year; exact date not in source)' % d['year'],
        language='ja', licence='unknown (WMT general-MT test set, research use; original publisher copyright) - commit refs+hash only',
        title=d['segments'][0], text=text, text_sha256=h, label=label,
        topics=[TOP[c] for c in lab[1] if c in TOP] if label == 1 else [], borderline=lab[2] == '1',
        hard_negative=hardneg(label, d['segments'][0], text, lab[3]), reason=lab[3]))
# Chinese-origin news docs from WMT human-evaluation files (raw/wmt_zh.jsonl)
ZPUB = [('hunan_ribao', 'Hunan Daily 湖南日报 (华声在线)'), ('xinhua', 'Xinhua News Agency 新华网'), ('voa-voachinese', 'Voice of America Chinese 美国之音'),
        ('nhan_dan', 'Nhan Dan (Vietnam) Chinese edition 人民报'), ('international_times', 'International Times 国际时报 (Sabah)'),
        ('chinese.macao', 'Macao SAR Government Information Bureau 澳门新闻局'), ('chinanews', 'China News Service 中新网'),
        ('chinese.dw.com', 'Deutsche Welle Chinese 德国之声'), ('rfi-chinese', 'Radio France Internationale Chinese 法广'),
        ('vietnam_plus', 'Vietnam Plus (VNA) Chinese 越通社'), ('jingji_guancha_bao', 'Economic Observer 经济观察报')]
for l in open('raw/wmt_zh.jsonl'):
    d = json.loads(l); did = d['docid']
    lab = labels.get(did, ['0', '', '', 'Chinese-language general news, no China-Japan relationship (title/lead checked)'])
    if lab[0] == 'DROP': continue
    text = '\n'.join(d['segments']); h = sha(text)
    if h in seen_hash: continue
    seen_hash.add(h)
    label = int(lab[0]); pub = next((v for k, v in ZPUB if k in did), did)
    voa = 'voa' in did
    dt, prec = (('2021-12-01', 'month (approx: WMT22 zh-en news test data, datelines in texts are Dec 2021)') if d['year'] == 2022
                else ('2023-02-01', 'month (approx: WMT23 zh-en news test data, datelines in texts are Feb 2023)'))
    out.append(dict(id='wmt%dzh-%s' % (d['year'] % 100, re.sub(r':zh-en$', '', did)), publisher=pub,
        collection='github.com/%s @ %s : %s' % (d['repo'], d['commit'][:12], d['path']),
        url='wmt-docid:' + did, date=dt, date_precision=prec, language='zh',
        licence=('public domain (US government work, VOA) - text in WMT human-eval file' if voa else
                 'unknown (WMT test data, research use; original publisher copyright) - commit refs+hash only'),
        text_completeness='segments shown to raters (may be partial document)',
        title=d['segments'][0], text=text, text_sha256=h, label=label,
        topics=[TOP[c] for c in lab[1] if c in TOP] if label == 1 else [], borderline=lab[2] == '1',
        hard_negative=hardneg(label, d['segments'][0], text, lab[3]), reason=lab[3]))
# Japanese items transcribed from the search tool's stored-pages corpus (raw/pages_ja_batch*.py)
import runpy
CHROME = {'外務省・新着情報', '中華人民共和国', '報道発表', 'インド', '記者会見', '冒頭発言', 'ASEAN(東南アジア諸国連合)', 'G7', '大韓民国',
          'オーストラリア連邦', '東アジア首脳会議(EAS)', 'メインメニューをとばして、このページの本文エリアへ', 'ホームページ'}
def pick_title(text):
    for ln in text.split('\n'):
        ln = ln.strip()
        if not ln or ln in CHROME or re.match(r'^(令和|平成)\S*年\S*月\S*日$|^\d{4}[-/]\d{1,2}[-/]\d{1,2}', ln) or ln.startswith('(写真提供'):
            continue
        return ln[:120]
    return text[:80]
GOV = re.compile(r'外務省|首相官邸|参議院|日本国大使館|日本国総領事館|MOFA overseas-safety')
for fn in sorted(glob.glob('raw/pages_ja_batch*.py')) + sorted(glob.glob('raw/pages_zh_*.py')):
    lang = 'zh' if '/pages_zh_' in fn else 'ja'
    for it in runpy.run_path(fn)['ITEMS']:
        # strip the search tool's own 'date YYYY-MM(-DD)' metadata prefix (not part of the article)
        text = re.sub(r'^\s*date \d{4}-\d{2}(-\d{2})?\s*', '', it['text']).strip(); h = sha(text)
        if h in seen_hash: continue
        seen_hash.add(h)
        label = int(it['label'])
        prc = bool(re.search(r'Embassy of the PRC|Consulate-General of the PRC', it['publisher']))
        gov = bool(GOV.search(it['publisher'])) and not prc; voa = 'Voice of America' in it['publisher']
        lic = ('Japanese Government Standard Terms of Use 政府標準利用規約 2.0 (compatible with CC BY 4.0; attribution to the ministry/office required)'
               if gov else 'PRC state-organ official text (official documents are excluded from protection by PRC Copyright Law Art. 5; verify before committing text)'
               if prc else 'public domain (US government work, Voice of America)' if voa else 'unknown (publisher copyright) - refs+hash+derived features only; do not commit text')
        title = it.get('title') or pick_title(text)
        out.append(dict(id='pages-%s-' % lang + hashlib.sha256(it['url'].encode()).hexdigest()[:12], publisher=it['publisher'],
            collection='search tool stored-pages corpus (%s); text = page opening as stored, transcribed verbatim' % fn.split('/')[-1],
            url=it['url'], date=it['date'], date_precision=it.get('date_precision', ''), language=lang, licence=lic,
            text_completeness='excerpt (page opening as stored by the search tool; may be truncated)',
            title=title, text=text, text_sha256=h, label=label,
            topics=[TOP[c] for c in it['topics'] if c in TOP] if label == 1 else [], borderline=bool(it['borderline']),
            hard_negative=bool(it['hn']) if 'hn' in it else hardneg(label, title, text, it['reason']), reason=it['reason']))
with open('articles.jsonl', 'w') as f:
    for o in out: f.write(json.dumps(o, ensure_ascii=False) + '\n')
c = collections.Counter((o['language'], o['label']) for o in out)
hn = collections.Counter(o['language'] for o in out if o['hard_negative'])
print(len(out), dict(c), dict(hn))
for lang in ('ja', 'zh'):
    L = [o for o in out if o['language'] == lang]
    print(lang, 'total', len(L), 'relevant', sum(o['label'] for o in L), 'HN', sum(o['hard_negative'] for o in L), 'borderline', sum(o['borderline'] for o in L))
    print('  years', sorted(collections.Counter(o['date'][:4] for o in L).items()))
    print('  publishers', collections.Counter(o['publisher'] for o in L).most_common())
