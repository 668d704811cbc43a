// Parsing of the [webhooks] table (toml++ kept out of webhook_config.hpp,
// which config.hpp and so most of the worker include).
#pragma once

#include "webhooks/webhook_config.hpp"

#include <toml++/toml.h>

#include <functional>
#include <map>
#include <string>

namespace stocksync::worker {

// Reads [webhooks] (t) into out. resolve_secrets(table, prefix) resolves
// <name> / <name>_env / <name>_file keys the way the rest of the file does.
// Returns an error message naming the key, or "" when the table is valid.
std::string parse_webhook_config(
    const toml::table &t, WebhookConfig &out,
    const std::function<std::map<std::string, std::string>(const toml::table &, const std::string &)> &resolve_secrets);

}  // namespace stocksync::worker
