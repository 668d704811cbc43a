// judge(); see drift_rules.hpp.
#include "reconcile/drift_rules.hpp"

#include <cstdlib>

namespace stocksync::worker::reconcile {

const char *to_string(Verdict v) {
  switch (v) {
  case Verdict::agree: return "agree";
  case Verdict::correct: return "correct";
  case Verdict::escalate: return "escalate";
  case Verdict::unsettled: return "unsettled";
  case Verdict::unreadable: return "unreadable";
  }
  return "unreadable";
}

Verdict judge(const ListingSnapshot &s, std::optional<int> shown, const DriftRules &rules) {
  if (!shown)
    return Verdict::unreadable;
  if (s.mode != "live" || !s.has_state || s.state != "acked" || !s.acked_qty || *s.acked_qty != s.desired_qty)
    return Verdict::unsettled;
  if (!s.acked_age_s || *s.acked_age_s < rules.settle_s)
    return Verdict::unsettled;
  int drift = *shown - *s.acked_qty;
  if (drift == 0)
    return Verdict::agree;
  return std::abs(drift) <= rules.max_correct_units ? Verdict::correct : Verdict::escalate;
}

}  // namespace stocksync::worker::reconcile
