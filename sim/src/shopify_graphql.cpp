#include "shopify_graphql.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

#include "ids.hpp"
#include "signing.hpp"
#include "timefmt.hpp"

namespace sim {

namespace {

const char* kItemGid = "gid://shopify/InventoryItem/";
const char* kLocationGid = "gid://shopify/Location/";
const char* kDoc = "https://shopify.dev/api/usage/rate-limits";
constexpr size_t kMaxInputArray = 250;  // §1.4: any input array, all Shopify APIs
constexpr int64_t kMaxQuantity = 1000000000;

// Builds a JSON object whose fields are moved in, in order. A braced list
// deep-copies every nested value, and a growing ordered object copies its
// fields too (their keys are const, so its vector cannot move them): the
// payloads of a 250-quantity mutation were mostly copies.
class Fields {
 public:
  explicit Fields(size_t n) { obj_.get_ref<json::object_t&>().reserve(n); }
  Fields& add(const char* key, json value) {
    obj_.get_ref<json::object_t&>().emplace_back(key, std::move(value));
    return *this;
  }
  json done() { return std::move(obj_); }

 private:
  json obj_ = json::object();
};

// Shopify's inventory reason codes (quantities-states page).
const std::set<std::string> kReasons = {
    "correction",          "cycle_count_available", "damaged",           "movement_canceled",   "movement_created",
    "movement_received",   "movement_updated",      "other",             "promotion",           "quality_control",
    "received",            "reservation_created",   "reservation_deleted", "reservation_updated", "restock",
    "safety_stock",        "shrinkage"};

// Input object types of the two mutations, 2026-04 (no compareQuantity / ignoreCompareQuantity).
struct InputFieldDef {
  const char* name;
  const char* type;
};
const std::map<std::string, std::vector<InputFieldDef>> kInputTypes = {
    {"InventorySetQuantitiesInput",
     {{"name", "String!"}, {"reason", "String!"}, {"referenceDocumentUri", "String"},
      {"quantities", "[InventoryQuantityInput!]!"}}},
    {"InventoryQuantityInput",
     {{"inventoryItemId", "ID!"}, {"locationId", "ID!"}, {"quantity", "Int!"}, {"changeFromQuantity", "Int"}}},
    {"InventoryAdjustQuantitiesInput",
     {{"name", "String!"}, {"reason", "String!"}, {"referenceDocumentUri", "String"},
      {"changes", "[InventoryChangeInput!]!"}}},
    {"InventoryChangeInput",
     {{"inventoryItemId", "ID!"}, {"locationId", "ID!"}, {"delta", "Int!"}, {"changeFromQuantity", "Int"},
      {"ledgerDocumentUri", "String"}}},
};

struct Problem {
  enum class Kind { undefined, required, type } kind;
  json path;              // relative to the argument
  std::string object;     // input object type holding the field
  std::string field;
  std::string expected;   // expected type
  json value;
};

std::string strip_bang(const std::string& t) { return !t.empty() && t.back() == '!' ? t.substr(0, t.size() - 1) : t; }

void check_input(const json& v, const std::string& type, const std::string& object, const std::string& field,
                 json path, std::vector<Problem>& out) {
  bool non_null = !type.empty() && type.back() == '!';
  std::string base = strip_bang(type);
  if (v.is_null()) {
    if (non_null) out.push_back({Problem::Kind::required, path, object, field, type, v});
    return;
  }
  if (base.front() == '[') {
    std::string inner = base.substr(1, base.size() - 2);
    if (!v.is_array()) {
      check_input(v, inner, object, field, path, out);  // input coercion: a single value is a list of one
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      json p = path;
      p.push_back(i);
      check_input(v[i], inner, object, field, p, out);
    }
    return;
  }
  auto it = kInputTypes.find(base);
  if (it != kInputTypes.end()) {
    if (!v.is_object()) {
      out.push_back({Problem::Kind::type, path, object, field, type, v});
      return;
    }
    for (auto& [k, val] : v.items()) {
      (void)val;
      bool known = false;
      for (auto& d : it->second) known = known || k == d.name;
      if (!known) {
        json p = path;
        p.push_back(k);
        out.push_back({Problem::Kind::undefined, p, base, k, "", v[k]});
      }
    }
    for (auto& d : it->second) {
      json p = path;
      p.push_back(d.name);
      if (!v.contains(d.name)) {
        if (std::string(d.type).back() == '!') out.push_back({Problem::Kind::required, p, base, d.name, d.type, {}});
      } else {
        check_input(v[d.name], d.type, base, d.name, p, out);
      }
    }
    return;
  }
  bool ok = true;
  if (base == "Int")
    ok = v.is_number_integer() && v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX;
  else if (base == "String")
    ok = v.is_string();
  else if (base == "ID")
    ok = v.is_string() || v.is_number_integer();
  else if (base == "Boolean")
    ok = v.is_boolean();
  if (!ok) out.push_back({Problem::Kind::type, path, object, field, type, v});
}

json locations(const gql::Location& l) { return json::array({{{"line", l.line}, {"column", l.column}}}); }

json path_to_dotted_problems(const std::vector<Problem>& ps, std::string& dotted) {
  json arr = json::array();
  for (auto& p : ps) {
    std::string d;
    for (auto& e : p.path) d += (d.empty() ? "" : ".") + (e.is_string() ? e.get<std::string>() : e.dump());
    dotted += (dotted.empty() ? "" : ", ") + d;
    std::string expl = p.kind == Problem::Kind::undefined  ? "Field is not defined on " + p.object
                       : p.kind == Problem::Kind::required ? "Expected value to not be null"
                                                           : "Could not coerce value " + p.value.dump() + " to " +
                                                                 strip_bang(p.expected);
    arr.push_back({{"path", p.path}, {"explanation", expl}});
  }
  return arr;
}

json user_error(const std::string& type, const std::string& code, json field, const std::string& message) {
  return {{"__typename", type}, {"code", code}, {"field", field}, {"message", message}};
}

std::string shopify_time(double t) {
  std::string s = iso8601(t);
  return s.substr(0, s.size() - 1) + "+00:00";
}

}  // namespace

struct ShopifyChannel::Exec {
  const gql::Document& doc;
  const json& vars;
  json errors = json::array();
};

ShopifyChannel::ShopifyChannel(ChannelConfig cfg, uint64_t seed, double start, double retry_compression)
    : Channel(std::move(cfg), seed, start, retry_compression),
      bucket_(cfg_.bucket_size, cfg_.restore_rate, start) {
  location_gids_.insert(kLocationGid + cfg_.location_id);
  for (size_t i = 0; i < listings_.size(); ++i) {
    const Listing& l = listings_[i];
    item_gids_.insert(kItemGid + l.inventory_item_id);
    location_gids_.insert(kLocationGid + l.location_id);
    level_index_[kItemGid + l.inventory_item_id + "|" + kLocationGid + l.location_id] = i;
  }
}

Response ShopifyChannel::server_error(int status) {
  const char* msg = status == 503 ? "Service Unavailable" : status == 502 ? "Bad Gateway" : "Internal Server Error";
  return json_response(status, dump({{"errors", msg}}));
}

json ShopifyChannel::cost_extension(double requested, const json& actual, double now) {
  return {{"cost",
           {{"requestedQueryCost", static_cast<int64_t>(requested)},
            {"actualQueryCost", actual.is_number() ? json(actual.get<int64_t>()) : actual},
            {"throttleStatus",
             {{"maximumAvailable", bucket_.maximum()},
              {"currentlyAvailable", std::floor(bucket_.available(now))},
              {"restoreRate", bucket_.restore_rate()}}}}}};
}

Response ShopifyChannel::throttled(double now) {
  // §1.5: HTTP 200, no data, actualQueryCost null. During a storm nothing is available.
  json body = {{"errors", json::array({{{"message", "Throttled"},
                                         {"extensions", {{"code", "THROTTLED"}, {"documentation", kDoc}}}}})},
               {"extensions",
                {{"cost",
                  {{"requestedQueryCost", 10},
                   {"actualQueryCost", nullptr},
                   {"throttleStatus",
                    {{"maximumAvailable", bucket_.maximum()},
                     {"currentlyAvailable", 0},
                     {"restoreRate", bucket_.restore_rate()}}}}}}}};
  (void)now;
  return json_response(200, dump(body));
}

Response ShopifyChannel::handle(const Request& req, const std::vector<std::string>& rest, double now,
                                double latency_s) {
  // rest: admin / api / {version} / graphql.json
  if (rest.size() != 4 || rest[0] != "admin" || rest[1] != "api" || rest[3] != "graphql.json") {
    count("not_found");
    return json_response(404, dump({{"errors", "Not Found"}}));
  }
  if (rest[2] != cfg_.api_version) {
    // The simulator speaks one dialect only; an adapter pinned elsewhere must fail loudly.
    count("not_found");
    return json_response(404, dump({{"errors", "Not Found"}}));
  }
  if (req.method != "POST") {
    count("graphql");
    return json_response(405, dump({{"errors", "Method Not Allowed"}}));
  }
  if (req.header("X-Shopify-Access-Token") != cfg_.access_token) {
    count("graphql");
    ++stats.auth_failures;
    return json_response(
        401, dump({{"errors", "[API] Invalid API key or access token (unrecognized login or wrong password)"}}));
  }
  bool raw = req.header("Content-Type").find("application/graphql") != std::string::npos;
  return graphql(req.body, raw, now, latency_s);
}

double ShopifyChannel::static_cost(const std::vector<gql::Selection>& sels, const gql::Document& doc,
                                   const json& vars, int depth) {
  if (depth > 64) return 0;
  double total = 0;
  for (auto& s : sels) {
    if (s.kind == gql::Selection::Kind::inline_fragment) {
      total += static_cost(s.selections, doc, vars, depth + 1);
      continue;
    }
    if (s.kind == gql::Selection::Kind::fragment_spread) {
      auto it = doc.fragments.find(s.fragment_name);
      if (it != doc.fragments.end()) total += static_cost(it->second.selections, doc, vars, depth + 1);
      continue;
    }
    const gql::Field& f = s.field;
    if (f.selections.empty()) continue;  // scalars and enums cost 0
    const gql::Value* first = f.arg("first");
    if (!first) first = f.arg("last");
    if (first) {
      // Connection: 2 + first x the cost of one node.
      double n = 0;
      auto r = gql::to_json(*first, vars);
      if (auto* j = std::get_if<json>(&r))
        if (j->is_number()) n = j->get<double>();
      double per_node = 0;
      for (auto& c : f.selections) {
        if (c.kind != gql::Selection::Kind::field) continue;
        if (c.field.name == "nodes") per_node += static_cost(c.field.selections, doc, vars, depth + 1);
        if (c.field.name == "edges")
          for (auto& e : c.field.selections)
            if (e.kind == gql::Selection::Kind::field && e.field.name == "node")
              per_node += static_cost(e.field.selections, doc, vars, depth + 1);
      }
      total += 2 + n * per_node;
    } else if (f.name == "nodes" && f.arg("ids")) {
      double n = 1;
      auto r = gql::to_json(*f.arg("ids"), vars);
      if (auto* j = std::get_if<json>(&r))
        if (j->is_array()) n = static_cast<double>(j->size());
      total += n * (1 + static_cost(f.selections, doc, vars, depth + 1));
    } else {
      total += 1 + static_cost(f.selections, doc, vars, depth + 1);
    }
  }
  return total;
}

Response ShopifyChannel::graphql(const std::string& body, bool raw_graphql, double now, double latency_s) {
  std::string query;
  json vars = json::object();
  std::string op_name;
  if (raw_graphql) {
    query = body;
  } else {
    json req = json::parse(body, nullptr, false);
    if (req.is_discarded() || !req.is_object() || !req.contains("query") || !req["query"].is_string()) {
      count("graphql");
      return json_response(400, dump({{"errors", {{"query", "Required parameter missing or invalid"}}}}));
    }
    query = req["query"].get<std::string>();
    if (req.contains("variables") && req["variables"].is_object()) vars = req["variables"];
    if (req.contains("operationName") && req["operationName"].is_string())
      op_name = req["operationName"].get<std::string>();
  }
  auto errors_only = [&](json errors) { return json_response(200, dump({{"errors", errors}})); };

  auto parsed = gql::parse(query);
  if (auto* err = std::get_if<gql::ParseError>(&parsed)) {
    count("graphql");
    return errors_only(json::array({{{"message", err->message}, {"locations", locations(err->loc)}}}));
  }
  gql::Document& doc = std::get<gql::Document>(parsed);
  const gql::Operation* op = nullptr;
  if (!op_name.empty()) {
    for (auto& o : doc.operations)
      if (o.name == op_name) op = &o;
    if (!op) {
      count("graphql");
      return errors_only(json::array({{{"message", "No operation named \"" + op_name + "\""}}}));
    }
  } else if (doc.operations.size() == 1) {
    op = &doc.operations[0];
  } else {
    count("graphql");
    return errors_only(json::array({{{"message", "An operation name is required"}}}));
  }
  bool is_mutation = op->type == "mutation";
  if (op->type == "subscription") {
    count("graphql");
    return errors_only(json::array({{{"message", "Subscriptions are not supported"}}}));
  }
  // Variables: declared defaults, then required ones present.
  json errors = json::array();
  for (auto& v : op->variables) {
    if (!vars.contains(v.name) && v.default_value) {
      auto r = gql::to_json(*v.default_value, json::object());
      if (auto* j = std::get_if<json>(&r)) vars[v.name] = *j;
    }
    if (!v.type.empty() && v.type.back() == '!' && (!vars.contains(v.name) || vars[v.name].is_null()))
      errors.push_back({{"message", "Variable $" + v.name + " of type " + v.type +
                                        " was provided invalid value"},
                        {"locations", locations(op->loc)},
                        {"extensions",
                         {{"value", nullptr},
                          {"problems", json::array({{{"path", json::array()},
                                                      {"explanation", "Expected value to not be null"}}})}}}});
  }
  std::string op_path = op->type + (op->name.empty() ? "" : " " + op->name);

  // Root fields (fragments at the root are expanded once).
  std::vector<const gql::Field*> roots;
  std::function<void(const std::vector<gql::Selection>&)> collect = [&](const std::vector<gql::Selection>& sels) {
    for (auto& s : sels) {
      if (s.kind == gql::Selection::Kind::field) roots.push_back(&s.field);
      else if (s.kind == gql::Selection::Kind::inline_fragment) collect(s.selections);
      else if (auto it = doc.fragments.find(s.fragment_name); it != doc.fragments.end())
        collect(it->second.selections);
    }
  };
  collect(op->selections);

  // Validate the mutation fields' arguments before anything is charged or applied.
  struct Prepared {
    json input;
    std::string key;
  };
  std::vector<Prepared> prepared(roots.size());
  static const std::set<std::string> kMutations = {"inventorySetQuantities", "inventoryAdjustQuantities"};
  static const std::set<std::string> kQueries = {"inventoryItem", "inventoryItems", "inventoryLevel", "location",
                                                 "locations",     "shop",           "nodes",          "node"};
  std::string first_op;
  for (size_t i = 0; i < roots.size(); ++i) {
    const gql::Field& f = *roots[i];
    if (first_op.empty()) first_op = f.name;
    if (f.name == "__typename") continue;
    const std::string root_type = is_mutation ? "Mutation" : "QueryRoot";
    if ((is_mutation && !kMutations.count(f.name)) || (!is_mutation && !kQueries.count(f.name))) {
      errors.push_back({{"message", "Field '" + f.name + "' doesn't exist on type '" + root_type + "'"},
                        {"locations", locations(f.loc)},
                        {"path", {op_path, f.name}},
                        {"extensions", {{"code", "undefinedField"}, {"typeName", root_type}, {"fieldName", f.name}}}});
      continue;
    }
    if (!is_mutation) continue;
    const bool is_set = f.name == "inventorySetQuantities";
    const std::string input_type = is_set ? "InventorySetQuantitiesInput" : "InventoryAdjustQuantitiesInput";
    const std::string list_field = is_set ? "quantities" : "changes";
    for (auto& a : f.args)
      if (a.first != "input")
        errors.push_back({{"message", "Field '" + f.name + "' doesn't accept argument '" + a.first + "'"},
                          {"locations", locations(a.second.loc)},
                          {"path", {op_path, f.name, a.first}},
                          {"extensions",
                           {{"code", "argumentNotAccepted"}, {"name", f.name}, {"typeName", "Field"},
                            {"argumentName", a.first}}}});
    const gql::Value* in = f.arg("input");
    if (!in) {
      errors.push_back({{"message", "Field '" + f.name + "' is missing required arguments: input"},
                        {"locations", locations(f.loc)},
                        {"path", {op_path, f.name}},
                        {"extensions",
                         {{"code", "missingRequiredArguments"}, {"className", "Field"}, {"name", f.name},
                          {"arguments", "input"}}}});
      continue;
    }
    bool from_var = false;
    auto r = gql::to_json(*in, vars, &from_var);
    if (auto* ve = std::get_if<gql::ValueError>(&r)) {
      errors.push_back({{"message", ve->message}, {"locations", locations(in->loc)},
                        {"extensions", {{"code", "variableNotDefined"}, {"variableName", ve->variable}}}});
      continue;
    }
    json input = std::get<json>(r);
    // §1.4: input arrays are capped at 250 items.
    if (input.is_object() && input.contains(list_field) && input[list_field].is_array() &&
        input[list_field].size() > kMaxInputArray) {
      errors.push_back({{"message", "The input array size of " + std::to_string(input[list_field].size()) +
                                        " is greater than the maximum allowed of " +
                                        std::to_string(kMaxInputArray) + "."},
                        {"locations", locations(in->loc)},
                        {"path", {f.name, "input", list_field}},
                        {"extensions", {{"code", "MAX_INPUT_SIZE_EXCEEDED"}}}});
      continue;
    }
    std::vector<Problem> problems;
    check_input(input, input_type + "!", "", "input", json::array(), problems);
    if (!problems.empty()) {
      if (in->kind == gql::Value::Kind::variable) {
        std::string dotted;
        json probs = path_to_dotted_problems(problems, dotted);
        errors.push_back({{"message", "Variable $" + in->s + " of type " + input_type +
                                          "! was provided invalid value for " + dotted},
                          {"locations", locations(in->loc)},
                          {"extensions", {{"value", input}, {"problems", probs}}}});
      } else {
        for (auto& p : problems) {
          json path = {op_path, f.name, "input"};
          for (auto& e : p.path) path.push_back(e);
          if (p.kind == Problem::Kind::undefined)
            errors.push_back({{"message", "InputObject '" + p.object + "' doesn't accept argument '" + p.field + "'"},
                              {"locations", locations(in->loc)},
                              {"path", path},
                              {"extensions",
                               {{"code", "argumentNotAccepted"}, {"name", p.object}, {"typeName", "InputObject"},
                                {"argumentName", p.field}}}});
          else if (p.kind == Problem::Kind::required)
            errors.push_back({{"message", "Argument '" + p.field + "' on InputObject '" + p.object +
                                              "' is required. Expected type " + p.expected},
                              {"locations", locations(in->loc)},
                              {"path", path},
                              {"extensions",
                               {{"code", "missingRequiredInputObjectAttribute"}, {"argumentName", p.field},
                                {"argumentType", p.expected}, {"inputObjectType", p.object}}}});
          else
            errors.push_back({{"message", "Argument '" + p.field + "' on InputObject '" + p.object +
                                              "' has an invalid value (" + p.value.dump() + "). Expected type '" +
                                              p.expected + "'."},
                              {"locations", locations(in->loc)},
                              {"path", path},
                              {"extensions",
                               {{"code", "argumentLiteralsIncompatible"}, {"typeName", "InputObject"},
                                {"argumentName", p.field}}}});
        }
      }
      continue;
    }
    // §0.1 / §1.2: @idempotent(key:) is required at runtime from 2026-04.
    const gql::Directive* idem = f.directive("idempotent");
    if (!idem) {
      errors.push_back({{"message", "The @idempotent directive is required for this mutation."},
                        {"locations", locations(f.loc)},
                        {"path", {f.name}},
                        {"extensions", {{"code", "BAD_REQUEST"}}}});
      continue;
    }
    const gql::Value* key = nullptr;
    for (auto& a : idem->args)
      if (a.first == "key") key = &a.second;
    json keyj;
    if (key) {
      auto kr = gql::to_json(*key, vars);
      if (auto* kj = std::get_if<json>(&kr)) keyj = *kj;
    }
    if (!keyj.is_string() || keyj.get<std::string>().empty()) {
      errors.push_back({{"message", "Directive 'idempotent' is missing required arguments: key"},
                        {"locations", locations(idem->loc)},
                        {"path", {op_path, f.name}},
                        {"extensions",
                         {{"code", "missingRequiredArguments"}, {"className", "Directive"}, {"name", "idempotent"},
                          {"arguments", "key"}}}});
      continue;
    }
    prepared[i] = {input, keyj.get<std::string>()};
  }
  count(first_op.empty() ? "graphql" : first_op);
  if (!errors.empty()) return errors_only(errors);

  // Cost: mutations 10 each, queries by the calculated-cost rules.
  double requested = 0;
  if (is_mutation) {
    for (auto* f : roots)
      if (f->name != "__typename") requested += 10;
  } else {
    requested = static_cost(op->selections, doc, vars, 0);
    if (requested < 1) requested = 1;
  }
  if (requested > cfg_.max_query_cost) {
    json e = {{"message", "Query cost is " + std::to_string(static_cast<int64_t>(requested)) +
                              ", which exceeds the single query max cost limit (" +
                              std::to_string(static_cast<int64_t>(cfg_.max_query_cost)) + ")."},
              {"extensions",
               {{"code", "MAX_COST_EXCEEDED"}, {"cost", requested}, {"maxCost", cfg_.max_query_cost},
                {"documentation", kDoc}}}};
    return json_response(200, dump({{"errors", json::array({e})}, {"extensions", cost_extension(requested, nullptr, now)}}));
  }
  if (!bucket_.try_take(requested, now)) {
    ++stats.throttled;
    json out = {{"errors", json::array({{{"message", "Throttled"},
                                          {"extensions", {{"code", "THROTTLED"}, {"documentation", kDoc}}}}})},
                {"extensions", cost_extension(requested, nullptr, now)}};
    return json_response(200, dump(out));
  }

  Exec ex{doc, vars};
  json data = json::object();
  for (size_t i = 0; i < roots.size(); ++i) {
    const gql::Field& f = *roots[i];
    std::vector<json> path{f.response_key()};
    if (f.name == "__typename") {
      data[f.response_key()] = is_mutation ? "Mutation" : "QueryRoot";
      continue;
    }
    if (is_mutation) {
      data[f.response_key()] = mutation_field(f, prepared[i].input, prepared[i].key, ex, now, latency_s);
      continue;
    }
    auto arg = [&](const char* n) -> json {
      const gql::Value* v = f.arg(n);
      if (!v) return nullptr;
      auto r = gql::to_json(*v, vars);
      if (auto* j = std::get_if<json>(&r)) return *j;
      return nullptr;
    };
    json value;
    if (f.name == "shop") {
      value = {{"__typename", "Shop"}, {"id", "gid://shopify/Shop/1"}, {"name", cfg_.name},
               {"myshopifyDomain", cfg_.shop_domain}};
    } else if (f.name == "inventoryItem") {
      json id = arg("id");
      value = nullptr;
      if (id.is_string())
        for (auto& l : listings_)
          if (kItemGid + l.inventory_item_id == id.get<std::string>()) {
            value = item_json(l);
            break;
          }
    } else if (f.name == "location") {
      json id = arg("id");
      value = id.is_string() && known_location(id.get<std::string>()) ? location_json(strip_gid(id.get<std::string>()))
                                                                        : json(nullptr);
    } else if (f.name == "inventoryLevel") {
      json id = arg("id");
      value = nullptr;
      if (id.is_string()) {
        std::string s = id.get<std::string>();
        for (auto& l : listings_)
          if (level_json(l)["id"] == s) value = level_json(l);
      }
    } else if (f.name == "inventoryItems") {
      std::vector<json> nodes;
      std::set<std::string> seen;
      json q = arg("query");
      std::string sku_filter;
      if (q.is_string() && q.get<std::string>().rfind("sku:", 0) == 0) sku_filter = q.get<std::string>().substr(4);
      for (auto& l : listings_)
        if (seen.insert(l.inventory_item_id).second && (sku_filter.empty() || l.sku == sku_filter))
          nodes.push_back(item_json(l));
      value = connection(nodes, f, ex, "InventoryItem");
    } else if (f.name == "locations") {
      std::vector<json> nodes;
      std::set<std::string> seen;
      for (auto& l : listings_)
        if (seen.insert(l.location_id).second) nodes.push_back(location_json(l.location_id));
      value = connection(nodes, f, ex, "Location");
    } else if (f.name == "nodes" || f.name == "node") {
      json ids = f.name == "nodes" ? arg("ids") : json::array({arg("id")});
      json out = json::array();
      if (ids.is_array())
        for (auto& id : ids) {
          json found = nullptr;
          if (id.is_string()) {
            std::string s = id.get<std::string>();
            for (auto& l : listings_) {
              if (kItemGid + l.inventory_item_id == s) {
                found = item_json(l);
                break;
              }
              if (kLocationGid + l.location_id == s) {
                found = location_json(l.location_id);
                break;
              }
            }
          }
          out.push_back(found);
        }
      value = f.name == "nodes" ? out : out[0];
    }
    data[f.response_key()] = complete(value, f, ex, path);
  }
  if (!ex.errors.empty()) {
    // Selection problems (unknown fields) are validation errors: no data.
    bucket_.refund(requested, now);
    return errors_only(ex.errors);
  }
  json out = {{"data", data}, {"extensions", cost_extension(requested, requested, now)}};
  return json_response(200, dump(out));
}

json ShopifyChannel::mutation_field(const gql::Field& f, const json& input, const std::string& key, Exec& ex,
                                    double now, double latency_s) {
  const bool is_set = f.name == "inventorySetQuantities";
  const std::string payload_type = is_set ? "InventorySetQuantitiesPayload" : "InventoryAdjustQuantitiesPayload";
  const std::string error_type = is_set ? "InventorySetQuantitiesUserError" : "InventoryAdjustQuantitiesUserError";
  // Expire old keys (retention window).
  while (!idem_expiry_.empty() && idem_expiry_.front().first < now) {
    idem_.erase(idem_expiry_.front().second);
    idem_expiry_.pop_front();
  }
  // Canonical (key-sorted) parameters: a true retry matches whatever the key order.
  std::string fingerprint = f.name + nlohmann::json::parse(dump(input)).dump();
  json refused;
  const json* payload = &refused;
  auto it = idem_.find(key);
  if (it != idem_.end() && now < it->second.in_flight_until) {
    refused = {{"__typename", payload_type},
               {"inventoryAdjustmentGroup", nullptr},
               {"userErrors", json::array({user_error(error_type, "IDEMPOTENCY_CONCURRENT_REQUEST", nullptr,
                                                      "A request with this idempotency key is already in progress. "
                                                      "Retry later.")})}};
  } else if (it != idem_.end() && it->second.fingerprint != fingerprint) {
    refused = {{"__typename", payload_type},
               {"inventoryAdjustmentGroup", nullptr},
               {"userErrors", json::array({user_error(error_type, "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", nullptr,
                                                      "The idempotency key was already used with different "
                                                      "parameters.")})}};
  } else if (it != idem_.end()) {
    payload = &it->second.payload;  // a true retry gets the original result
    ++stats.calls["idempotent_replay"];
  } else {
    IdemEntry entry{fingerprint, is_set ? set_quantities(input, now) : adjust_quantities(input, now),
                    now + latency_s * time_scale, now + cfg_.idempotency_retention_s};
    idem_expiry_.emplace_back(entry.expires, key);
    payload = &idem_.emplace(key, std::move(entry)).first->second.payload;
  }
  std::vector<json> path{f.response_key()};
  return complete(*payload, f, ex, path);
}

bool ShopifyChannel::known_item(const std::string& gid) const { return item_gids_.count(gid) > 0; }

bool ShopifyChannel::known_location(const std::string& gid) const { return location_gids_.count(gid) > 0; }

Listing* ShopifyChannel::level(const std::string& item_gid, const std::string& location_gid) {
  auto it = level_index_.find(item_gid + "|" + location_gid);
  return it == level_index_.end() ? nullptr : &listings_[it->second];
}

static int64_t quantity_of(const Listing& l, const std::string& name) {
  if (name == "available") return l.shown;
  if (name == "on_hand") return l.on_hand();
  if (name == "committed") return l.committed;
  if (name == "reserved") return l.reserved;
  if (name == "damaged") return l.damaged;
  if (name == "quality_control") return l.quality_control;
  if (name == "safety_stock") return l.safety_stock;
  if (name == "incoming") return l.incoming;
  return 0;
}

static std::string id_string(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

json ShopifyChannel::set_quantities(const json& input, double now) {
  const std::string T = "InventorySetQuantitiesUserError";
  json errs = json::array();
  std::string name = input["name"].get<std::string>();
  if (name != "available" && name != "on_hand")
    errs.push_back(user_error(T, "INVALID_NAME", {"input", "name"},
                              "The quantity name must be either 'available' or 'on_hand'."));
  if (!kReasons.count(input["reason"].get<std::string>()))
    errs.push_back(user_error(T, "INVALID_REASON", {"input", "reason"}, "The specified reason is invalid."));
  if (input.contains("referenceDocumentUri") && input["referenceDocumentUri"].is_string() &&
      input["referenceDocumentUri"].get<std::string>().find(':') == std::string::npos)
    errs.push_back(user_error(T, "INVALID_REFERENCE_DOCUMENT", {"input", "referenceDocumentUri"},
                              "The reference document URI is invalid."));
  const json& qs = input["quantities"];
  std::set<std::string> pairs;
  std::vector<Listing*> targets(qs.size(), nullptr);
  for (size_t i = 0; i < qs.size(); ++i) {
    const json& q = qs[i];
    std::string idx = std::to_string(i);
    std::string item = id_string(q["inventoryItemId"]), loc = id_string(q["locationId"]);
    if (!q.contains("changeFromQuantity")) {
      // 2026-04: changeFromQuantity must be present on every quantity (null opts out).
      errs.push_back(user_error(T, "COMPARE_QUANTITY_REQUIRED", {"input", "quantities", idx, "changeFromQuantity"},
                                "changeFromQuantity is required. Pass null to skip the check."));
    }
    if (!known_item(item)) {
      errs.push_back(user_error(T, "INVALID_INVENTORY_ITEM", {"input", "quantities", idx, "inventoryItemId"},
                                "The specified inventory item could not be found."));
    } else if (!known_location(loc)) {
      errs.push_back(user_error(T, "INVALID_LOCATION", {"input", "quantities", idx, "locationId"},
                                "The specified location could not be found."));
    } else if (!(targets[i] = level(item, loc))) {
      errs.push_back(user_error(T, "ITEM_NOT_STOCKED_AT_LOCATION", {"input", "quantities", idx, "locationId"},
                                "The specified inventory item is not stocked at the location."));
    }
    if (!pairs.insert(item + "|" + loc).second)
      errs.push_back(user_error(T, "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", {"input", "quantities", idx},
                                "The combination of inventoryItemId and locationId must be unique."));
    int64_t quantity = q["quantity"].get<int64_t>();
    if (quantity < 0)
      errs.push_back(user_error(T, "INVALID_QUANTITY_NEGATIVE", {"input", "quantities", idx, "quantity"},
                                "The quantity can't be negative."));
    else if (quantity > kMaxQuantity)
      errs.push_back(user_error(T, "INVALID_QUANTITY_TOO_HIGH", {"input", "quantities", idx, "quantity"},
                                "The quantity can't be higher than 1,000,000,000."));
  }
  auto failed = [&](json e) {
    return json{{"__typename", "InventorySetQuantitiesPayload"}, {"inventoryAdjustmentGroup", nullptr},
                {"userErrors", e}};
  };
  if (!errs.empty()) return failed(errs);
  // Compare-and-set: every changeFromQuantity that is not null must match; all or nothing.
  for (size_t i = 0; i < qs.size(); ++i) {
    const json& c = qs[i]["changeFromQuantity"];
    if (!c.is_null() && c.get<int64_t>() != quantity_of(*targets[i], name))
      errs.push_back(user_error(T, "CHANGE_FROM_QUANTITY_STALE",
                                {"input", "quantities", std::to_string(i), "changeFromQuantity"},
                                "The changeFromQuantity value does not match persisted value."));
  }
  if (!errs.empty()) return failed(errs);
  json changes = json::array();
  for (size_t i = 0; i < qs.size(); ++i) {
    Listing& l = *targets[i];
    int64_t delta = qs[i]["quantity"].get<int64_t>() - quantity_of(l, name);
    set_shown(l, l.shown + delta, now, "push", "inventorySetQuantities");
    if (delta == 0) continue;
    for (const char* n : {"available", "on_hand"})
      changes.push_back(inventory_change(l, n, delta, nullptr));
  }
  return adjustment_payload("InventorySetQuantitiesPayload", input, std::move(changes), now);
}

json ShopifyChannel::adjust_quantities(const json& input, double now) {
  const std::string T = "InventoryAdjustQuantitiesUserError";
  static const std::set<std::string> kNames = {"available",       "on_hand",      "damaged", "incoming",
                                               "quality_control", "safety_stock", "reserved"};
  json errs = json::array();
  std::string name = input["name"].get<std::string>();
  if (!kNames.count(name))
    errs.push_back(user_error(T, "INVALID_QUANTITY_NAME", {"input", "name"}, "The quantity name is invalid."));
  if (!kReasons.count(input["reason"].get<std::string>()))
    errs.push_back(user_error(T, "INVALID_REASON", {"input", "reason"}, "The specified reason is invalid."));
  const json& cs = input["changes"];
  std::vector<Listing*> targets(cs.size(), nullptr);
  for (size_t i = 0; i < cs.size(); ++i) {
    const json& c = cs[i];
    std::string idx = std::to_string(i);
    std::string item = id_string(c["inventoryItemId"]), loc = id_string(c["locationId"]);
    if (cfg_.adjust_requires_change_from && !c.contains("changeFromQuantity"))
      errs.push_back(user_error(T, "COMPARE_QUANTITY_REQUIRED", {"input", "changes", idx, "changeFromQuantity"},
                                "changeFromQuantity is required. Pass null to skip the check."));
    if (!known_item(item))
      errs.push_back(user_error(T, "INVALID_INVENTORY_ITEM", {"input", "changes", idx, "inventoryItemId"},
                                "The specified inventory item could not be found."));
    else if (!known_location(loc))
      errs.push_back(user_error(T, "INVALID_LOCATION", {"input", "changes", idx, "locationId"},
                                "The specified location could not be found."));
    else if (!(targets[i] = level(item, loc)))
      errs.push_back(user_error(T, "ITEM_NOT_STOCKED_AT_LOCATION", {"input", "changes", idx, "locationId"},
                                "The specified inventory item is not stocked at the location."));
    bool has_ledger = c.contains("ledgerDocumentUri") && !c["ledgerDocumentUri"].is_null();
    if (name == "available" && has_ledger)
      errs.push_back(user_error(T, "INVALID_AVAILABLE_DOCUMENT", {"input", "changes", idx, "ledgerDocumentUri"},
                                "A ledger document URI is not allowed when adjusting available."));
    if (name != "available" && kNames.count(name) && !has_ledger)
      errs.push_back(user_error(T, "INVALID_LEDGER_DOCUMENT", {"input", "changes", idx, "ledgerDocumentUri"},
                                "A ledger document URI is required for this quantity name."));
    int64_t delta = c["delta"].get<int64_t>();
    if (delta > kMaxQuantity)
      errs.push_back(user_error(T, "INVALID_QUANTITY_TOO_HIGH", {"input", "changes", idx, "delta"},
                                "The quantity can't be higher than 1,000,000,000."));
    if (delta < -kMaxQuantity)
      errs.push_back(user_error(T, "INVALID_QUANTITY_TOO_LOW", {"input", "changes", idx, "delta"},
                                "The quantity can't be lower than -1,000,000,000."));
  }
  auto failed = [&](json e) {
    return json{{"__typename", "InventoryAdjustQuantitiesPayload"}, {"inventoryAdjustmentGroup", nullptr},
                {"userErrors", e}};
  };
  if (!errs.empty()) return failed(errs);
  for (size_t i = 0; i < cs.size(); ++i) {
    const json& c = cs[i]["changeFromQuantity"];
    if (c.is_number_integer() && c.get<int64_t>() != quantity_of(*targets[i], name))
      errs.push_back(user_error(T, "CHANGE_FROM_QUANTITY_STALE",
                                {"input", "changes", std::to_string(i), "changeFromQuantity"},
                                "The changeFromQuantity value does not match persisted value."));
  }
  if (!errs.empty()) return failed(errs);
  json changes = json::array();
  for (size_t i = 0; i < cs.size(); ++i) {
    Listing& l = *targets[i];
    int64_t d = cs[i]["delta"].get<int64_t>();
    std::vector<std::string> touched{name};
    if (name == "available" || name == "on_hand") {
      set_shown(l, l.shown + d, now, "push", "inventoryAdjustQuantities");
      touched.push_back(name == "available" ? "on_hand" : "available");
    } else if (name == "incoming") {
      l.incoming += d;
    } else {
      if (name == "damaged") l.damaged += d;
      if (name == "quality_control") l.quality_control += d;
      if (name == "safety_stock") l.safety_stock += d;
      if (name == "reserved") l.reserved += d;
      touched.push_back("on_hand");
    }
    for (auto& n : touched)
      changes.push_back(
          inventory_change(l, n, d, n == name ? cs[i].value("ledgerDocumentUri", json(nullptr)) : json()));
  }
  return adjustment_payload("InventoryAdjustQuantitiesPayload", input, std::move(changes), now);
}

// The payload both mutations answer with once applied: one adjustment group
// holding every change.
// The big values go in by move, after the small ones: a braced list would
// deep-copy each of them, and so would the growth of an ordered object (its
// pairs' keys are const, so its vector copies them), hence the reserve.
json ShopifyChannel::adjustment_payload(const char* payload_type, const json& input, json changes, double now) {
  ++group_seq_;
  json group = Fields(7)
                   .add("__typename", "InventoryAdjustmentGroup")
                   .add("id", "gid://shopify/InventoryAdjustmentGroup/" + std::to_string(1000000 + group_seq_))
                   .add("createdAt", iso8601(now))
                   .add("reason", input["reason"])
                   .add("referenceDocumentUri", input.value("referenceDocumentUri", json(nullptr)))
                   .add("app", nullptr)
                   .add("changes", std::move(changes))
                   .done();
  return Fields(3)
      .add("__typename", payload_type)
      .add("inventoryAdjustmentGroup", std::move(group))
      .add("userErrors", json::array())
      .done();
}

json ShopifyChannel::inventory_change(const Listing& l, const std::string& name, int64_t delta,
                                      json ledger_document_uri) const {
  return Fields(7)
      .add("__typename", "InventoryChange")
      .add("name", name)
      .add("delta", delta)
      .add("quantityAfterChange", quantity_of(l, name))
      .add("ledgerDocumentUri", std::move(ledger_document_uri))
      .add("item", item_json(l))
      .add("location", location_json(l.location_id))
      .done();
}

json ShopifyChannel::item_json(const Listing& l) const {
  json product = Fields(3)
                     .add("__typename", "Product")
                     .add("id", "gid://shopify/Product/" + l.product_id)
                     .add("title", l.title)
                     .done();
  json variant = Fields(6)
                     .add("__typename", "ProductVariant")
                     .add("id", "gid://shopify/ProductVariant/" + l.variant_id)
                     .add("legacyResourceId", l.variant_id)
                     .add("sku", l.sku)
                     .add("title", l.title)
                     .add("product", std::move(product))
                     .done();
  return Fields(9)
      .add("__typename", "InventoryItem")
      .add("id", kItemGid + l.inventory_item_id)
      .add("legacyResourceId", l.inventory_item_id)
      .add("sku", l.sku)
      .add("tracked", true)
      .add("requiresShipping", true)
      .add("createdAt", iso8601(start_))
      .add("updatedAt", iso8601(l.updated_at))
      .add("variant", std::move(variant))
      .done();
}

json ShopifyChannel::location_json(const std::string& id) const {
  return Fields(5)
      .add("__typename", "Location")
      .add("id", kLocationGid + id)
      .add("legacyResourceId", id)
      .add("name", "Location " + id)
      .add("isActive", true)
      .done();
}

json ShopifyChannel::level_json(const Listing& l) const {
  return {{"__typename", "InventoryLevel"},
          {"id", "gid://shopify/InventoryLevel/" + l.location_id + "?inventory_item_id=" + l.inventory_item_id},
          {"createdAt", iso8601(start_)},
          {"updatedAt", iso8601(l.updated_at)},
          {"isActive", true},
          {"canDeactivate", true},
          {"item", item_json(l)},
          {"location", location_json(l.location_id)}};
}

json ShopifyChannel::connection(const std::vector<json>& all, const gql::Field& f, Exec& ex, const std::string& type) {
  auto arg = [&](const char* n) -> json {
    const gql::Value* v = f.arg(n);
    if (!v) return nullptr;
    auto r = gql::to_json(*v, ex.vars);
    if (auto* j = std::get_if<json>(&r)) return *j;
    return nullptr;
  };
  json first = arg("first"), last = arg("last"), after = arg("after"), before = arg("before");
  if (!first.is_number_integer() && !last.is_number_integer()) {
    ex.errors.push_back({{"message", "you must provide one of first or last"},
                         {"locations", locations(f.loc)},
                         {"path", {f.response_key()}}});
    return nullptr;
  }
  int64_t n = first.is_number_integer() ? first.get<int64_t>() : last.get<int64_t>();
  if (n < 0 || n > 250) {
    ex.errors.push_back({{"message", "The maximum value for first or last is 250."},
                         {"locations", locations(f.loc)},
                         {"path", {f.response_key()}}});
    return nullptr;
  }
  auto decode = [](const json& c) -> int64_t {
    if (!c.is_string()) return -1;
    auto d = base64_decode(c.get<std::string>());
    if (!d || d->rfind("cursor:", 0) != 0) return -1;
    return std::atoll(d->c_str() + 7);
  };
  int64_t lo = 0, hi = static_cast<int64_t>(all.size());  // [lo, hi)
  if (after.is_string()) lo = std::max<int64_t>(lo, decode(after) + 1);
  if (before.is_string() && decode(before) >= 0) hi = std::min<int64_t>(hi, decode(before));
  int64_t b = lo, e = hi;
  if (first.is_number_integer()) e = std::min(hi, lo + n);
  else b = std::max(lo, hi - n);
  json nodes = json::array(), edges = json::array();
  for (int64_t i = b; i < e; ++i) {
    std::string cur = base64_encode("cursor:" + std::to_string(i));
    nodes.push_back(all[static_cast<size_t>(i)]);
    edges.push_back({{"__typename", type + "Edge"}, {"cursor", cur}, {"node", all[static_cast<size_t>(i)]}});
  }
  json start = b < e ? json(base64_encode("cursor:" + std::to_string(b))) : json(nullptr);
  json end = b < e ? json(base64_encode("cursor:" + std::to_string(e - 1))) : json(nullptr);
  return {{"__typename", type + "Connection"},
          {"nodes", nodes},
          {"edges", edges},
          {"pageInfo",
           {{"__typename", "PageInfo"},
            {"hasNextPage", e < static_cast<int64_t>(all.size())},
            {"hasPreviousPage", b > 0},
            {"startCursor", start},
            {"endCursor", end}}}};
}

bool ShopifyChannel::hook(const std::string& type, const gql::Field& f, const json& obj, Exec& ex, json& out) {
  auto arg = [&](const char* n) -> json {
    const gql::Value* v = f.arg(n);
    if (!v) return nullptr;
    auto r = gql::to_json(*v, ex.vars);
    if (auto* j = std::get_if<json>(&r)) return *j;
    return nullptr;
  };
  if ((type == "InventoryItem" || type == "Location") && (f.name == "inventoryLevels" || f.name == "inventoryLevel")) {
    std::string id = obj["id"].get<std::string>();
    std::vector<json> levels;
    json want = f.name == "inventoryLevel" ? arg(type == "InventoryItem" ? "locationId" : "inventoryItemId") : json();
    for (auto& l : listings_) {
      bool mine = type == "InventoryItem" ? kItemGid + l.inventory_item_id == id : kLocationGid + l.location_id == id;
      if (!mine) continue;
      if (f.name == "inventoryLevel") {
        std::string other = type == "InventoryItem" ? kLocationGid + l.location_id : kItemGid + l.inventory_item_id;
        if (want.is_string() && want.get<std::string>() == other) {
          out = level_json(l);
          return true;
        }
        continue;
      }
      levels.push_back(level_json(l));
    }
    out = f.name == "inventoryLevel" ? json(nullptr) : connection(levels, f, ex, "InventoryLevel");
    return true;
  }
  if (type == "InventoryLevel" && f.name == "quantities") {
    json names = arg("names");
    std::string item = obj["item"]["id"].get<std::string>(), loc = obj["location"]["id"].get<std::string>();
    Listing* l = level(item, loc);
    out = json::array();
    if (l && names.is_array())
      for (auto& n : names)
        if (n.is_string())
          out.push_back({{"__typename", "InventoryQuantity"},
                         {"id", "gid://shopify/InventoryQuantity/" + l->inventory_item_id + "-" + n.get<std::string>()},
                         {"name", n},
                         {"quantity", quantity_of(*l, n.get<std::string>())},
                         {"updatedAt", iso8601(l->updated_at)}});
    return true;
  }
  return false;
}

json ShopifyChannel::complete(const json& v, const gql::Field& f, Exec& ex, std::vector<json>& path) {
  if (v.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < v.size(); ++i) {
      path.push_back(i);
      out.push_back(complete(v[i], f, ex, path));
      path.pop_back();
    }
    return out;
  }
  bool is_obj = v.is_object() && v.contains("__typename");
  if (is_obj && f.selections.empty()) {
    ex.errors.push_back({{"message", "Field must have selections (field '" + f.name + "' returns " +
                                         v["__typename"].get<std::string>() + " but has no selections. Did you mean '" +
                                         f.name + " { ... }'?)"},
                         {"locations", locations(f.loc)},
                         {"path", json(path)},
                         {"extensions", {{"code", "selectionMismatch"}, {"nodeName", "field '" + f.name + "'"}}}});
    return nullptr;
  }
  if (is_obj) return project(v, f.selections, ex, path);
  if (!v.is_null() && !f.selections.empty()) {
    ex.errors.push_back({{"message", "Selections can't be made on scalars (field '" + f.name + "')"},
                         {"locations", locations(f.loc)},
                         {"path", json(path)},
                         {"extensions", {{"code", "selectionMismatch"}}}});
    return nullptr;
  }
  return v;
}

json ShopifyChannel::project(const json& obj, const std::vector<gql::Selection>& sels, Exec& ex,
                            std::vector<json>& path) {
  json out = json::object();
  out.get_ref<json::object_t&>().reserve(sels.size());  // growth would copy every field (see Fields)
  const std::string type = obj["__typename"].get<std::string>();
  for (auto& s : sels) {
    if (s.kind != gql::Selection::Kind::field) {
      const std::vector<gql::Selection>* inner = &s.selections;
      std::string cond = s.type_condition;
      if (s.kind == gql::Selection::Kind::fragment_spread) {
        auto it = ex.doc.fragments.find(s.fragment_name);
        if (it == ex.doc.fragments.end()) {
          ex.errors.push_back({{"message", "Fragment " + s.fragment_name + " was used, but not defined"},
                               {"locations", locations(s.loc)}});
          continue;
        }
        inner = &it->second.selections;
        cond = it->second.type_condition;
      }
      if (cond.empty() || cond == type || cond == "Node") out.update(project(obj, *inner, ex, path));
      continue;
    }
    const gql::Field& f = s.field;
    if (f.name == "__typename") {
      out[f.response_key()] = type;
      continue;
    }
    path.push_back(f.response_key());
    json hooked;
    const json* v = &hooked;
    if (!hook(type, f, obj, ex, hooked)) {
      auto it = obj.find(f.name);
      if (f.name.rfind("__", 0) == 0 || it == obj.end()) {
        ex.errors.push_back({{"message", "Field '" + f.name + "' doesn't exist on type '" + type + "'"},
                             {"locations", locations(f.loc)},
                             {"path", json(path)},
                             {"extensions", {{"code", "undefinedField"}, {"typeName", type}, {"fieldName", f.name}}}});
        path.pop_back();
        continue;
      }
      v = &*it;
    }
    out[f.response_key()] = complete(*v, f, ex, path);
    path.pop_back();
  }
  return out;
}

// ---- orders and webhooks ----

std::string ShopifyChannel::new_order_id(int64_t n) { return std::to_string(5000000000000LL + n * 1009); }

void ShopifyChannel::init_order(Order& o, const Listing& l, double now) {
  (void)l;
  (void)now;
  o.status = "paid";
  o.line_item_id = std::to_string(13000000000000LL + o.number * 31);
  // Shopify counts an unfulfilled order as committed (§1.7 inventory states).
}

json ShopifyChannel::order_json(const Order& o) const {
  const Listing* l = find(o.listing_id);
  double price = std::atof(o.price.c_str());
  char total[32];
  std::snprintf(total, sizeof total, "%.2f", price * static_cast<double>(o.quantity));
  json li = {{"id", std::stoll(o.line_item_id)},
             {"admin_graphql_api_id", "gid://shopify/LineItem/" + o.line_item_id},
             {"variant_id", l ? json(std::stoll(l->variant_id)) : json(nullptr)},
             {"product_id", l ? json(std::stoll(l->product_id)) : json(nullptr)},
             {"sku", o.sku},
             {"quantity", o.quantity},
             {"fulfillable_quantity", o.cancelled ? 0 : o.quantity},
             {"price", o.price},
             {"title", l ? l->title : o.sku}};
  return {{"id", std::stoll(o.id)},
          {"admin_graphql_api_id", "gid://shopify/Order/" + o.id},
          {"name", "#" + std::to_string(1000 + o.number)},
          {"order_number", 1000 + o.number},
          {"created_at", shopify_time(o.created)},
          {"updated_at", shopify_time(o.updated)},
          {"cancelled_at", o.cancelled ? json(shopify_time(o.cancelled_at)) : json(nullptr)},
          {"cancel_reason", o.cancelled ? json("customer") : json(nullptr)},
          {"financial_status", o.cancelled ? "voided" : "paid"},
          {"fulfillment_status", nullptr},
          {"currency", "EUR"},
          {"total_price", total},
          {"test", false},
          {"line_items", json::array({li})}};
}

void ShopifyChannel::on_order_placed(Order& o, Listing& l, double now) {
  l.committed += o.quantity;  // available went down, committed up, on_hand unchanged
  emit("orders/create", dump(order_json(o)), now, shopify_retry_delays(retry_compression_));
}

void ShopifyChannel::on_order_cancelled(Order& o, Listing& l, double now) {
  l.committed = std::max<int64_t>(0, l.committed - o.quantity);
  emit("orders/cancelled", dump(order_json(o)), now, shopify_retry_delays(retry_compression_));
}

void ShopifyChannel::manual_edit(Listing& l, int64_t q, bool silent, double now) {
  Channel::manual_edit(l, q, silent, now);
  if (silent) return;
  json body = {{"inventory_item_id", std::stoll(l.inventory_item_id)},
               {"location_id", std::stoll(l.location_id)},
               {"available", l.shown},
               {"updated_at", shopify_time(now)},
               {"admin_graphql_api_id",
                "gid://shopify/InventoryLevel/" + l.location_id + "?inventory_item_id=" + l.inventory_item_id}};
  emit("inventory_levels/update", dump(body), now, shopify_retry_delays(retry_compression_));
}

HeaderMap ShopifyChannel::attempt_headers(const WebhookEvent& ev, const Attempt& a, double now) {
  (void)a;
  (void)now;
  // Event-Id is stable across retries; Webhook-Id is fresh on every attempt (§1.7 de-dup note).
  return {{"content-type", "application/json"},
          {"user-agent", "Shopify-Captain-Hook"},
          {"x-shopify-topic", ev.topic},
          {"x-shopify-hmac-sha256", body_hmac_b64(cfg_.client_secret, ev.body)},
          {"x-shopify-shop-domain", cfg_.shop_domain},
          {"x-shopify-api-version", cfg_.api_version},
          {"x-shopify-webhook-id", uuid_like(rng_ids)},
          {"x-shopify-event-id", ev.event_id},
          {"x-shopify-triggered-at", iso8601_ms(ev.created)}};
}

void ShopifyChannel::inspect_extra(json& j) const {
  j["shop_domain"] = cfg_.shop_domain;
  j["idempotency_keys"] = idem_.size();
}

}  // namespace sim
