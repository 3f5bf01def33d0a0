"""Near-duplicate linking rules: which earlier article a new one is a copy of.

Fingerprints are 64-bit simhashes. Two articles are near-duplicates when their
fingerprints differ in at most `MAX_DISTANCE` bits and their lengths are within
`MIN_LENGTH_RATIO` of each other. The warehouse stores each fingerprint as a
signed BIGINT plus four 16-bit bands. With at most 7 differing bits, at least one
of the four bands differs in at most one bit, so candidates come from a band equal
to the subject's band or to one of its 16 one-bit neighbours (`band_masks`).

Why 7: on 150-300-word stories the simhash moves 0-9 bits for a one-word correction
(70 % within 3, 96 % within 6) and 1-7 bits for an added editor's line, while across
2,983 real articles of many publishers (the tagger corpus) the closest two different
stories of similar length are 12 bits apart; the only pairs within 7 were re-posts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

MAX_DISTANCE = 7
MIN_LENGTH_RATIO = 0.8
BANDS = 4
BAND_BITS = 16

_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1


def to_signed(fingerprint: int | None) -> int | None:
    """A 64-bit fingerprint (unsigned or signed) as the signed value a BIGINT holds."""
    if fingerprint is None:
        return None
    if not -(1 << 63) <= fingerprint < _U64:
        raise ValueError(f"fingerprint {fingerprint} does not fit in 64 bits")
    return fingerprint - _U64 if fingerprint > _I64_MAX else fingerprint


def bands(fingerprint: int) -> tuple[int, ...]:
    """The four 16-bit bands of a fingerprint, lowest first (as stored in fp_band_0..3)."""
    unsigned = fingerprint % _U64
    mask = (1 << BAND_BITS) - 1
    return tuple((unsigned >> (BAND_BITS * i)) & mask for i in range(BANDS))


def distance(a: int, b: int) -> int:
    """Hamming distance between two 64-bit fingerprints."""
    return ((a ^ b) % _U64).bit_count()


MAX_SUPPORTED_DISTANCE = 2 * BANDS - 1
"""Band lookup with one-bit neighbours finds every pair up to this many differing bits."""


def check_distance(max_distance: int) -> int:
    """Band lookup finds every pair only up to MAX_SUPPORTED_DISTANCE differing bits."""
    if not 0 <= max_distance <= MAX_SUPPORTED_DISTANCE:
        raise ValueError(f"near-duplicate distance must be within 0..{MAX_SUPPORTED_DISTANCE}, "
                         f"got {max_distance}")
    return max_distance


def band_masks(max_distance: int) -> list[int]:
    """What a subject's band is xor'ed with to find every candidate within `max_distance`.

    Up to BANDS - 1 bits some band is equal (mask 0); up to 2 * BANDS - 1 some band differs
    in at most one bit, so its 16 one-bit neighbours are looked up too.
    """
    if max_distance < BANDS:
        return [0]
    return [0] + [1 << bit for bit in range(BAND_BITS)]


@dataclass(frozen=True, slots=True)
class Match:
    """An earlier stored article whose fingerprint is close to the subject's."""

    id: str
    candidate: str
    candidate_root: str | None
    candidate_seen_at: datetime
    distance: int


def similar_length(words: int, other: int) -> bool:
    """Lengths within MIN_LENGTH_RATIO of each other (as the SQL candidate filter)."""
    return min(words, other) >= MIN_LENGTH_RATIO * max(words, other)


def matches_within(
    subjects: Sequence[tuple[str, int, int, datetime]], max_distance: int
) -> list[Match]:
    """Near-duplicate pairs among articles loaded together: (id, fingerprint, words, seen_at).

    Of two articles seen at the same instant the one with the smaller id counts as earlier,
    as in the warehouse's candidate query.
    """
    found: list[Match] = []
    for sid, sfp, swords, sseen in subjects:
        for cid, cfp, cwords, cseen in subjects:
            earlier = cseen < sseen or (cseen == sseen and cid < sid)
            d = distance(sfp, cfp)
            if earlier and d <= max_distance and similar_length(swords, cwords):
                found.append(Match(sid, cid, None, cseen, d))
    return found


def resolve_roots(
    ids: Sequence[str], seen_at: Mapping[str, datetime], matches: Sequence[Match]
) -> dict[str, str]:
    """Map each subject that has a match to the root article of its story.

    The earliest-seen match wins (then the closest, then the smallest id). When that
    match is itself a subject (an earlier article of the same batch), its own root
    is used, so every copy points at the first article of the story.
    """
    subjects = set(ids)
    best: dict[str, Match] = {}
    for m in matches:
        current = best.get(m.id)
        key = (m.candidate_seen_at, m.distance, m.candidate)
        if current is None or key < (current.candidate_seen_at, current.distance,
                                     current.candidate):
            best[m.id] = m
    roots: dict[str, str] = {}
    for subject in sorted(subjects, key=lambda i: (i not in seen_at, seen_at.get(i), i)):
        chosen = best.get(subject)
        if chosen is None:
            continue
        if chosen.candidate in subjects:
            root_of_candidate = roots.get(chosen.candidate)
        else:
            root_of_candidate = chosen.candidate_root
        root = root_of_candidate or chosen.candidate
        if root != subject:
            roots[subject] = root
    return roots
