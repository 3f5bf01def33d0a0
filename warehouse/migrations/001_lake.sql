-- grain: one table per entity; see each table's own grain line.
-- the warehouse is a ducklake: parquet data files plus a catalog of snapshots. ducklake has
-- no keys, indexes or sequences: the single writer keeps every key unique (it checks before
-- it inserts, and merges on the key where a row may exist), and assigns fetch_log ids.
-- every timestamp is timestamptz in utc and named *_at; every loaded row carries run_id.

-- one row per feed named in the feeds file (inactive once it leaves the file); key: name
create table sources (
    ---------- ids
    name                varchar not null,
    ---------- from the feeds file
    url                 varchar not null,
    language            varchar,
    region              varchar,
    seed_hash           varchar,
    active              boolean not null,
    ---------- fetch state
    current_url         varchar,
    etag                varchar,
    last_modified       varchar,
    last_status         varchar,
    last_detail         varchar,
    last_success_at     timestamptz,
    last_attempt_at     timestamptz,
    failure_streak      integer not null,
    ---------- bookkeeping
    loaded_at           timestamptz,
    run_id              varchar
);

-- one row per article; key: id, the hash of its canonical url
create table articles (
    ---------- ids
    id                  varchar not null,
    url                 varchar not null,
    canonical_url       varchar not null,
    source              varchar not null,
    ---------- content
    title               varchar,
    author              varchar,
    published_at        timestamptz,
    language            varchar,
    text                varchar,
    word_count          integer,
    body_origin         varchar,
    extraction_method   varchar,
    ---------- near-duplicates: the 64-bit simhash and its four 16-bit bands
    fingerprint         bigint,
    fp_band_0           integer,
    fp_band_1           integer,
    fp_band_2           integer,
    fp_band_3           integer,
    duplicate_of        varchar,
    ---------- bookkeeping
    first_seen_at       timestamptz not null,
    updated_at          timestamptz,
    run_id              varchar not null
);

-- one row per article whose page was fetched: its raw html, gzip-compressed, written once;
-- only re-extraction reads it, so the story tables stay small. key: article_id
create table pages (
    article_id          varchar not null,
    url                 varchar not null,
    final_url           varchar,
    status              integer,
    content_type        varchar,
    html_gz             blob,
    size_bytes          bigint,
    fetched_at          timestamptz,
    run_id              varchar not null
);

-- one row per article and tagger version; key: (article_id, tagger_version). a retag with
-- the same version replaces the row in a new snapshot: earlier ones stay readable with
-- `at (version => n)` until maintenance expires them.
create table tags (
    article_id          varchar not null,
    tagger_version      varchar not null,
    relevant            boolean not null,
    score               double,
    topics              varchar[],
    evidence            varchar[],
    tagged_at           timestamptz not null,
    run_id              varchar not null
);

-- one row per flow run; completed last, after all of the run's rows are loaded; key: run_id
create table runs (
    run_id              varchar not null,
    flow                varchar not null,
    params              json,
    started_at          timestamptz not null,
    finished_at         timestamptz,
    status              varchar not null,
    ---------- counts
    sources_ok          integer,
    sources_unchanged   integer,
    sources_failed      integer,
    articles_new        integer,
    articles_failed     integer,
    china_japan         integer,
    summary             json
);

-- one row per request (after its retries): feeds, pages, robots.txt, sitemaps; key: id
create table fetch_log (
    id                  bigint not null,
    run_id              varchar not null,
    source              varchar,
    kind                varchar not null,
    url                 varchar not null,
    outcome             varchar not null,
    status              integer,
    detail              varchar,
    size_bytes          bigint,
    elapsed_ms          integer,
    attempts            integer,
    fetched_at          timestamptz not null
);

-- one row per fact about the warehouse itself (who made it, for what); key: key.
-- `newswire demo` writes made_by = 'newswire demo': it replaces a warehouse only when that
-- marker is inside it, never by its name.
create table warehouse_meta (
    key                 varchar not null,
    value               varchar not null,
    set_at              timestamptz not null,
    run_id              varchar
);
