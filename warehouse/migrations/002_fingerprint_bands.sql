-- grain: one row per article (articles) and one row per source (sources); columns only.
-- near-duplicate lookup: the 64-bit simhash split into four 16-bit bands. two fingerprints
-- within hamming distance 3 agree on at least one whole band, so candidates are found by
-- band equality (hash joins on narrow integer columns) instead of comparing every article.
-- sources also keep the reason of their last failure, for source_health.

alter table articles add column fp_band_0 integer;
alter table articles add column fp_band_1 integer;
alter table articles add column fp_band_2 integer;
alter table articles add column fp_band_3 integer;

update articles
set
    fp_band_0 = fingerprint & 65535,
    fp_band_1 = (fingerprint >> 16) & 65535,
    fp_band_2 = (fingerprint >> 32) & 65535,
    fp_band_3 = (fingerprint >> 48) & 65535
where fingerprint is not null;

alter table sources add column last_detail varchar;
