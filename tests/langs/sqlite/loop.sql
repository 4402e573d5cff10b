-- Counts forever: a recursive query with no end.
WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter)
SELECT count(*) FROM counter;
