// A parser for the GraphQL subset the adapters send to Shopify: one or more
// operations (query/mutation, optional name and variable definitions),
// fields with aliases and arguments (scalars, enums, lists, input objects,
// $variables), directives such as @idempotent(key: "..."), inline fragments
// and named fragments. Values are converted to JSON with variables resolved
// from the request's "variables" object.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace sim::gql {

using json = nlohmann::ordered_json;

struct Location {
  int line = 1, column = 1;
};

struct Value {
  enum class Kind { null, boolean, integer, floating, string, enumeration, list, object, variable };
  Kind kind = Kind::null;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;  // string, enum value or variable name
  std::vector<Value> list;
  std::vector<std::pair<std::string, Value>> object;
  Location loc;
};

using Arguments = std::vector<std::pair<std::string, Value>>;

struct Directive {
  std::string name;
  Arguments args;
  Location loc;
};

struct Selection;

struct Field {
  std::string alias;  // empty when none
  std::string name;
  Arguments args;
  std::vector<Directive> directives;
  std::vector<Selection> selections;
  Location loc;
  const std::string& response_key() const { return alias.empty() ? name : alias; }
  const Value* arg(const std::string& n) const;
  const Directive* directive(const std::string& n) const;
};

struct Selection {
  enum class Kind { field, inline_fragment, fragment_spread };
  Kind kind = Kind::field;
  Field field;
  std::string type_condition;  // inline fragment (may be empty)
  std::string fragment_name;   // spread
  std::vector<Selection> selections;
  Location loc;
};

struct VariableDef {
  std::string name;
  std::string type;  // as written, e.g. "InventorySetQuantitiesInput!"
  std::optional<Value> default_value;
};

struct Operation {
  std::string type = "query";  // query | mutation | subscription
  std::string name;
  std::vector<VariableDef> variables;
  std::vector<Directive> directives;
  std::vector<Selection> selections;
  Location loc;
};

struct Fragment {
  std::string name, type_condition;
  std::vector<Selection> selections;
};

struct Document {
  std::vector<Operation> operations;
  std::map<std::string, Fragment> fragments;
};

struct ParseError {
  std::string message;
  Location loc;
};

// Parses a document; limits: nesting depth 64, 100,000 tokens.
std::variant<Document, ParseError> parse(const std::string& source);

struct ValueError {
  std::string message;
  std::string variable;  // set when the problem is an undefined variable
};

// Converts a literal to JSON, replacing $variables with their values (enum -> string).
// `used_variable` is set when any part came from a variable.
std::variant<json, ValueError> to_json(const Value& v, const json& variables, bool* used_variable = nullptr);

}  // namespace sim::gql
