-- Every bid raises its order's bid_count. With full pages PostgreSQL cannot update an order in place
-- (a HOT update) and rewrites an entry in each of the order's ten indexes, text-search ones included;
-- leaving a tenth of each page free lets most of those updates stay on the page. Applies to pages written
-- from now on; VACUUM FULL or pg_repack brings existing ones in line.
ALTER TABLE "orders" SET (fillfactor = 90);
