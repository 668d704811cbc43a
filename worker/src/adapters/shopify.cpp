#include "adapters/shopify.hpp"

namespace stocksync::worker {

std::unique_ptr<ChannelAdapter> make_shopify_adapter(const ChannelConfig &cfg, AdapterEnv &, std::string &error) {
  error = "channel " + cfg.code + ": kind \"shopify\" is not yet supported by this build";
  return nullptr;
}

}  // namespace stocksync::worker
