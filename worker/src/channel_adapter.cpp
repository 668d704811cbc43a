// Defaults shared by every ChannelAdapter.
#include "channel_adapter.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace stocksync::worker {

// The name of a push outcome, as stored in logs and metrics labels.
const char *to_string(PushOutcome outcome) {
  switch (outcome) {
  case PushOutcome::acked: return "acked";
  case PushOutcome::stale: return "stale";
  case PushOutcome::retryable: return "retryable";
  case PushOutcome::permanent: return "permanent";
  }
  return "unknown";
}

// Adapters that cannot read levels answer every listing with an error.
void ChannelAdapter::read_levels(std::vector<std::string> external_ids,
                                 std::function<void(std::vector<LevelReading>)> done) {
  std::vector<LevelReading> out;
  out.reserve(external_ids.size());
  for (auto &id : external_ids)
    out.push_back(LevelReading{std::move(id), std::nullopt, "channel cannot read levels"});
  // No io_context here: adapters overriding can_read_levels() override this too,
  // and the core never calls it when can_read_levels() is false.
  done(std::move(out));
}

// Adapters without authorized reads answer with a transport-style error.
void ChannelAdapter::authorized_get(const std::string &, std::chrono::milliseconds,
                                    std::function<void(HttpResponse)> done) {
  HttpResponse r;
  r.error = "this channel kind has no authorized reads";
  done(std::move(r));
}

}  // namespace stocksync::worker
