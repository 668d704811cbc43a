// Parsing untrusted JSON (channel answers) within bounds: size first, then
// nesting depth, then nlohmann's parser without exceptions. A channel that
// answers with 10 MB or 100,000 nested brackets gets an error, not our stack.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace stocksync::worker {

struct JsonLimits {
  std::size_t max_bytes = 4u << 20;  // 4 MiB
  int max_depth = 32;                // channel answers nest 5 levels at most
};

// The deepest nesting of [ and { outside strings, stopping early once over
// `limit` (returns limit + 1 then).
int json_depth(std::string_view text, int limit);

// Parses `text` if within limits; otherwise nullopt and `error` says why.
std::optional<nlohmann::json> parse_bounded_json(std::string_view text, std::string *error = nullptr,
                                                 JsonLimits limits = {});

}  // namespace stocksync::worker
