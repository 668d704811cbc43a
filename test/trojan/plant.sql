-- Trojans for the hostile-search_path run of the regression suite
-- (scripts/run-tests): functions and operators with the names and argument
-- types stocksync's SQL uses, in a schema that comes before pg_catalog in the
-- database's search_path. Each one raises as soon as it is called from inside
-- a function's SPI statement (a "SQL statement" context that is not a
-- PL/pgSQL EXECUTE of the test itself), and otherwise behaves like the
-- original so that the tests' own queries still give the expected output.
-- stocksync's functions pin search_path = pg_catalog, pg_temp and qualify
-- every name, so none of these may ever run inside them.
CREATE SCHEMA trojan;

CREATE FUNCTION trojan.alarm(what text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ctx text;
    lines text[];
BEGIN
    GET DIAGNOSTICS ctx = PG_CONTEXT;
    lines := pg_catalog.string_to_array(ctx, E'\n');
    FOR i IN 1 .. pg_catalog.array_length(lines, 1) LOOP
        IF lines[i] OPERATOR(pg_catalog.~~) 'SQL statement%'
           AND (i OPERATOR(pg_catalog.=) pg_catalog.array_length(lines, 1)
                OR NOT lines[i OPERATOR(pg_catalog.+) 1] OPERATOR(pg_catalog.~~) 'PL/pgSQL function%') THEN
            RAISE EXCEPTION 'trojan % ran inside a function: %', what, ctx;
        END IF;
    END LOOP;
END $$;

-- Operators on the types stocksync compares and computes with.
DO $plant$
DECLARE
    op record;
BEGIN
    FOR op IN SELECT * FROM (VALUES
        ('=', 'text', 'text', 'boolean'), ('<>', 'text', 'text', 'boolean'), ('<', 'text', 'text', 'boolean'),
        ('=', 'integer', 'integer', 'boolean'), ('<>', 'integer', 'integer', 'boolean'),
        ('<', 'integer', 'integer', 'boolean'), ('>=', 'integer', 'integer', 'boolean'),
        ('+', 'integer', 'integer', 'integer'), ('-', 'integer', 'integer', 'integer'),
        ('=', 'bigint', 'bigint', 'boolean'), ('<>', 'bigint', 'bigint', 'boolean'),
        ('+', 'bigint', 'bigint', 'bigint'), ('-', 'bigint', 'bigint', 'bigint'),
        ('<=', 'timestamptz', 'timestamptz', 'boolean'), ('+', 'timestamptz', 'interval', 'timestamptz'),
        ('=', 'jsonb', 'jsonb', 'boolean'), ('=', 'text[]', 'text[]', 'boolean')
    ) AS t (name, l, r, result) LOOP
        EXECUTE pg_catalog.format(
            'CREATE FUNCTION trojan.op_%s(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS $f$ '
            'BEGIN PERFORM trojan.alarm(%L); RETURN a OPERATOR(pg_catalog.%s) b; END $f$',
            pg_catalog.md5(op.name || op.l || op.r), op.l, op.r, op.result,
            'operator ' || op.name || ' (' || op.l || ', ' || op.r || ')', op.name);
        EXECUTE pg_catalog.format('CREATE OPERATOR trojan.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = trojan.op_%s)',
            op.name, op.l, op.r, pg_catalog.md5(op.name || op.l || op.r));
    END LOOP;
END
$plant$;

-- Functions stocksync calls by name.
CREATE FUNCTION trojan.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM trojan.alarm('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION trojan.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM trojan.alarm('clock_timestamp()'); RETURN pg_catalog.clock_timestamp(); END $$;
CREATE FUNCTION trojan.unnest(a anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS $$
BEGIN PERFORM trojan.alarm('unnest()'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION trojan.jsonb_to_recordset(j jsonb) RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN PERFORM trojan.alarm('jsonb_to_recordset()'); RETURN QUERY SELECT * FROM pg_catalog.jsonb_to_recordset(j); END $$;
CREATE FUNCTION trojan.sum_step(state bigint, value integer) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM trojan.alarm('sum(integer)');
      RETURN COALESCE(state, 0) OPERATOR(pg_catalog.+) COALESCE(value, 0); END $$;
CREATE AGGREGATE trojan.sum(integer) (SFUNC = trojan.sum_step, STYPE = bigint);

-- A table and a view named like stocksync's, for unqualified relation names.
CREATE TABLE trojan.stock_level (sku text, location text, on_hand integer, reserved integer, committed integer,
                                 damaged integer, quality_control integer, safety_stock integer, incoming integer,
                                 version bigint);
CREATE TABLE trojan.ledger (id bigint);
CREATE TABLE trojan.reservation (id bigint);
