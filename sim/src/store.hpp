// The simulated channels' own state: listings with the quantity each channel
// shows (and its history), orders the buyers placed, and per-channel counters
// for the inspection endpoint. Only the io thread touches it (no locks).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sim {

struct HistoryEntry {
  double t = 0;
  int64_t quantity = 0;
  std::string cause;   // initial | push | order | cancel | manual_edit | silent_change | control
  std::string detail;  // e.g. the operation or order id
};

// One listing on one channel. Kind-specific fields are grouped; each kind uses its own.
struct Listing {
  std::string id;       // the channel's own id (see README: per kind)
  std::string sku;
  int64_t shown = 0;    // what buyers see and can buy
  double updated_at = 0;
  std::vector<HistoryEntry> history;
  std::string title, price = "19.90";
  double orders_per_hour = 0;

  // Shopify: one inventory level (item at location). shown == available.
  std::string inventory_item_id, location_id, variant_id, product_id;
  int64_t committed = 0, reserved = 0, damaged = 0, quality_control = 0, safety_stock = 0, incoming = 0;
  int64_t on_hand() const { return shown + committed + reserved + damaged + quality_control + safety_stock; }

  // Amazon
  std::string product_type, asin;
  std::optional<int64_t> lead_time_to_ship_max_days;
  std::string restock_date;

  // eBay: the listing shows min(ship-to-location total, offer quantity).
  std::string offer_id, listing_id;
  int64_t total_quantity = 0, offer_quantity = 0;
  // Further published offers of the SKU (other marketplaces): offer id ->
  // availableQuantity. Updated by bulk_update_price_quantity, not bought from.
  std::map<std::string, int64_t> other_offers;
  int64_t revisions_today = 0;
  int64_t revision_day = -1;
  int64_t sold_quantity = 0;

  // WooCommerce
  std::string parent_id;
  bool manage_stock = true;
};

struct Order {
  std::string id;        // channel's order id
  int64_t number = 0;    // sequence within the channel (1, 2, ...)
  std::string listing_id, sku;
  int64_t quantity = 0;
  std::string line_item_id;
  std::string price = "19.90";
  double created = 0, updated = 0;
  std::string status;    // channel's vocabulary
  bool cancelled = false;
  double cancelled_at = 0;
  std::string delivery;  // webhook | poll
};

struct Stats {
  std::map<std::string, int64_t> calls;       // by operation
  std::map<std::string, int64_t> statuses;    // by HTTP status (string key for JSON)
  int64_t throttled = 0;
  int64_t failed = 0;          // 5xx answered (injected or outage)
  int64_t timeouts = 0;        // requests never answered (injected)
  int64_t auth_failures = 0;
  int64_t buyer_arrivals_without_stock = 0;
};

}  // namespace sim
