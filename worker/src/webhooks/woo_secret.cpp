// wp_specialchars_decode(..., ENT_QUOTES); see woo_secret.hpp.
#include "webhooks/woo_secret.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace stocksync::worker::webhooks {
namespace {

// The character a numeric entity body ("#039", "#x27") stands for, or 0.
// WordPress knows only these: 39 ', 34 ", 60 <, 62 >, 38 &; decimal with
// leading zeros, hex (x or X) with leading zeros.
char numeric_entity(std::string_view body) {
  if (body.size() < 2 || body[0] != '#')
    return 0;
  bool hex = body[1] == 'x' || body[1] == 'X';
  std::string_view digits = body.substr(hex ? 2 : 1);
  while (digits.size() > 2 && digits.front() == '0')
    digits.remove_prefix(1);
  static const std::array<std::pair<std::string_view, char>, 5> dec{
      {{"39", '\''}, {"34", '"'}, {"60", '<'}, {"62", '>'}, {"38", '&'}}};
  static const std::array<std::pair<std::string_view, char>, 3> hexes{{{"27", '\''}, {"22", '"'}, {"26", '&'}}};
  if (hex) {
    for (const auto &[d, c] : hexes)
      if (digits == d)
        return c;
  } else {
    for (const auto &[d, c] : dec)
      if (digits == d)
        return c;
  }
  return 0;
}

}  // namespace

std::string wp_specialchars_decode_quotes(std::string_view text) {
  static const std::array<std::pair<std::string_view, char>, 4> named{
      {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::size_t semi = text[i] == '&' ? text.find(';', i + 1) : std::string_view::npos;
    if (semi != std::string_view::npos) {
      std::string_view body = text.substr(i + 1, semi - i - 1);
      char c = numeric_entity(body);
      for (const auto &[name, ch] : named)
        if (body == name)
          c = ch;
      if (c) {
        out += c;
        i = semi;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace stocksync::worker::webhooks
