-- grain: one row per fact about the warehouse itself (who made it, for what).
-- `newswire demo` writes made_by = 'newswire demo': it replaces a warehouse only when that
-- marker is inside the file, never by the file's name.

create table warehouse_meta (
    key                 varchar primary key,
    value               varchar not null,
    set_at              timestamptz not null,
    run_id              varchar
);
