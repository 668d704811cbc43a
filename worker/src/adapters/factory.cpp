// The adapter factory: channel kind -> adapter.
//
// Each kind's factory function lives in adapters/<kind>.{hpp,cpp}. Kinds
// whose header does not exist yet answer "not yet supported".
#include "channel_adapter.hpp"

#include "adapters/shopify.hpp"
#include "adapters/webhook.hpp"
#if __has_include("adapters/amazon.hpp")
#include "adapters/amazon.hpp"
#define STOCKSYNC_HAVE_AMAZON 1
#endif
#if __has_include("adapters/ebay.hpp")
#include "adapters/ebay.hpp"
#define STOCKSYNC_HAVE_EBAY 1
#endif
#if __has_include("adapters/woocommerce.hpp")
#include "adapters/woocommerce.hpp"
#define STOCKSYNC_HAVE_WOOCOMMERCE 1
#endif

namespace stocksync::worker {

// Builds the adapter for cfg.kind, or sets error.
std::unique_ptr<ChannelAdapter> make_adapter(const ChannelConfig &cfg, AdapterEnv &env, std::string &error) {
  if (cfg.kind == "shopify")
    return make_shopify_adapter(cfg, env, error);
  if (cfg.kind == "webhook")
    return make_webhook_adapter(cfg, env, error);
  if (cfg.kind == "amazon") {
#ifdef STOCKSYNC_HAVE_AMAZON
    return make_amazon_adapter(cfg, env, error);
#endif
  } else if (cfg.kind == "ebay") {
#ifdef STOCKSYNC_HAVE_EBAY
    return make_ebay_adapter(cfg, env, error);
#endif
  } else if (cfg.kind == "woocommerce") {
#ifdef STOCKSYNC_HAVE_WOOCOMMERCE
    return make_woocommerce_adapter(cfg, env, error);
#endif
  } else {
    error = "channel " + cfg.code + ": unknown kind \"" + cfg.kind +
            "\" (expected shopify, amazon, ebay, woocommerce or webhook)";
    return nullptr;
  }
  error = "channel " + cfg.code + ": kind \"" + cfg.kind + "\" is not yet supported by this build";
  return nullptr;
}

}  // namespace stocksync::worker
