// The privileges of SECURITY DEFINER ... SET search_path = pg_catalog, pg_temp
// for part of a call, for a function declared SECURITY INVOKER.
//
// Why: fmgr applies a function's SET clause on every call (a GUC nesting
// level, the setting parsed and assigned, then every GUC walked to undo it,
// and the session's search_path worked out again at its next use): 5.4 to
// 5.9 % of reserve()'s CPU per call, measured (docs/benchmarks.md).
// reserve()'s fast path needs neither the owner's identity nor a pinned
// search_path: it writes stocksync's tables through the table AM, which
// checks no table privileges, resolves no names and runs no user code
// (fast_reserve.cpp steps aside where any would run). Everything else
// reserve() does runs inside this scope, as a definer function would.
#pragma once

#include "pg.hpp"

namespace stocksync {

struct DefinerScope
{
	Oid saved_user;
	int saved_context;
	int guc_level;
};

// From here on the current user is `function`'s owner and search_path is
// pg_catalog, pg_temp, until LeaveDefinerScope. An error needs no leave: the
// abort of the transaction or subtransaction restores both, as it does for
// fmgr's own definer calls. Unlike fmgr, this calls no fmgr_hook (a security
// module such as sepgsql sees the call of reserve(), not the switch).
DefinerScope EnterDefinerScope(Oid function);
void LeaveDefinerScope(const DefinerScope &scope);

}  // namespace stocksync
