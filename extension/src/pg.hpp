// The one gateway to PostgreSQL's headers for every extension source file.
//
// PostgreSQL's headers are C: they are included here, inside extern "C", with
// postgres.h first as the server requires. Every .cpp of the extension includes
// this header before anything else, so macro clashes between PostgreSQL and
// C++ are handled in this one place and nowhere else.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "commands/trigger.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

// port.h turns these into pg_* macros, which collide with the C++ standard
// library's declarations; the extension never uses the STL (see
// CONVENTIONS.md), but undefining them keeps any later system header safe.
#undef printf
#undef snprintf
#undef vsnprintf
#undef sprintf
#undef fprintf
