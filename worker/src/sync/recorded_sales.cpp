// Recorded orders against refused compare-and-sets; see recorded_sales.hpp.
#include "sync/recorded_sales.hpp"

#include <algorithm>

namespace stocksync::worker {

void RecordedSales::start(WallTime now) {
  from_ = now + kChannelClockSkew;
  accounts_.clear();
  hold_ended_.clear();
}

std::vector<std::string> RecordedSales::note(const RecordedSale &sale, WallTime now, SteadyTime steady_now) {
  std::vector<std::string> ended;
  while (!order_times_.empty() && steady_now - order_times_.front().first > kOrderMemory) {
    orders_.erase(order_times_.front().second);
    order_times_.pop_front();
  }
  // Too old: a delivery counted before may be forgotten. Dated ahead of us:
  // the channel's clock cannot be compared with an account's start.
  if (sale.taken_at < now - kOrderMaxAge || sale.taken_at > now + kChannelClockSkew)
    return ended;
  if (!orders_.insert(sale.order_ref).second)
    return ended;  // another delivery of an order already counted
  order_times_.emplace_back(steady_now, sale.order_ref);
  for (const auto &line : sale.lines) {
    if (line.listing.empty() || line.units <= 0)
      continue;
    Account &a = account(line.listing);
    if (sale.taken_at < a.from)
      continue;  // its drop may be in what the account forgot
    a.balance += line.units;
    a.credited_at = steady_now;
    if (a.held && a.balance >= 0) {
      a.held = false;
      hold_ended_.insert(line.listing);
      ended.push_back(line.listing);
    }
  }
  return ended;
}

bool RecordedSales::refused(const std::string &ext, int compared, int shown, bool uncertain, WallTime now,
                            SteadyTime steady_now) {
  hold_ended_.erase(ext);
  if (uncertain || shown >= compared) {
    restart(ext, now);  // the drop is not the channel's sales alone
    return false;
  }
  Account &a = account(ext);
  if (a.balance > 0 && steady_now - a.credited_at > credit_life_)
    a.balance = 0;
  a.balance -= compared - shown;
  a.held = a.balance < 0;
  return !a.held;
}

void RecordedSales::accepted(const std::string &ext, bool compared, WallTime now) {
  if (!compared) {
    restart(ext, now);
    return;
  }
  hold_ended_.erase(ext);
  auto it = accounts_.find(ext);
  if (it == accounts_.end())
    return;
  it->second.held = false;
  // The channel still showed the compared quantity: credit left is of
  // orders whose units have not dropped here (yet, or ever). Forgotten.
  it->second.balance = std::min(it->second.balance, 0);
}

RecordedSales::Account &RecordedSales::account(const std::string &ext) {
  return accounts_.try_emplace(ext, Account{from_, 0, false, {}}).first->second;
}

void RecordedSales::restart(const std::string &ext, WallTime now) {
  accounts_[ext] = Account{now + kChannelClockSkew, 0, false, {}};
  hold_ended_.erase(ext);
}

}  // namespace stocksync::worker
