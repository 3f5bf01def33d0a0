#!/usr/bin/env python3
"""Keyword pre-filter (only to FIND candidates; labels come from reading)."""
import json, re, sys
CN = re.compile(r"\b(China|Chinese|Beijing|Peking|PRC|Xi Jinping|Hu Jintao|Wen Jiabao|Li Keqiang)\b")
JP = re.compile(r"\b(Japan|Japanese|Tokyo|Abe|Noda|Fukuda|Koizumi|Hatoyama|Kan|Kishida|Suga|Ishiba|Takaichi)\b")
STRONG = re.compile(r"Senkaku|Diaoyu|Yasukuni|Nanjing massacre|Nanking|East China Sea|Sino-Japanese|Japan-China|China-Japan|Chinese-Japanese|Japanese-Chinese|Sino-Japan|anti-Japanese|anti-Chinese", re.I)
def feats(t):
    return len(CN.findall(t)), len(JP.findall(t)), len(STRONG.findall(t))
if __name__ == "__main__":
    src = sys.argv[1]
    n = 0; both = 0; strong = 0
    for line in open(src):
        r = json.loads(line); n += 1
        c, j, s = feats(r["title"] + " " + r["text"])
        if c and j: both += 1
        if s: strong += 1
    print(src, n, "both:", both, "strong:", strong)
