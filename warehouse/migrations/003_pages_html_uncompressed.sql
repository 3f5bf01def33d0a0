-- grain: one row per article whose page was fetched (pages); same columns, new storage.
-- html_gz is gzip already: duckdb's string compression (dict/fsst) gains nothing on it, and
-- every checkpoint after an append re-analysed the column's whole row group (~0.2 s per
-- checkpoint at a few thousand pages, growing with the table). it is stored uncompressed.

create table pages_rebuilt (
    article_id          varchar primary key,
    url                 varchar not null,
    final_url           varchar,
    status              integer,
    content_type        varchar,
    html_gz             blob using compression uncompressed,
    size_bytes          bigint,
    fetched_at          timestamptz,
    run_id              varchar not null
);

insert into pages_rebuilt
select article_id, url, final_url, status, content_type, html_gz, size_bytes, fetched_at, run_id
from pages;

drop table pages;

alter table pages_rebuilt rename to pages;
