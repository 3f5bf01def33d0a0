"""Rebuild the extraction corpus's HTML pages from the public repositories named in its index.

    .venv/bin/python bench/extract_corpus/fetch.py [--out /work/extract_corpus]

Each row of `index.tsv` names a repository, a commit and a path; the page is read from a
local git mirror of that repository when one exists (`--mirrors`, one `owner+name/repo`
bare repository each), else from a blob-less clone made under `<out>/git/`. The pages are
written to `<out>/html/<page id>.html` (gzip-compressed test files are unpacked). Nothing
here is committed: the pages keep their own licences, named in the index.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
INDEX = HERE / "index.tsv"
GOLD = HERE / "gold.jsonl"
DEFAULT_OUT = Path("/work/extract_corpus")
DEFAULT_MIRRORS = Path("/work/.mirror")


class Repo:
    """Read-only access to one repository's blobs at given commits."""

    def __init__(self, name: str, mirrors: Path, out: Path) -> None:
        self.name = name
        mirror = mirrors / name.replace("/", "+") / "repo"
        if mirror.is_dir():
            self.git_dir = mirror
        else:
            self.git_dir = out / "git" / name.replace("/", "+")
            if not self.git_dir.is_dir():
                self.git_dir.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(
                    ["git", "clone", "--bare", "--filter=blob:none",
                     f"https://github.com/{name}.git", str(self.git_dir)],
                    check=True,
                )  # fmt: skip

    def git(self, *args: str) -> bytes:
        return subprocess.run(
            ["git", "--git-dir", str(self.git_dir), *args], check=True, capture_output=True
        ).stdout

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").decode().strip()

    def ls(self, commit: str, under: str) -> list[str]:
        out = self.git("ls-tree", "-r", "--name-only", commit, "--", under)
        return out.decode("utf-8", "surrogateescape").splitlines()

    def read(self, commit: str, path: str) -> bytes:
        data = self.git("cat-file", "blob", f"{commit}:{path}")
        return gzip.decompress(data) if path.endswith(".gz") else data


def index_rows(index: Path = INDEX) -> Iterator[dict[str, str]]:
    """The index's rows (its header comment lines skipped)."""
    with index.open(encoding="utf-8") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        yield from csv.DictReader(lines, delimiter="\t")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    args = parser.parse_args(argv)
    html_dir = args.out / "html"
    html_dir.mkdir(parents=True, exist_ok=True)
    repos: dict[str, Repo] = {}
    written = 0
    for row in index_rows():
        target = html_dir / f"{row['page_id']}.html"
        if target.exists():
            continue
        repo = repos.get(row["repo"]) or repos.setdefault(
            row["repo"], Repo(row["repo"], args.mirrors, args.out)
        )
        target.write_bytes(repo.read(row["commit"], row["html_path"]))
        written += 1
    print(f"{written} pages written to {html_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
