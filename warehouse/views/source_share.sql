-- grain: one row per source (every source in the feeds file, active or not, and any other
-- source that has articles): how much of the china-japan coverage it carries.
-- a story's day is its publication date in utc, or the day it was first seen when the page
-- gave no date (as in daily_topic_counts). "90d" = the 90 utc days ending on the day of the
-- newest china-japan story, or today if that is later than today: on a warehouse ingested
-- every night, the last 90 days; on an old copy, its last 90 days of coverage.
-- articles counts original articles only (not syndicated copies), like china_japan_stories,
-- so rate = stories / articles is the fraction of a source's own articles that are
-- china-japan stories; share = the source's fraction of all china-japan stories.
-- copies counts the syndicated copies of china-japan stories that the source carried.
create or replace view source_share as
with

originals as (
    select
        id,
        source,
        cast(timezone('UTC', coalesce(published_at, first_seen_at)) as date) as day
    from articles
    where duplicate_of is null
),

stories as (
    select
        article_id,
        source,
        cast(timezone('UTC', coalesce(published_at, first_seen_at)) as date) as day
    from china_japan_stories
),

bounds as (
    select
        least(
            coalesce(max(day), cast(timezone('UTC', now()) as date)),
            cast(timezone('UTC', now()) as date)
        ) - 89 as first_day
    from stories
),

story_copies as (
    select
        a.source,
        cast(timezone('UTC', coalesce(s.published_at, s.first_seen_at)) as date) as day
    from articles as a
    inner join china_japan_stories as s on s.article_id = a.duplicate_of
),

article_counts as (
    select
        o.source,
        count(*) as articles,
        count(*) filter (where o.day >= b.first_day) as articles_90d
    from originals as o
    cross join bounds as b
    group by o.source
),

story_counts as (
    select
        s.source,
        count(*) as stories,
        count(*) filter (where s.day >= b.first_day) as stories_90d
    from stories as s
    cross join bounds as b
    group by s.source
),

copy_counts as (
    select
        c.source,
        count(*) as copies,
        count(*) filter (where c.day >= b.first_day) as copies_90d
    from story_copies as c
    cross join bounds as b
    group by c.source
),

names as (
    select name as source from sources
    union
    select source from article_counts
    union
    select source from copy_counts
),

per_source as (
    select
        n.source,
        coalesce(a.articles, 0) as articles,
        coalesce(a.articles_90d, 0) as articles_90d,
        coalesce(s.stories, 0) as stories,
        coalesce(s.stories_90d, 0) as stories_90d,
        coalesce(c.copies, 0) as copies,
        coalesce(c.copies_90d, 0) as copies_90d
    from names as n
    left join article_counts as a on a.source = n.source
    left join story_counts as s on s.source = n.source
    left join copy_counts as c on c.source = n.source
),

shared as (
    select
        ---------- ids
        source,
        ---------- last 90 days
        stories_90d,
        articles_90d,
        copies_90d,
        coalesce(stories_90d / nullif(sum(stories_90d) over (), 0), 0.0) as share_90d,
        coalesce(stories_90d / nullif(articles_90d, 0), 0.0) as rate_90d,
        ---------- all time
        stories,
        articles,
        copies,
        coalesce(stories / nullif(sum(stories) over (), 0), 0.0) as share,
        coalesce(stories / nullif(articles, 0), 0.0) as rate
    from per_source
)

select * from shared
order by stories_90d desc, stories desc, source
