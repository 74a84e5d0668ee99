-- A unique key across the partitions of a table partitioned by id (ARCHITECTURE.md, "Partitioned tables").
-- A partitioned table's unique index must contain the partition key, and the id is unique by itself, so
-- no index on the table can hold another key. Each such key lives in a small unpartitioned table of its
-- own: the key's columns as its primary key and the row's `id` (unique). This trigger, put on the
-- partitioned table as
--   AFTER INSERT OR DELETE OR UPDATE OF <key columns> ... FOR EACH ROW
--   EXECUTE FUNCTION partitioned_unique_key('<key table>', '<column>', ...)
-- writes every row's key there in the row's own statement, so a duplicate fails that statement with the
-- key table's unique violation, whatever code wrote the row. A row with a null in its key holds no key,
-- as a unique index would have it. The partition manager deletes the keys of the partitions it drops.
CREATE FUNCTION partitioned_unique_key() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  key_table text := tg_argv[0];
  key_columns text[] := tg_argv[1:];
  column_list text := (SELECT string_agg(format('%I', c), ', ') FROM unnest(key_columns) c);
  row_values text := (SELECT string_agg(format('($1).%I', c), ', ') FROM unnest(key_columns) c);
  all_set text := (SELECT string_agg(format('($1).%I IS NOT NULL', c), ' AND ') FROM unnest(key_columns) c);
BEGIN
  IF tg_op IN ('DELETE', 'UPDATE') THEN
    EXECUTE format('DELETE FROM %I WHERE id = ($1).id', key_table) USING old;
  END IF;
  IF tg_op IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('INSERT INTO %I (%s, id) SELECT %s, ($1).id WHERE %s', key_table, column_list, row_values, all_set)
      USING new;
  END IF;
  RETURN NULL;
END
$$;
