-- grain: one row: the run that started last (whatever its status).
create or replace view latest_run as
with

ordered_runs as (
    select
        *,
        epoch(finished_at - started_at) as duration_s
    from runs
    order by started_at desc
    limit 1
)

select * from ordered_runs
