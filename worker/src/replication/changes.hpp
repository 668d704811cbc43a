// Decoded pgoutput changes -> what they make dirty. Pure.
//
//   stocksync.stock_level (sku, ...)      -> every listing of that sku
//   stocksync.stock_bucket (sku, ...)     -> every listing of that sku (a hot
//                                            SKU's share of its stock_level row)
//   stocksync.item (sku, ...)             -> every listing of that sku (status)
//   stocksync.listing (channel, external_id, sku) -> that listing
//   stocksync.channel (code, ...)         -> every listing of that channel (mode)
//   TRUNCATE of any of them               -> a full diff
#pragma once

#include "replication/pgoutput.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stocksync::worker::replication {

struct DirtyMarks {
  std::vector<std::string> skus;
  std::vector<std::pair<std::string, std::string>> listings;  // (channel, external_id)
  std::vector<std::string> channels;
  bool full_diff = false;
  // The decoded transaction's id (pgoutput Begin; top-level, 32 bits): the
  // core holds the marks until our queries can see that transaction.
  std::uint32_t xid = 0;
  bool empty() const { return skus.empty() && listings.empty() && channels.empty() && !full_diff; }
};

// Adds what message m makes dirty to out; relations must already hold m's
// relation (Relation messages are put into it by the caller). Returns false
// with error set when a change names an unknown relation.
bool collect_dirty(const pgoutput::RelationCache &relations, const pgoutput::Decoded &m, DirtyMarks &out,
                   std::string &error);

}  // namespace stocksync::worker::replication
