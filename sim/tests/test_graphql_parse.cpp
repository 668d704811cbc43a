#include "graphql_parse.hpp"

#include <gtest/gtest.h>

using namespace sim::gql;

TEST(SimGraphqlParse, MutationWithDirectiveAndObjectLiterals) {
  auto r = parse(R"(mutation Push { inventorySetQuantities(input: {name: "available", quantities: [{quantity: 7, changeFromQuantity: null, id: "gid://x/1"}], flag: true, e: AVAILABLE, f: -1.5e2}) @idempotent(key: "k-1") { userErrors { code } } })");
  ASSERT_TRUE(std::holds_alternative<Document>(r)) << std::get<ParseError>(r).message;
  auto& doc = std::get<Document>(r);
  ASSERT_EQ(doc.operations.size(), 1u);
  auto& op = doc.operations[0];
  EXPECT_EQ(op.type, "mutation");
  EXPECT_EQ(op.name, "Push");
  const Field& f = op.selections[0].field;
  EXPECT_EQ(f.name, "inventorySetQuantities");
  ASSERT_NE(f.directive("idempotent"), nullptr);
  EXPECT_EQ(f.directive("idempotent")->args[0].second.s, "k-1");
  auto j = std::get<json>(to_json(*f.arg("input"), json::object()));
  EXPECT_EQ(j["name"], "available");
  EXPECT_EQ(j["quantities"][0]["quantity"], 7);
  EXPECT_TRUE(j["quantities"][0].contains("changeFromQuantity"));
  EXPECT_TRUE(j["quantities"][0]["changeFromQuantity"].is_null());
  EXPECT_EQ(j["flag"], true);
  EXPECT_EQ(j["e"], "AVAILABLE");
  EXPECT_DOUBLE_EQ(j["f"].get<double>(), -150.0);
}

TEST(SimGraphqlParse, VariablesAliasesFragmentsAndComments) {
  auto r = parse(R"(
    # a comment
    query Levels($id: ID!, $n: Int = 5) {
      item: inventoryItem(id: $id) { ...F ... on InventoryItem { sku } }
    }
    fragment F on InventoryItem { id inventoryLevels(first: $n) { nodes { id } } })");
  ASSERT_TRUE(std::holds_alternative<Document>(r));
  auto& doc = std::get<Document>(r);
  auto& op = doc.operations[0];
  ASSERT_EQ(op.variables.size(), 2u);
  EXPECT_EQ(op.variables[0].type, "ID!");
  ASSERT_TRUE(op.variables[1].default_value.has_value());
  const Field& f = op.selections[0].field;
  EXPECT_EQ(f.alias, "item");
  EXPECT_EQ(f.response_key(), "item");
  EXPECT_EQ(f.selections[0].kind, Selection::Kind::fragment_spread);
  EXPECT_EQ(f.selections[1].kind, Selection::Kind::inline_fragment);
  EXPECT_EQ(doc.fragments.count("F"), 1u);
  auto v = to_json(*f.arg("id"), json{{"id", "gid://shopify/InventoryItem/1"}});
  EXPECT_EQ(std::get<json>(v), "gid://shopify/InventoryItem/1");
  auto missing = to_json(*f.arg("id"), json::object());
  EXPECT_TRUE(std::holds_alternative<ValueError>(missing));
}

TEST(SimGraphqlParse, StringEscapesAndBlockStrings) {
  auto r = parse(R"({ a(s: "q\"\\\n\u00e9", b: """raw "x" """) })");
  ASSERT_TRUE(std::holds_alternative<Document>(r));
  const Field& f = std::get<Document>(r).operations[0].selections[0].field;
  EXPECT_EQ(f.arg("s")->s, "q\"\\\n\xc3\xa9");
  EXPECT_EQ(f.arg("b")->s, "raw \"x\" ");
}

TEST(SimGraphqlParse, ErrorsCarryLocation) {
  auto r = parse("mutation {\n  x(a: ) }");
  ASSERT_TRUE(std::holds_alternative<ParseError>(r));
  auto& e = std::get<ParseError>(r);
  EXPECT_EQ(e.loc.line, 2);
  EXPECT_NE(e.message.find("Parse error on \")\""), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse("")));
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse("{ a(s: \"unterminated) }")));
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse("{ }")));
}

TEST(SimGraphqlParse, DepthIsBounded) {
  std::string q = "{";
  for (int i = 0; i < 100; ++i) q += "a{";
  q += "b";
  for (int i = 0; i < 101; ++i) q += "}";
  EXPECT_TRUE(std::holds_alternative<ParseError>(parse(q)));
}
