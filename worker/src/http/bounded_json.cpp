// Bounded JSON parsing; see bounded_json.hpp.
#include "http/bounded_json.hpp"

namespace stocksync::worker {

int json_depth(std::string_view text, int limit) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) {
        max = depth;
        if (max > limit)
          return limit + 1;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

std::optional<nlohmann::json> parse_bounded_json(std::string_view text, std::string *error, JsonLimits limits) {
  auto fail = [&](std::string why) -> std::optional<nlohmann::json> {
    if (error)
      *error = std::move(why);
    return std::nullopt;
  };
  if (text.size() > limits.max_bytes)
    return fail("JSON body of " + std::to_string(text.size()) + " bytes exceeds " + std::to_string(limits.max_bytes));
  if (json_depth(text, limits.max_depth) > limits.max_depth)
    return fail("JSON nesting deeper than " + std::to_string(limits.max_depth));
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded())
    return fail("malformed JSON");
  return j;
}

}  // namespace stocksync::worker
