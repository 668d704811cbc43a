#include "buyers.hpp"

#include <algorithm>
#include <cmath>

namespace sim {

BuyerProcess::BuyerProcess(const Buyers& cfg, std::vector<double> rates_per_hour, double start, uint64_t seed,
                           const std::string& channel)
    : cfg_(cfg), start_(start), rng_(seed, channel + "/arrivals"), spike_rng_(seed, channel + "/spikes") {
  for (auto& w : cfg_.spikes) max_mult_ = std::max(max_mult_, w.multiplier);
  if (cfg_.random_spikes_per_hour > 0) max_mult_ = std::max(max_mult_, cfg_.spike_multiplier);
  next_spike_ = start_ + spike_rng_.exponential(cfg_.random_spikes_per_hour / 3600.0);
  for (double r : rates_per_hour) {
    rate_.push_back(std::max(0.0, r) / 3600.0);
    next_.push_back(start_ + rng_.exponential(rate_.back() * max_mult_));
  }
}

void BuyerProcess::grow_spikes(double t) {
  while (next_spike_ <= t) {
    random_spikes_.push_back({next_spike_, next_spike_ + cfg_.spike_duration_s, 0, cfg_.spike_multiplier});
    next_spike_ += spike_rng_.exponential(cfg_.random_spikes_per_hour / 3600.0);
  }
}

double BuyerProcess::multiplier(double t) {
  grow_spikes(t);
  double m = 1;
  double rel = t - start_;
  for (auto& w : cfg_.spikes)
    if (rel >= w.start && rel < w.end) m = std::max(m, w.multiplier);
  for (auto& w : random_spikes_)
    if (t >= w.start && t < w.end) m = std::max(m, w.multiplier);
  return m;
}

void BuyerProcess::run_until(double now, const std::function<void(size_t, double)>& arrive) {
  while (true) {
    size_t best = next_.size();
    for (size_t i = 0; i < next_.size(); ++i)
      if (next_[i] <= now && (best == next_.size() || next_[i] < next_[best])) best = i;
    if (best == next_.size()) return;
    double t = next_[best];
    bool accept = rng_.uniform() * max_mult_ < multiplier(t);
    next_[best] = t + rng_.exponential(rate_[best] * max_mult_);
    if (accept && !paused) arrive(best, t);
  }
}

}  // namespace sim
