-- grain: one row per source in the feeds file (sources dropped from the file stay, inactive).
-- flagged: the feed failed on 3 or more runs in a row.
create or replace view source_health as
with

recent_articles as (
    select
        source,
        count(*) as articles_7d
    from articles
    where first_seen_at >= now() - interval 7 day
    group by source
),

health as (
    select
        ---------- ids
        s.name,
        s.url,
        s.current_url,
        s.active,
        ---------- last fetch
        s.last_status,
        s.last_detail,
        s.last_success_at,
        s.last_attempt_at,
        s.failure_streak,
        s.failure_streak >= 3 as flagged,
        ---------- output
        coalesce(r.articles_7d, 0) as articles_7d
    from sources as s
    left join recent_articles as r on r.source = s.name
)

select * from health
order by name
