// Per-backend key caches invalidated through the relcache; see key_cache.hpp.
#include "pg.hpp"

#include "direct.hpp"
#include "key_cache.hpp"

extern "C" {
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(stocksync_invalidate_key_caches);
}

namespace stocksync {

namespace {

// SKUs and channel codes are short; a longer key is probed every time.
constexpr int kKeySize = 64;
// A table with more keys than this is probed key by key: loading it again
// after each change would cost every backend more than its probes save.
constexpr long kMaxLoaded = 10000;
// A backend that has cached this many probed answers starts afresh: about
// 100 bytes a key.
constexpr long kMaxEntries = 100000;

struct Entry
{
	char key[kKeySize];	 // NUL-terminated (text never contains NUL)
	bool answer;
};

struct KeyCache
{
	const char *name;
	HTAB *table;
	Oid relid;
	// Every key of the table is in `table` (a key not found is absent);
	// otherwise `table` holds answers probed key by key.
	bool complete;
	// Raised by every invalidation of relid: an answer loaded or probed
	// across a change of it is not kept.
	uint64 generation;
	uint64 table_generation;
};

KeyCache caches[] = {
	{"stocksync channel codes", nullptr, InvalidOid, false, 0, 0},
	{"stocksync bundle components", nullptr, InvalidOid, false, 0, 0},
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

// The cache for `relid` as of now: reloaded whole if the table changed since
// (or never loaded), emptied if it grew too big.
void
Refresh(KeyCache &c, Oid relid, const char *column)
{
	bool current = c.table != nullptr && c.relid == relid && c.table_generation == c.generation;
	if (current && hash_get_num_entries(c.table) < kMaxEntries)
		return;
	if (c.table != nullptr)
		hash_destroy(c.table);
	c.table = NewTable(c.name);
	c.relid = relid;
	c.complete = false;
	c.table_generation = c.generation;
	if (current)
		return;	 // too many probed answers: probe afresh
	uint64 before = c.generation;
	Loader loader{c.table, 0};
	bool loaded = ScanColumn(relid, column, Load, &loader);
	if (c.generation != before)
	{
		// Changed while loading: what was read may be outdated.
		hash_destroy(c.table);
		c.table = nullptr;
		return;
	}
	c.complete = loaded;
	if (!loaded)
	{
		hash_destroy(c.table);
		c.table = NewTable(c.name);
	}
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
		return probe(key);	// changed while loading: ask the table itself
	Entry *hit = static_cast<Entry *>(hash_search(c.table, name, HASH_FIND, nullptr));
	if (hit != nullptr)
		return hit->answer;
	if (c.complete)
		return false;
	uint64 before = c.generation;
	bool answer = probe(key);
	if (c.generation == before && c.table != nullptr)
	{
		Entry *e = static_cast<Entry *>(hash_search(c.table, name, HASH_ENTER, nullptr));
		e->answer = answer;
	}
	return answer;
}

void
RegisterKeyCacheInvalidation()
{
	CacheRegisterRelcacheCallback(Invalidate, (Datum) 0);
}

}  // namespace stocksync

// Statement trigger on stocksync.channel and stocksync.bom (INSERT, UPDATE,
// DELETE, TRUNCATE): every backend's key caches of the table are dropped
// when the change commits (key_cache.hpp).
extern "C" Datum
stocksync_invalidate_key_caches(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "stocksync: invalidate_key_caches must be called as a trigger");
	CacheInvalidateRelcache(reinterpret_cast<TriggerData *>(fcinfo->context)->tg_relation);
	return PointerGetDatum(nullptr);
}
