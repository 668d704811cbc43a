// Per-backend key caches invalidated through the relcache; see key_cache.hpp.
#include "pg.hpp"

#include "direct.hpp"
#include "key_cache.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/pg_trigger.h"
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
};

KeyCache caches[] = {
	{"stocksync channel codes", false, InvalidOid, nullptr, false, 0, 0},
	{"stocksync bundle components", false, InvalidOid, nullptr, false, 0, 0},
};

void
Invalidate(Datum, Oid relid)
{
	for (KeyCache &c : caches)
		if (relid == InvalidOid || relid == c.relid)
			c.generation++;
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
