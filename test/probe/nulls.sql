-- NULL in every argument position of every public function, the other
-- arguments valid (test/probe/run).
CREATE TEMP TABLE valid(fn text, arg text, val text);
INSERT INTO valid VALUES
 ('*','sku','''A'''), ('*','qty','1'), ('*','delta','1'), ('*','counted','100'), ('*','location','''default'''),
 ('*','reference','''ref1'''), ('*','from_incoming','false'), ('*','reason','''why'''), ('*','state','''available'''),
 ('*','from_state','''available'''), ('*','to_state','''damaged'''), ('*','from_location','''default'''),
 ('*','to_location','''east'''), ('*','source','''erp'''), ('*','source_version','5'),
 ('*','channel','''shop'''), ('*','order_ref','''R'''), ('*','lines','''[{"sku":"A","qty":1}]''::jsonb'),
 ('*','ttl','''1 hour''::interval'), ('*','strategy','''pessimistic'''), ('*','on_shortage','''reject'''),
 ('*','shipment_ref','''sh1'''), ('*','return_ref','''rt1'''), ('*','max_rows','10'),
 ('*','orders','''[{"channel":"shop","order_ref":"N1","sku":"A","qty":1}]''::jsonb'),
 ('*','at','now()'), ('*','buckets','4'), ('*','min_waiters','2'), ('*','lock_wait','''10ms''::interval'),
 ('*','bundle','''KIT'''), ('*','span','''1 hour''::interval'), ('*','p99','''1 second''::interval'),
 ('*','keep','''1 hour''::interval'), ('*','event_id','''e1'''), ('*','topic','''orders/create'''),
 ('*','event','''{"channel":"hook","order_ref":"W1","lines":[{"listing":"L-A","qty":1}]}''::jsonb'),
 ('*','deliveries','''[]''::jsonb'), ('*','error_code','''SS009'''), ('*','message','''m''');
-- positional overrides: order_ref for fulfill/return_items/commit
INSERT INTO valid VALUES ('return_items','order_ref','''F'''), ('return_items','lines','''[{"sku":"A","qty":1}]''::jsonb'),
 ('reserve','order_ref','''NEW1'''), ('return_items','to_state','''available''');
CREATE TEMP TABLE calls AS
WITH f AS (
  SELECT p.oid, p.proname, p.proargnames AS names, p.proargtypes::regtype[] AS types, p.pronargs
  FROM pg_proc p WHERE p.pronamespace = 'stocksync'::regnamespace
   AND p.prorettype <> 'trigger'::regtype
   -- the public functions: those a stocksync role may call (the internal
   -- helpers are granted to nobody)
   AND has_function_privilege('stocksync_worker', p.oid, 'EXECUTE')
)
SELECT f.proname, i AS nullpos,
  format('stocksync.%I(%s)', f.proname, string_agg(
     CASE WHEN j = i THEN format('NULL::%s', f.types[j-1])
          ELSE coalesce((SELECT val FROM valid v WHERE v.arg = f.names[j] AND v.fn = f.proname),
                        (SELECT val FROM valid v WHERE v.arg = f.names[j] AND v.fn = '*'), '???'||f.names[j]) || '::' || f.types[j-1]::text END,
     ', ' ORDER BY j)) AS stmt
FROM f, generate_series(1, f.pronargs) i, generate_series(1, f.pronargs) j
GROUP BY f.oid, f.proname, i;
SELECT rpad(stmt, 110) AS call, pg_temp.probe(CASE WHEN proname IN ('bundle_leaves','bundle_ancestors','stock_at','verify_ledger','promote_hot_skus','ingest_webhook_orders','reserve_batch','reserve')
   THEN '(SELECT array_agg(x)::text FROM ' || stmt || ' x)' ELSE stmt END) AS outcome
FROM calls ORDER BY proname, stmt;
