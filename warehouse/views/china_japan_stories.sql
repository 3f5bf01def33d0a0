-- grain: one row per china-japan story. a story is an article that is not a near-duplicate
-- of an earlier one (duplicate_of is null) and whose latest tag says relevant; "latest" is
-- the tag with the highest tagged_at (ties: the highest tagger_version), so a retag backfill
-- with a new tagger version takes over as soon as it is loaded. copies counts the story's
-- own article plus every near-duplicate linked to it (syndicated copies).
create or replace view china_japan_stories as
with

stored_articles as (
    select * from articles
),

latest_tags as (
    select *
    from tags
    qualify row_number() over (
        partition by article_id order by tagged_at desc, tagger_version desc
    ) = 1
),

duplicates as (
    select
        duplicate_of as article_id,
        count(*) as duplicate_count
    from stored_articles
    where duplicate_of is not null
    group by duplicate_of
),

stories as (
    select
        ---------- ids
        a.id as article_id,
        a.url,
        a.canonical_url,
        ---------- the story
        a.title,
        a.source,
        a.published_at,
        a.language,
        ---------- the tag
        t.score,
        t.topics,
        t.evidence,
        t.tagger_version,
        t.tagged_at,
        ---------- syndication
        1 + coalesce(d.duplicate_count, 0) as copies,
        ---------- bookkeeping
        a.first_seen_at,
        a.run_id
    from stored_articles as a
    inner join latest_tags as t on t.article_id = a.id
    left join duplicates as d on d.article_id = a.id
    where a.duplicate_of is null
      and t.relevant
)

select * from stories
