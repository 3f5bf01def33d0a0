-- grain: one row per article (articles); one column added.
-- extraction_method: which path produced the body. 'tuned' (page furniture removed, then
-- trafilatura), 'fallback' (trafilatura's own chain on the untouched page, when the tuned
-- body was missing or far shorter), 'none' (the page gave no body: the text is the feed
-- entry's own). null for articles stored before this column, and for bodies whose path
-- was not recorded.

alter table articles add column extraction_method varchar;

update articles
set extraction_method = 'none'
where body_origin = 'feed' or coalesce(trim(text), '') = '';
