// Per-backend answers to "does this table have a row with this key", for
// tables that change rarely and are asked on every reservation: the channel
// codes, and the SKUs that are bundle components. Two index probes cost a
// good part of what reserve() does; a hash lookup does not. The whole set of
// keys is loaded at once (a few channels, the components of a catalogue's
// bundles), so a backend's first reservations, and those of SKUs it has not
// seen, are answered from memory too.
//
// Kept until the table's keys change: row triggers on the table (and one
// for TRUNCATE; stocksync.invalidate_key_caches(), ENABLE ALWAYS, so
// logical replication's apply fires them too) queue a relcache invalidation
// of it, which every backend receives when the change commits, and this one
// at the end of the statement (and again if the change is rolled back).
// Each lookup first takes the invalidations that have arrived. An answer is
// then as fresh as a probe's with the snapshot of the moment the committing
// session sent them, which it does just after its commit becomes visible,
// and a change made earlier in the same statement (a data-modifying WITH)
// is seen from the next statement on. An invalidation that arrives while
// the table is read keeps what was read out of the cache, and a table
// whose triggers are missing or disabled is not cached at all. What a
// transaction filled is dropped when it, or any of its subtransactions,
// rolls back: it may have read the transaction's own change before that
// change's invalidation was queued (a data-modifying WITH), and a rollback
// replays only the invalidations queued by then.
#pragma once

#include "pg.hpp"

namespace stocksync {

enum class KeyCacheId
{
	kChannels,			// channel codes
	kBundleComponents,	// SKUs that bom names as a component
};

// Whether `key` (a text Datum) is one of the values of `column` in `relid`.
// The first lookup after a change of the table loads the whole column (which
// opens relations and so takes invalidations); a table with more keys than
// the cache loads is asked key by key instead, with probe(key), each answer
// cached. An answer read while the table changed is not kept.
bool KeyCacheLookup(KeyCacheId cache, Oid relid, const char *column, Datum key, bool (*probe)(Datum key));

// Rises with every invalidation of the cache's table that this backend has
// taken (AcceptInvalidationMessages): unchanged, an answer read before is
// still the answer.
uint64 KeyCacheGeneration(KeyCacheId cache);

// Registers the relcache callback, and the transaction callbacks that drop
// what a transaction filled when it rolls back (from _PG_init).
void RegisterKeyCacheInvalidation();

}  // namespace stocksync
