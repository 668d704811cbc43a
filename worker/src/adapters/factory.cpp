// The adapter factory: channel kind -> adapter. Each kind's factory function
// lives in adapters/<kind>.{hpp,cpp}.
#include "channel_adapter.hpp"

#include "adapters/amazon.hpp"
#include "adapters/ebay.hpp"
#include "adapters/shopify.hpp"
#include "adapters/webhook.hpp"
#include "adapters/woocommerce.hpp"

namespace stocksync::worker {

// Builds the adapter for cfg.kind, or sets error.
std::unique_ptr<ChannelAdapter> make_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error) {
  if (cfg.kind == "shopify")
    return make_shopify_adapter(cfg, env, error);
  if (cfg.kind == "webhook")
    return make_webhook_adapter(cfg, env, error);
  if (cfg.kind == "amazon")
    return make_amazon_adapter(cfg, env, error);
  if (cfg.kind == "ebay")
    return make_ebay_adapter(cfg, env, error);
  if (cfg.kind == "woocommerce")
    return make_woocommerce_adapter(cfg, env, error);
  error = "channel " + cfg.code + ": unknown kind \"" + cfg.kind +
          "\" (expected shopify, amazon, ebay, woocommerce or webhook)";
  return nullptr;
}

}  // namespace stocksync::worker
