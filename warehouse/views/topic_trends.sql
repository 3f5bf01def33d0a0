-- grain: one row per utc day and topic, for every day from the first china-japan story to
-- today (utc) and every topic ever seen; days without a story have stories = 0, so the
-- series has no gaps. stories is daily_topic_counts (a story counts once for each of its
-- topics); stories_7d sums the 7 days ending on that day and stories_7d_avg = stories_7d / 7.
create or replace view topic_trends as
with

daily as (
    select
        day,
        topic,
        stories
    from daily_topic_counts
),

topics as (
    select distinct topic from daily
),

days as (
    select
        cast(unnest(generate_series(
            min(day),
            greatest(max(day), cast(timezone('UTC', now()) as date)),
            interval 1 day
        )) as date) as day
    from daily
),

calendar as (
    select
        d.day,
        t.topic
    from days as d
    cross join topics as t
),

filled as (
    select
        c.day,
        c.topic,
        coalesce(d.stories, 0) as stories
    from calendar as c
    left join daily as d on d.day = c.day and d.topic = c.topic
),

trended as (
    select
        ---------- grain
        day,
        topic,
        ---------- counts
        stories,
        sum(stories) over last_7_days as stories_7d,
        sum(stories) over last_7_days / 7.0 as stories_7d_avg
    from filled
    window last_7_days as (
        partition by topic order by day rows between 6 preceding and current row
    )
)

select * from trended
order by day, topic
