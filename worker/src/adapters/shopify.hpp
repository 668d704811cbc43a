// Shopify Admin GraphQL 2026-04: inventorySetQuantities with compare-and-set.
#pragma once

#include "channel_adapter.hpp"

namespace stocksync::worker {

std::unique_ptr<ChannelAdapter> make_shopify_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error);

}  // namespace stocksync::worker
