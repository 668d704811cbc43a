// Bundles: bill-of-materials probes, bundle lines expanded into component
// lines (reserve, fulfill and return lines name bundles; the reservation holds
// their components), and the cascade trigger that raises every containing
// bundle's version when a component's stock changes.
#include "pg.hpp"

#include "bundles.hpp"
#include "definer.hpp"
#include "errors.hpp"
#include "direct.hpp"
#include "key_cache.hpp"
#include "spi.hpp"

extern "C" {
#include "access/xact.h"
#include "storage/proc.h"
#include "utils/inval.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(stocksync_stock_level_bundle_cascade);
}

namespace stocksync {

namespace {

enum class BomKey
{
	kBundle,     // bom's primary key, (bundle_sku, component_sku)
	kComponent,  // bom_component_idx, (component_sku, bundle_sku)
};

// Whether a BOM row names sku in the key's first column. An index probe
// without the executor where the catalog is as expected (it is on the
// reservation path of every line), a query otherwise.
bool
BomNames(BomKey key, Datum sku)
{
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr)
	{
		static SPIPlanPtr bundle_plan = nullptr;
		static SPIPlanPtr component_plan = nullptr;
		static const Oid types[] = {TEXTOID};
		Datum args[] = {sku};
		bool connected = SPI_connect() == SPI_OK_CONNECT;
		bool found =
			key == BomKey::kBundle
				? RunPlan(KeptPlan(&bundle_plan, "SELECT 1 FROM stocksync.bom WHERE bundle_sku = $1 LIMIT 1", 1, types),
						  args, nullptr) > 0
				: RunPlan(KeptPlan(&component_plan, "SELECT 1 FROM stocksync.bom WHERE component_sku = $1 LIMIT 1", 1,
								   types),
						  args, nullptr) > 0;
		if (connected)
			SPI_finish();
		return found;
	}
	return KeyExists(cat->bom, key == BomKey::kBundle ? cat->bom_pkey : cat->bom_component_idx, &sku, 1);
}

// Reads the simple components of bundle and the units of each per bundle
// into the last SPI result; returns how many.
uint64
ReadBundleLeaves(Datum bundle)
{
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID};
	Datum args[] = {bundle};
	// The recursion of stocksync.bundle_leaves(), kept as a plan here: a SQL
	// function's body would be planned again on every call.
	return RunPlan(KeptPlan(&plan,
							"WITH RECURSIVE walk (sku, qty) AS ("
							"  SELECT b.component_sku, b.qty FROM stocksync.bom b WHERE b.bundle_sku = $1"
							"  UNION ALL"
							"  SELECT b.component_sku, w.qty * b.qty FROM walk w CROSS JOIN LATERAL ("
							"    SELECT x.component_sku, x.qty FROM stocksync.bom x WHERE x.bundle_sku = w.sku OFFSET 0) b) "
							"SELECT w.sku, pg_catalog.sum(w.qty)::integer FROM walk w "
							"WHERE (SELECT i.kind FROM stocksync.item i WHERE i.sku = w.sku) = 'simple' GROUP BY w.sku",
							1, types),
				   args, nullptr);
}

// The components this transaction has already cascaded, so that a receive
// (insert and update of a new projection row) or several movements of one
// component in one transaction raise each bundle once per commit. Kept in
// TopTransactionContext: freed with the transaction, recognised by its
// local transaction id.
//
// Each entry keeps the transaction id that raised the bundles' versions: the
// trigger may fire before the commit (SET CONSTRAINTS ALL IMMEDIATE) inside
// a savepoint or an exception block that is then rolled back, taking the
// raise with it. An entry counts only while that id is still part of this
// transaction (a rolled-back subtransaction's is not), so a later change of
// the component raises the bundles again.
struct Cascaded
{
	char *sku;
	TransactionId xid;
};
List *cascaded = NIL;
LocalTransactionId cascaded_lxid = InvalidLocalTransactionId;

// Whether the bundles containing sku were raised by this transaction, in a
// part of it that still stands.
bool
CascadedAlready(Datum sku)
{
	if (cascaded_lxid != MyProc->lxid)
	{
		cascaded = NIL;
		cascaded_lxid = MyProc->lxid;
	}
	const char *name = TextDatumGetCString(sku);
	ListCell *cell;
	foreach (cell, cascaded)
	{
		const Cascaded *c = static_cast<const Cascaded *>(lfirst(cell));
		if (strcmp(c->sku, name) == 0 && TransactionIdIsCurrentTransactionId(c->xid))
			return true;
	}
	return false;
}

// Records that the (sub)transaction running now raised sku's bundles.
void
RememberCascade(Datum sku)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	Cascaded *c = static_cast<Cascaded *>(palloc(sizeof(Cascaded)));
	c->sku = TextDatumGetCString(sku);
	c->xid = GetCurrentTransactionIdIfAny();
	cascaded = lappend(cascaded, c);
	MemoryContextSwitchTo(old);
}

// WITH up (sku): every bundle containing the components that `components`
// (an SQL condition on bom.component_sku) selects, directly or nested. Index
// probes per step (OFFSET 0), as in bundle_leaves().
#define BUNDLES_CONTAINING(components)                                                                      \
	"WITH RECURSIVE up (sku) AS ("                                                                           \
	"  SELECT b.bundle_sku FROM stocksync.bom b WHERE b.component_sku " components " UNION "               \
	"  SELECT b.bundle_sku FROM up CROSS JOIN LATERAL ("                                                     \
	"    SELECT x.bundle_sku FROM stocksync.bom x WHERE x.component_sku = up.sku OFFSET 0) b) "

// The components whose stock this transaction changed, noted as each
// projection or bucket row is written (the BEFORE trigger), and how many of
// them the cascade has locked the bundles of. The cascade fires at commit
// once per changed row, in the order the rows were written, and each firing
// raises the bundles of one component; locking only those at each firing
// took bundles in the components' order, which is not the bundles' (A in K2,
// C in K1): two committing transactions then each held a bundle the other
// waited for, and deadlocked although their orders shared no stock row
// (bundle_cascade_commit_order.spec). The first firing therefore locks the
// bundles of every component noted, in one byte order, and the later ones
// find theirs locked. A component noted in a subtransaction that rolled
// back only costs its bundles an extra lock.
List *changed = NIL;
LocalTransactionId changed_lxid = InvalidLocalTransactionId;
int changed_locked = 0;
// The (sub)transaction that took those locks: a rollback to a savepoint
// releases them, and the next firing locks again.
TransactionId changed_locked_xid = InvalidTransactionId;

void
ForgetChangedOfEarlierTransaction()
{
	if (changed_lxid != MyProc->lxid)
	{
		changed = NIL;
		changed_lxid = MyProc->lxid;
		changed_locked = 0;
		changed_locked_xid = InvalidTransactionId;
	}
}

void
NoteChangedComponent(Datum sku)
{
	ForgetChangedOfEarlierTransaction();
	const char *name = TextDatumGetCString(sku);
	ListCell *cell;
	foreach (cell, changed)
		if (strcmp(static_cast<const char *>(lfirst(cell)), name) == 0)
			return;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	changed = lappend(changed, pstrdup(name));
	MemoryContextSwitchTo(old);
}

// Locks (FOR NO KEY UPDATE, in byte order) every bundle containing a noted
// component, directly or nested, unless that was done since the last
// component was noted. Runs inside the caller's SPI connection.
void
LockBundlesOfChangedComponents()
{
	ForgetChangedOfEarlierTransaction();
	int count = list_length(changed);
	if (count == 0 ||
		(changed_locked == count && TransactionIdIsValid(changed_locked_xid) &&
		 TransactionIdIsCurrentTransactionId(changed_locked_xid)))
		return;
	Datum *skus = static_cast<Datum *>(palloc(sizeof(Datum) * count));
	int i = 0;
	ListCell *cell;
	foreach (cell, changed)
		skus[i++] = CStringGetTextDatum(static_cast<const char *>(lfirst(cell)));
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTARRAYOID};
	Datum args[] = {PointerGetDatum(construct_array(skus, count, TEXTOID, -1, false, TYPALIGN_INT))};
	RunPlan(KeptPlan(&plan,
					   BUNDLES_CONTAINING("= ANY ($1)") "SELECT i.sku FROM stocksync.item i "
					   "WHERE i.sku = ANY (ARRAY(SELECT up.sku FROM up)) ORDER BY i.sku FOR NO KEY UPDATE",
					   1, types),
			args, nullptr);
	changed_locked = count;
	changed_locked_xid = GetCurrentTransactionIdIfAny();
}

bool
ComponentProbe(Datum sku)
{
	return BomNames(BomKey::kComponent, sku);
}

// For a caller that must run no SQL: BomNames's index probe, or "yes" where
// the catalog changed shape meanwhile (BomNames would run SQL then).
bool
ComponentProbeWithoutSql(Datum sku)
{
	return GetDirectCatalog() == nullptr || BomNames(BomKey::kComponent, sku);
}

bool
LookUpComponent(Datum sku, bool (*probe)(Datum sku))
{
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr)
		return probe(sku);
	return KeyCacheLookup(KeyCacheId::kBundleComponents, cat->bom, "component_sku", sku, probe);
}

}  // namespace

// Raises the version of every bundle containing sku, directly or nested,
// and remembers that this (sub)transaction did: what the cascade trigger
// does for a component's change, run as its owner.
void
RaiseBundlesOf(Datum sku)
{
	SPI_connect();
	LockTableForWrites("item");	 // the bundles' rows are locked, then written
	// Every bundle this transaction raises, locked before any is raised. The
	// component is noted here too, in case its row was written where the
	// BEFORE trigger did not fire (disabled, or session_replication_role).
	NoteChangedComponent(sku);
	LockBundlesOfChangedComponents();
	// stocksync.raise_bundle_versions() as a kept plan: a SQL function's body
	// would be planned again at every commit. The bundles' rows are already
	// locked, in byte order, just above, and no bill of materials naming sku
	// can change meanwhile: bom_check waits for the stock row this
	// transaction wrote.
	static SPIPlanPtr plan = nullptr;
	static const Oid types[] = {TEXTOID};
	Datum args[] = {sku};
	RunPlan(KeptPlan(&plan,
					   BUNDLES_CONTAINING("= $1") "UPDATE stocksync.item i SET version = i.version + 1 "
					   "WHERE i.sku = ANY (ARRAY(SELECT up.sku FROM up))",
					   1, types),
			args, nullptr);
	SPI_finish();
	RememberCascade(sku);
}

// The reservation fast path and the bucket claims write stock rows past the
// triggers, and step aside for components. A bill-of-materials row that
// another session committed while they waited for the row (bom_check holds
// the new component's stock rows FOR SHARE until it commits) makes the SKU a
// component after they looked, and its bundles, raised before that session
// committed, were computed without this change: raise them again here.
uint64
ComponentCacheGeneration()
{
	return KeyCacheGeneration(KeyCacheId::kBundleComponents);
}

void
CascadeAfterDirectWrite(Datum sku, uint64 components_seen)
{
	// The commit of such a row sends its invalidation before it lets the
	// waiters go: taken here, no change since the caller looked means the
	// answer it acted on stands (the common case: nothing to look up).
	AcceptInvalidationMessages();
	if (KeyCacheGeneration(KeyCacheId::kBundleComponents) == components_seen || !MayBeBundleComponent(sku))
		return;
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("stocksync's tables changed while a reservation was written")));
	DefinerScope definer = EnterDefinerScope(cat->bundle_cascade_fn);
	if (IsBundleComponent(sku) && !CascadedAlready(sku))
		RaiseBundlesOf(sku);
	LeaveDefinerScope(definer);
}

bool
IsBundleComponent(Datum sku)
{
	return LookUpComponent(sku, ComponentProbe);
}

bool
MayBeBundleComponent(Datum sku)
{
	return LookUpComponent(sku, ComponentProbeWithoutSql);
}

OrderLine *
ExpandBundleLines(OrderLine *lines, int *count, Datum *too_large)
{
	int bundles = 0;
	bool *is_bundle = static_cast<bool *>(palloc0(sizeof(bool) * Max(*count, 1)));
	for (int i = 0; i < *count; i++)
		if ((is_bundle[i] = BomNames(BomKey::kBundle, lines[i].sku)))
			bundles++;
	if (bundles == 0)
		return lines;

	int capacity = *count + 8;
	int n = 0;
	OrderLine *out = static_cast<OrderLine *>(palloc0(sizeof(OrderLine) * capacity));
	for (int i = 0; i < *count; i++)
	{
		uint64 leaves = is_bundle[i] ? ReadBundleLeaves(lines[i].sku) : 1;
		if (n + static_cast<int>(leaves) > capacity)
		{
			capacity = (n + static_cast<int>(leaves)) * 2;
			out = static_cast<OrderLine *>(repalloc(out, sizeof(OrderLine) * capacity));
		}
		if (!is_bundle[i])
		{
			out[n++] = lines[i];
			continue;
		}
		for (uint64 k = 0; k < leaves; k++)
		{
			OrderLine line = {};
			line.sku = ColumnDatum(k, 1);
			line.location = lines[i].location;
			int64 qty = static_cast<int64>(lines[i].qty) * ColumnInt32(k, 2);
			if (qty > PG_INT32_MAX)
			{
				if (too_large == nullptr)
					ReportQuantityTooLarge(TextDatumGetCString(lines[i].sku));
				*too_large = lines[i].sku;
				return nullptr;
			}
			line.qty = static_cast<int32>(qty);
			out[n++] = line;
		}
	}
	*count = n;
	return out;
}

}  // namespace stocksync

// The bundle cascade, on stock_level and stock_bucket. As a BEFORE INSERT OR
// UPDATE row trigger it notes a changed component (NoteChangedComponent) and
// returns the row unchanged. As a deferred constraint trigger (AFTER INSERT
// OR UPDATE, per row, at commit) a changed component raises the version of
// every bundle that contains it, directly or nested, once each per
// transaction, so stocksync-worker sees the bundles' item rows change and
// re-pushes their listings. One function for both, so that HasUserTrigger
// knows both as stocksync's.
extern "C" Datum
stocksync_stock_level_bundle_cascade(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "stocksync: stock_level_bundle_cascade must be called as a trigger");
	TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
	HeapTuple row = TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) ? trigger->tg_newtuple : trigger->tg_trigtuple;
	bool isnull;
	// Column 1 of stock_level and of stock_bucket is sku.
	Datum sku = heap_getattr(row, 1, RelationGetDescr(trigger->tg_relation), &isnull);
	if (TRIGGER_FIRED_BEFORE(trigger->tg_event))
	{
		if (!isnull && stocksync::IsBundleComponent(sku))
			stocksync::NoteChangedComponent(sku);
		return PointerGetDatum(row);
	}
	// IsBundleComponent takes the invalidations that arrived (key_cache.hpp):
	// a bill-of-materials row committed while this transaction waited for a
	// stock row is seen here.
	if (isnull || !stocksync::IsBundleComponent(sku) || stocksync::CascadedAlready(sku))
		return PointerGetDatum(nullptr);
	stocksync::RaiseBundlesOf(sku);
	return PointerGetDatum(nullptr);
}
