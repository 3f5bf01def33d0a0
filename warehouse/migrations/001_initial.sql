-- grain: one table per entity; see each table's own grain line.
-- the first schema of the warehouse: sources, articles, pages, tags, runs, fetch_log.
-- every timestamp is timestamptz in utc and named *_at; every loaded row carries run_id.

-- one row per feed named in the feeds file (inactive once it leaves the file)
create table sources (
    ---------- ids
    name                varchar primary key,
    ---------- from the feeds file
    url                 varchar not null,
    language            varchar,
    region              varchar,
    seed_hash           varchar,
    active              boolean not null default true,
    ---------- fetch state
    current_url         varchar,
    etag                varchar,
    last_modified       varchar,
    last_status         varchar,
    last_success_at     timestamptz,
    last_attempt_at     timestamptz,
    failure_streak      integer not null default 0,
    ---------- bookkeeping
    loaded_at           timestamptz,
    run_id              varchar
);

-- one row per article, keyed by the id of its canonical url
create table articles (
    ---------- ids
    id                  varchar primary key,
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
    ---------- near-duplicates
    fingerprint         bigint,
    duplicate_of        varchar,
    ---------- bookkeeping
    first_seen_at       timestamptz not null,
    updated_at          timestamptz,
    run_id              varchar not null
);

-- one row per article whose page was fetched: its raw html, gzip-compressed
create table pages (
    article_id          varchar primary key,
    url                 varchar not null,
    final_url           varchar,
    status              integer,
    content_type        varchar,
    html_gz             blob,
    size_bytes          bigint,
    fetched_at          timestamptz,
    run_id              varchar not null
);

-- one row per article and tagger version
create table tags (
    article_id          varchar not null,
    tagger_version      varchar not null,
    relevant            boolean not null,
    score               double,
    topics              varchar[],
    evidence            varchar[],
    tagged_at           timestamptz not null,
    run_id              varchar not null,
    primary key (article_id, tagger_version)
);

-- one row per flow run; completed last, after all of the run's rows are loaded
create table runs (
    run_id              varchar primary key,
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

-- one row per request (after its retries): feeds, pages, robots.txt, sitemaps
create sequence fetch_log_id_seq;

create table fetch_log (
    id                  bigint primary key default nextval('fetch_log_id_seq'),
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
