-- grain: one row per utc day and topic: how many china-japan stories carry that topic.
-- the day is the story's publication date in utc, or the day it was first seen when the
-- page gave no date.
create or replace view daily_topic_counts as
with

stories as (
    select
        article_id,
        coalesce(published_at, first_seen_at) as happened_at,
        topics
    from china_japan_stories
),

story_topics as (
    select
        cast(timezone('UTC', happened_at) as date) as day,
        unnest(topics) as topic,
        article_id
    from stories
),

counted as (
    select
        day,
        topic,
        count(distinct article_id) as stories
    from story_topics
    group by day, topic
)

select * from counted
order by day, topic
