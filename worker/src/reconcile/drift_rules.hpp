// What one reading of a channel's shown quantity means (pure, unit-tested).
//
// The quantity to compare with is the one the channel last acknowledged
// (stocksync.listing_state.acked_qty): that is what it should show if
// nothing happened on its side. A listing is compared only when it is
// settled: state acked, acked equal to desired (no push due), the
// acknowledgement older than the settle time (Amazon applies pushes minutes
// after it accepts them), and a live channel. Then
//   shown == acked                     -> agree
//   |shown - acked| <= max_correct     -> correct (push desired again, with
//                                         shown as the compare-and-set base)
//   larger                             -> escalate (a person looks)
// Anything else is unsettled (a push pending, in flight, retrying or dead;
// shadow or paused channel) or unreadable (the read failed).
#pragma once

#include <optional>
#include <string>

namespace stocksync::worker::reconcile {

enum class Verdict { agree, correct, escalate, unsettled, unreadable };
const char *to_string(Verdict v);

// One listing as stocksync sees it (listing_target joined with listing_state).
struct ListingSnapshot {
  std::string external_id;
  std::string sku;
  std::string mode;  // live, shadow, paused
  bool has_state = false;
  std::string state;  // pending, in_flight, acked, retry, dead, shadow
  std::optional<int> acked_qty;
  int desired_qty = 0;
  std::optional<double> acked_age_s;  // now - acked_at
  std::string updated_at;             // listing_state.updated_at as text: the optimistic check
};

struct DriftRules {
  int max_correct_units = 5;
  double settle_s = 5;
};

Verdict judge(const ListingSnapshot &s, std::optional<int> shown, const DriftRules &rules);

}  // namespace stocksync::worker::reconcile
