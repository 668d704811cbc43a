// The extension's entry point: module magic, and the ledger's guard trigger.
#include "pg.hpp"

#include "direct.hpp"
#include "errors.hpp"
#include "key_cache.hpp"
#include "settings.hpp"

extern "C" {
PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(stocksync_ledger_append_only);

PGDLLEXPORT void _PG_init(void);
}

namespace stocksync {
int optimistic_attempts = 8;
}

// Defines stocksync's settings and forgets cached relation OIDs when the
// tables change; plans are prepared on first use, not here.
void
_PG_init(void)
{
	DefineCustomIntVariable("stocksync.optimistic_attempts",
							"How often an optimistic reserve() re-reads a row whose version moved.",
							"After that many attempts it fails with SQLSTATE SS010.", &stocksync::optimistic_attempts,
							8, 1, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	MarkGUCPrefixReserved("stocksync");
	stocksync::RegisterDirectCatalogInvalidation();
	stocksync::RegisterKeyCacheInvalidation();
}

// Trigger on stocksync.ledger for UPDATE, DELETE (per row) and TRUNCATE: the
// ledger is the history every quantity is explained by, so nobody, not even
// its owner, may rewrite it.
extern "C" Datum
stocksync_ledger_append_only(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "stocksync: ledger_append_only must be called as a trigger");
	TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
	const char *operation = TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)   ? "UPDATE"
							: TRIGGER_FIRED_BY_DELETE(trigger->tg_event) ? "DELETE"
																		 : "TRUNCATE";
	ereport(ERROR,
			(errcode(stocksync::kAppendOnly), errmsg("the stocksync ledger is append-only: %s refused", operation),
			 errdetail("Every stock quantity is explained by the ledger's history."),
			 errhint("Record a correction with stocksync.adjust() or another movement instead.")));
	PG_RETURN_NULL();
}
