// See definer.hpp. The same steps, in the same order, as fmgr_security_definer.
#include "pg.hpp"

#include "definer.hpp"

extern "C" {
#include "catalog/pg_proc.h"
#include "utils/syscache.h"
}

namespace stocksync {

DefinerScope
EnterDefinerScope(Oid function)
{
	HeapTuple proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", function);
	Oid owner = reinterpret_cast<Form_pg_proc>(GETSTRUCT(proc))->proowner;
	ReleaseSysCache(proc);

	DefinerScope scope;
	GetUserIdAndSecContext(&scope.saved_user, &scope.saved_context);
	scope.guc_level = NewGUCNestLevel();
	SetUserIdAndSecContext(owner, scope.saved_context | SECURITY_LOCAL_USERID_CHANGE);
	(void) set_config_option("search_path", "pg_catalog, pg_temp", superuser() ? PGC_SUSET : PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return scope;
}

void
LeaveDefinerScope(const DefinerScope &scope)
{
	AtEOXact_GUC(true, scope.guc_level);
	SetUserIdAndSecContext(scope.saved_user, scope.saved_context);
}

}  // namespace stocksync
