// Which listings a decoded change makes dirty; see changes.hpp.
#include "replication/changes.hpp"

namespace stocksync::worker::replication {
namespace {

using namespace pgoutput;

// Marks from one tuple of relation rel.
void from_tuple(const RelationCache &cache, const Relation &rel, const Tuple &t, DirtyMarks &out) {
  if (rel.nspname != "stocksync")
    return;
  // A hot SKU's bucket rows (stock_bucket) hold shares of its quantities
  // beside its stock_level row: a change to either changes what it publishes.
  if (rel.relname == "stock_level" || rel.relname == "stock_bucket" || rel.relname == "item") {
    if (auto sku = cache.text(rel.oid, t, "sku"))
      out.skus.push_back(*sku);
  } else if (rel.relname == "listing") {
    auto ch = cache.text(rel.oid, t, "channel");
    auto ext = cache.text(rel.oid, t, "external_id");
    if (ch && ext)
      out.listings.emplace_back(*ch, *ext);
  } else if (rel.relname == "channel") {
    if (auto code = cache.text(rel.oid, t, "code"))
      out.channels.push_back(*code);
  }
}

}  // namespace

bool collect_dirty(const RelationCache &cache, const Decoded &m, DirtyMarks &out, std::string &error) {
  auto rel_of = [&](Oid oid) -> const Relation * {
    const Relation *r = cache.find(oid);
    if (!r)
      error = "change to relation " + std::to_string(oid) + " before its Relation message";
    return r;
  };
  if (auto *ins = std::get_if<Insert>(&m)) {
    const Relation *r = rel_of(ins->relation);
    if (!r)
      return false;
    from_tuple(cache, *r, ins->new_tuple, out);
  } else if (auto *up = std::get_if<Update>(&m)) {
    const Relation *r = rel_of(up->relation);
    if (!r)
      return false;
    from_tuple(cache, *r, up->new_tuple, out);
    // A key change: the old row's listings are dirty too.
    if (up->old_key)
      from_tuple(cache, *r, *up->old_key, out);
    if (up->old_tuple)
      from_tuple(cache, *r, *up->old_tuple, out);
  } else if (auto *del = std::get_if<Delete>(&m)) {
    const Relation *r = rel_of(del->relation);
    if (!r)
      return false;
    if (del->old_key)
      from_tuple(cache, *r, *del->old_key, out);
    if (del->old_tuple)
      from_tuple(cache, *r, *del->old_tuple, out);
  } else if (std::holds_alternative<Truncate>(m)) {
    out.full_diff = true;
  }
  return true;
}

}  // namespace stocksync::worker::replication
