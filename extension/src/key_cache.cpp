// Per-backend key caches invalidated through the relcache; see key_cache.hpp.
#include "pg.hpp"

#include "direct.hpp"
#include "key_cache.hpp"

extern "C" {
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "storage/lmgr.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(stocksync_invalidate_key_caches);
}

namespace stocksync {

namespace {

// SKUs and channel codes are short; a longer key is probed every time (and a
// table holding one is asked key by key).
constexpr int kKeySize = 128;
// A table with more keys than this is asked key by key: loading it again
// after each change would cost every backend more than its probes save.
constexpr long kMaxLoaded = 10000;
// A backend that has cached this many probed answers starts afresh: about
// 150 bytes a key.
constexpr long kMaxEntries = 20000;

struct Entry
{
	char key[kKeySize];	 // NUL-terminated (text never contains NUL)
	bool answer;
};

struct KeyCache
{
	const char *name;
	// Whether the fields below describe relid as of table_generation.
	bool valid;
	Oid relid;
	// NULL when the table is not cached (its invalidation triggers are
	// missing or disabled): every lookup asks the table.
	HTAB *table;
	// Every key of the table is in `table` (a key not found is absent);
	// otherwise `table` holds answers probed key by key.
	bool complete;
	// Raised by every invalidation of relid: what was read across a change
	// of it is not kept.
	uint64 generation;
	uint64 table_generation;
	// Filled (loaded, or a probed answer kept) by the transaction running
	// now while it may have changed the table (see ForgetOnAbort).
	bool filled_in_xact;
};

KeyCache caches[] = {
	{"stocksync channel codes", false, InvalidOid, nullptr, false, 0, 0, false},
	{"stocksync bundle components", false, InvalidOid, nullptr, false, 0, 0, false},
};

void
Invalidate(Datum, Oid relid)
{
	for (KeyCache &c : caches)
		if (relid == InvalidOid || relid == c.relid)
			c.generation++;
}

// What a transaction read of its own changes must not outlive it when it
// rolls back. The invalidation a change queues reaches this backend's caches
// at the end of the statement (as the trigger queues it, then at the next
// command counter increment), and a rollback replays only what was queued
// by then: a change made in the statement that read it (a data-modifying
// WITH, a user's trigger firing before stocksync's) and rolled back with it
// (an error later in that statement) left an answer nobody invalidates, such
// as a channel that was never committed, on which reserve()'s fast path then
// held orders (sql/key_cache_rollback.sql). So a rollback, of the
// transaction or of a subtransaction, drops whatever was filled since the
// transaction began while it held a lock that writes the table (a change
// takes one, before the statement reads anything); a commit keeps it. A
// transaction that only reads the tables, as reserve() loops with an
// exception block per order do, drops nothing when one of its orders fails.
void
ForgetOnAbort(XactEvent event, void *)
{
	bool aborted = event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE;
	bool ended = aborted || event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT;
	for (KeyCache &c : caches)
	{
		if (aborted && c.filled_in_xact)
			c.generation++;
		if (ended)
			c.filled_in_xact = false;
	}
}

void
ForgetOnSubAbort(SubXactEvent event, SubTransactionId, SubTransactionId, void *)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	for (KeyCache &c : caches)
		if (c.filled_in_xact)
		{
			c.generation++;
			c.filled_in_xact = false;  // nothing filled is kept now
		}
}

// Whether this transaction holds a lock that lets it write rows of relid.
bool
MayHaveWritten(Oid relid)
{
	LOCKTAG tag;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	return LockHeldByMe(&tag, RowExclusiveLock) || LockHeldByMe(&tag, ShareRowExclusiveLock) ||
		   LockHeldByMe(&tag, ExclusiveLock) || LockHeldByMe(&tag, AccessExclusiveLock);
}

void
NoteFilled(KeyCache &c)
{
	if (!c.filled_in_xact && MayHaveWritten(c.relid))
		c.filled_in_xact = true;
}

bool
KeyName(Datum key, char *name)
{
	text *t = DatumGetTextPP(key);
	int len = VARSIZE_ANY_EXHDR(t);
	if (len >= kKeySize)
		return false;
	memcpy(name, VARDATA_ANY(t), len);
	name[len] = '\0';
	return true;
}

HTAB *
NewTable(const char *name)
{
	HASHCTL ctl;
	ctl.keysize = kKeySize;
	ctl.entrysize = sizeof(Entry);
	ctl.hcxt = CacheMemoryContext;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

void
DropTable(KeyCache &c)
{
	if (c.table != nullptr)
		hash_destroy(c.table);
	c.table = nullptr;
	c.complete = false;
}

// Whether every change of the table's keys invalidates the caches: a row
// trigger and a TRUNCATE trigger calling stocksync.invalidate_key_caches(),
// both enabled for every session_replication_role.
bool
InvalidatedByTriggers(Oid relid)
{
	const DirectCatalog *cat = GetDirectCatalog();
	if (cat == nullptr)
		return false;
	Oid invalidate = cat->invalidate_key_caches_fn;
	Relation rel = table_open(relid, AccessShareLock);
	bool rows = false;
	bool truncate = false;
	for (int i = 0; rel->trigdesc != nullptr && i < rel->trigdesc->numtriggers; i++)
	{
		const Trigger &t = rel->trigdesc->triggers[i];
		if (t.tgenabled != TRIGGER_FIRES_ALWAYS || t.tgfoid != invalidate)
			continue;
		int16 type = t.tgtype;
		rows = rows || (TRIGGER_FOR_ROW(type) && TRIGGER_FOR_INSERT(type) && TRIGGER_FOR_UPDATE(type) &&
						TRIGGER_FOR_DELETE(type));
		truncate = truncate || TRIGGER_FOR_TRUNCATE(type);
	}
	table_close(rel, AccessShareLock);
	return rows && truncate;
}

// Every key of a table, as it is read.
struct Loader
{
	HTAB *table;
	long count;
};

bool
Load(Datum key, void *arg)
{
	Loader *loader = static_cast<Loader *>(arg);
	char name[kKeySize];
	if (loader->count >= kMaxLoaded || !KeyName(key, name))
		return false;  // too many, or too long: ask key by key
	Entry *e = static_cast<Entry *>(hash_search(loader->table, name, HASH_ENTER, nullptr));
	e->answer = true;
	loader->count++;
	return true;
}

// The cache for `relid` as of now: checked and reloaded whole if the table
// changed since (or was never read), emptied if it grew too big.
void
Refresh(KeyCache &c, Oid relid, const char *column)
{
	if (c.valid && c.relid == relid && c.table_generation == c.generation)
	{
		if (c.table != nullptr && hash_get_num_entries(c.table) >= kMaxEntries)
		{
			DropTable(c);  // too many probed answers: probe afresh
			c.table = NewTable(c.name);
		}
		return;
	}
	DropTable(c);
	c.relid = relid;
	c.table_generation = c.generation;
	// Both steps open relations, and so take the invalidations that arrived.
	if (InvalidatedByTriggers(relid))
	{
		c.table = NewTable(c.name);
		Loader loader{c.table, 0};
		NoteFilled(c);
		c.complete = ScanColumn(relid, column, Load, &loader);
		if (!c.complete)
		{
			DropTable(c);  // too many keys, or one too long: probe key by key
			c.table = NewTable(c.name);
		}
	}
	// Changed meanwhile: what was read may be outdated.
	c.valid = c.generation == c.table_generation;
	if (!c.valid)
		DropTable(c);
}

}  // namespace

bool
KeyCacheLookup(KeyCacheId id, Oid relid, const char *column, Datum key, bool (*probe)(Datum key))
{
	KeyCache &c = caches[static_cast<int>(id)];
	char name[kKeySize];
	if (!KeyName(key, name))
		return probe(key);
	AcceptInvalidationMessages();
	Refresh(c, relid, column);
	if (c.table == nullptr)
		return probe(key);	// not cacheable, or changed while being read
	Entry *hit = static_cast<Entry *>(hash_search(c.table, name, HASH_FIND, nullptr));
	if (hit != nullptr)
		return hit->answer;
	if (c.complete)
		return false;
	uint64 before = c.generation;
	bool answer = probe(key);
	if (c.generation == before)
	{
		NoteFilled(c);
		Entry *e = static_cast<Entry *>(hash_search(c.table, name, HASH_ENTER, nullptr));
		e->answer = answer;
	}
	return answer;
}

uint64
KeyCacheGeneration(KeyCacheId id)
{
	return caches[static_cast<int>(id)].generation;
}

void
RegisterKeyCacheInvalidation()
{
	CacheRegisterRelcacheCallback(Invalidate, (Datum) 0);
	RegisterXactCallback(ForgetOnAbort, nullptr);
	RegisterSubXactCallback(ForgetOnSubAbort, nullptr);
}

}  // namespace stocksync

// Trigger on stocksync.channel and stocksync.bom (per row for INSERT, UPDATE
// of the key and DELETE; per statement for TRUNCATE): every backend's key
// caches of the table are dropped when the change commits (key_cache.hpp).
// The invalidations of one transaction are merged, one per table.
extern "C" Datum
stocksync_invalidate_key_caches(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "stocksync: invalidate_key_caches must be called as a trigger");
	CacheInvalidateRelcache(reinterpret_cast<TriggerData *>(fcinfo->context)->tg_relation);
	return PointerGetDatum(nullptr);
}
