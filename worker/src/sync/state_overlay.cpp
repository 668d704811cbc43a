// See state_overlay.hpp.
#include "sync/state_overlay.hpp"

#include <map>
#include <utility>

namespace stocksync::worker {

bool write_applies(const ListingRow &row, const StateWrite &w) {
  return !w.set_acked || !row.acked_version || (w.acked_version && *w.acked_version >= *row.acked_version);
}

void apply_write(ListingRow &row, const StateWrite &w, WallTime now) {
  row.has_state = true;
  row.state = w.state;
  if (w.set_acked) {
    row.acked_qty = w.acked_qty;
    row.acked_version = w.acked_version;
    row.acked_at = now;
  }
  if (w.pushed_qty)
    row.pushed_qty = w.pushed_qty;
  row.attempts = w.attempts;
  row.last_error = w.last_error;
  row.retry_at = w.retry_at;
  row.push_key = w.push_key;
}

StateWrite compose_writes(StateWrite earlier, const StateWrite &later) {
  // The upsert ignores an acknowledgement older than the stored one; a listing
  // has one answer outstanding, so this guards a case the core cannot reach.
  if (later.set_acked && earlier.set_acked && earlier.acked_version &&
      (!later.acked_version || *later.acked_version < *earlier.acked_version))
    return earlier;
  StateWrite out = later;
  if (!later.set_acked) {
    out.set_acked = earlier.set_acked;
    out.acked_qty = earlier.acked_qty;
    out.acked_version = earlier.acked_version;
  }
  if (!later.pushed_qty)
    out.pushed_qty = earlier.pushed_qty;
  return out;
}

std::vector<StateWrite> fold_writes(std::vector<StateWrite> writes) {
  std::vector<StateWrite> out;
  out.reserve(writes.size());
  std::map<std::pair<std::string, std::string>, std::size_t> first;
  for (auto &w : writes) {
    auto [it, inserted] = first.emplace(std::make_pair(w.channel, w.external_id), out.size());
    if (inserted)
      out.push_back(std::move(w));
    else
      out[it->second] = compose_writes(std::move(out[it->second]), w);
  }
  return out;
}

}  // namespace stocksync::worker
