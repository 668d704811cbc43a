// stocksync's settings (GUCs), defined in _PG_init.
#pragma once

namespace stocksync {

// stocksync.optimistic_attempts: how many times an optimistic reservation
// re-reads a row whose version moved before it fails with SS010. Bounded so a
// hot SKU cannot spin a backend.
extern int optimistic_attempts;

}  // namespace stocksync
