// Answers not yet written, seen as if they were: a listing whose push was
// answered since the last round is decided in the round that writes the
// answer, instead of one round later (core.hpp, "One commit per round").
// Each function follows the upsert of PgDatabase::write_states() exactly, so
// that a row overlaid here reads as the same row loaded after the write.
#pragma once

#include "sync/interfaces.hpp"

#include <vector>

namespace stocksync::worker {

// Whether writing w changes the stored row: an acknowledgement older than the
// stored one is ignored (versions only move forward).
bool write_applies(const ListingRow &row, const StateWrite &w);

// The row as loading it again after w is written would return it; now
// stands for the write's now() (acked_at).
void apply_write(ListingRow &row, const StateWrite &w, WallTime now);

// One write with the effect of `earlier` and then `later` on the same
// listing (one statement may touch a row only once); earlier must apply
// (later is checked against it: an older acknowledgement leaves earlier).
StateWrite compose_writes(StateWrite earlier, const StateWrite &later);

// Folds every later write of a listing into its first one, keeping order.
std::vector<StateWrite> fold_writes(std::vector<StateWrite> writes);

}  // namespace stocksync::worker
