#include "graphql_parse.hpp"

#include <cctype>
#include <cstdlib>

namespace sim::gql {

const Value* Field::arg(const std::string& n) const {
  for (auto& a : args)
    if (a.first == n) return &a.second;
  return nullptr;
}

const Directive* Field::directive(const std::string& n) const {
  for (auto& d : directives)
    if (d.name == n) return &d;
  return nullptr;
}

namespace {

enum class Tok { end, punct, name, integer, floating, string, block_string };

struct Token {
  Tok kind = Tok::end;
  std::string text;  // punct text, name, number text, decoded string
  Location loc;
};

struct Failure {
  ParseError err;
};

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}

  Token next() {
    skip();
    Token t;
    t.loc = loc();
    if (pos_ >= s_.size()) return t;
    char c = s_[pos_];
    if (c == '.' && s_.compare(pos_, 3, "...") == 0) {
      advance(3);
      t.kind = Tok::punct;
      t.text = "...";
      return t;
    }
    if (std::string("!$&()=:@[]{}|").find(c) != std::string::npos) {
      advance(1);
      t.kind = Tok::punct;
      t.text = std::string(1, c);
      return t;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t b = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) advance(1);
      t.kind = Tok::name;
      t.text = s_.substr(b, pos_ - b);
      return t;
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return number(t);
    if (c == '"') return string(t);
    fail("Unexpected character '" + std::string(1, c) + "'", t.loc);
    return t;
  }

  [[noreturn]] void fail(const std::string& msg, Location l) { throw Failure{{msg, l}}; }

 private:
  Location loc() const { return {line_, col_}; }
  void advance(size_t n) {
    for (size_t k = 0; k < n && pos_ < s_.size(); ++k) {
      if (s_[pos_] == '\n') {
        ++line_;
        col_ = 1;
      } else {
        ++col_;
      }
      ++pos_;
    }
  }
  void skip() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
        advance(1);
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') advance(1);
      } else if (static_cast<unsigned char>(c) == 0xEF && s_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) {
        advance(3);
      } else {
        break;
      }
    }
  }
  Token number(Token t) {
    size_t b = pos_;
    if (s_[pos_] == '-') advance(1);
    if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) fail("Invalid number", t.loc);
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) advance(1);
    t.kind = Tok::integer;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      t.kind = Tok::floating;
      advance(1);
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) fail("Invalid number", t.loc);
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) advance(1);
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      t.kind = Tok::floating;
      advance(1);
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) advance(1);
      if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) fail("Invalid number", t.loc);
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) advance(1);
    }
    t.text = s_.substr(b, pos_ - b);
    return t;
  }
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  Token string(Token t) {
    if (s_.compare(pos_, 3, "\"\"\"") == 0) {
      advance(3);
      size_t end = s_.find("\"\"\"", pos_);
      if (end == std::string::npos) fail("Unterminated string", t.loc);
      t.kind = Tok::block_string;
      t.text = s_.substr(pos_, end - pos_);
      advance(end - pos_ + 3);
      return t;
    }
    advance(1);
    std::string out;
    while (true) {
      if (pos_ >= s_.size() || s_[pos_] == '\n') fail("Unterminated string", t.loc);
      char c = s_[pos_];
      if (c == '"') {
        advance(1);
        break;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) fail("Unterminated string", t.loc);
        char e = s_[pos_ + 1];
        advance(2);
        switch (e) {
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case '/': out.push_back('/'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'n': out.push_back('\n'); break;
          case 'r': out.push_back('\r'); break;
          case 't': out.push_back('\t'); break;
          case 'u': {
            if (pos_ + 4 > s_.size()) fail("Bad unicode escape", t.loc);
            std::string hex = s_.substr(pos_, 4);
            for (char h : hex)
              if (!std::isxdigit(static_cast<unsigned char>(h))) fail("Bad unicode escape", t.loc);
            append_utf8(out, static_cast<unsigned>(std::strtoul(hex.c_str(), nullptr, 16)));
            advance(4);
            break;
          }
          default: fail("Bad escape sequence", t.loc);
        }
        continue;
      }
      out.push_back(c);
      advance(1);
    }
    t.kind = Tok::string;
    t.text = out;
    return t;
  }

  const std::string& s_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
};

const char* tok_name(const Token& t) {
  switch (t.kind) {
    case Tok::end: return "end of file";
    case Tok::name: return "IDENTIFIER";
    case Tok::integer: return "INT";
    case Tok::floating: return "FLOAT";
    case Tok::string:
    case Tok::block_string: return "STRING";
    case Tok::punct:
      if (t.text == "{") return "LCURLY";
      if (t.text == "}") return "RCURLY";
      if (t.text == "(") return "LPAREN";
      if (t.text == ")") return "RPAREN";
      if (t.text == "[") return "LBRACKET";
      if (t.text == "]") return "RBRACKET";
      if (t.text == ":") return "COLON";
      return "PUNCTUATOR";
  }
  return "?";
}

class Parser {
 public:
  explicit Parser(const std::string& s) : lex_(s) { tok_ = lex_.next(); }

  Document document() {
    Document d;
    if (tok_.kind == Tok::end) fail_here();
    while (tok_.kind != Tok::end) {
      if (is_punct("{")) {
        Operation op;
        op.loc = tok_.loc;
        op.selections = selection_set(0);
        d.operations.push_back(std::move(op));
      } else if (tok_.kind == Tok::name && (tok_.text == "query" || tok_.text == "mutation" ||
                                            tok_.text == "subscription")) {
        d.operations.push_back(operation());
      } else if (tok_.kind == Tok::name && tok_.text == "fragment") {
        take();
        Fragment f;
        f.name = expect_name();
        if (!(tok_.kind == Tok::name && tok_.text == "on")) fail_here();
        take();
        f.type_condition = expect_name();
        f.selections = selection_set(0);
        d.fragments[f.name] = std::move(f);
      } else {
        fail_here();
      }
    }
    return d;
  }

 private:
  static constexpr int kMaxDepth = 64;
  static constexpr int kMaxTokens = 100000;

  bool is_punct(const char* p) const { return tok_.kind == Tok::punct && tok_.text == p; }
  Token take() {
    Token t = tok_;
    if (++count_ > kMaxTokens) lex_.fail("Query too large", t.loc);
    tok_ = lex_.next();
    return t;
  }
  [[noreturn]] void fail_here() {
    std::string shown = tok_.kind == Tok::end ? "end of file" : tok_.text;
    lex_.fail("Parse error on \"" + shown + "\" (" + tok_name(tok_) + ") at [" + std::to_string(tok_.loc.line) +
                  ", " + std::to_string(tok_.loc.column) + "]",
              tok_.loc);
  }
  void expect(const char* p) {
    if (!is_punct(p)) fail_here();
    take();
  }
  std::string expect_name() {
    if (tok_.kind != Tok::name) fail_here();
    return take().text;
  }

  Operation operation() {
    Operation op;
    op.loc = tok_.loc;
    op.type = take().text;
    if (tok_.kind == Tok::name) op.name = take().text;
    if (is_punct("(")) {
      take();
      while (!is_punct(")")) {
        expect("$");
        VariableDef v;
        v.name = expect_name();
        expect(":");
        v.type = type_ref();
        if (is_punct("=")) {
          take();
          v.default_value = value(true, 0);
        }
        skip_directives();
        op.variables.push_back(std::move(v));
      }
      take();
    }
    op.directives = directives();
    op.selections = selection_set(0);
    return op;
  }

  std::string type_ref() {
    std::string t;
    if (is_punct("[")) {
      take();
      t = "[" + type_ref() + "]";
      expect("]");
    } else {
      t = expect_name();
    }
    if (is_punct("!")) {
      take();
      t += "!";
    }
    return t;
  }

  void skip_directives() { (void)directives(); }

  std::vector<Directive> directives() {
    std::vector<Directive> out;
    while (is_punct("@")) {
      Directive d;
      d.loc = tok_.loc;
      take();
      d.name = expect_name();
      if (is_punct("(")) d.args = arguments(0);
      out.push_back(std::move(d));
    }
    return out;
  }

  Arguments arguments(int depth) {
    Arguments args;
    expect("(");
    while (!is_punct(")")) {
      std::string n = expect_name();
      expect(":");
      args.emplace_back(n, value(false, depth));
    }
    take();
    return args;
  }

  Value value(bool is_const, int depth) {
    if (depth > kMaxDepth) lex_.fail("Query has too many nested values", tok_.loc);
    Value v;
    v.loc = tok_.loc;
    if (is_punct("$")) {
      if (is_const) fail_here();
      take();
      v.kind = Value::Kind::variable;
      v.s = expect_name();
      return v;
    }
    if (is_punct("[")) {
      take();
      v.kind = Value::Kind::list;
      while (!is_punct("]")) {
        if (tok_.kind == Tok::end) fail_here();
        v.list.push_back(value(is_const, depth + 1));
      }
      take();
      return v;
    }
    if (is_punct("{")) {
      take();
      v.kind = Value::Kind::object;
      while (!is_punct("}")) {
        std::string n = expect_name();
        expect(":");
        v.object.emplace_back(n, value(is_const, depth + 1));
      }
      take();
      return v;
    }
    switch (tok_.kind) {
      case Tok::integer:
        v.kind = Value::Kind::integer;
        v.i = std::strtoll(tok_.text.c_str(), nullptr, 10);
        v.f = static_cast<double>(v.i);
        take();
        return v;
      case Tok::floating:
        v.kind = Value::Kind::floating;
        v.f = std::strtod(tok_.text.c_str(), nullptr);
        take();
        return v;
      case Tok::string:
      case Tok::block_string:
        v.kind = Value::Kind::string;
        v.s = take().text;
        return v;
      case Tok::name:
        if (tok_.text == "true" || tok_.text == "false") {
          v.kind = Value::Kind::boolean;
          v.b = tok_.text == "true";
        } else if (tok_.text == "null") {
          v.kind = Value::Kind::null;
        } else {
          v.kind = Value::Kind::enumeration;
          v.s = tok_.text;
        }
        take();
        return v;
      default:
        fail_here();
    }
  }

  std::vector<Selection> selection_set(int depth) {
    if (depth > kMaxDepth) lex_.fail("Query has too many nested fields", tok_.loc);
    std::vector<Selection> out;
    expect("{");
    if (is_punct("}")) fail_here();
    while (!is_punct("}")) {
      Selection s;
      s.loc = tok_.loc;
      if (is_punct("...")) {
        take();
        if (tok_.kind == Tok::name && tok_.text == "on") {
          take();
          s.kind = Selection::Kind::inline_fragment;
          s.type_condition = expect_name();
          skip_directives();
          s.selections = selection_set(depth + 1);
        } else if (tok_.kind == Tok::name) {
          s.kind = Selection::Kind::fragment_spread;
          s.fragment_name = take().text;
          skip_directives();
        } else {
          s.kind = Selection::Kind::inline_fragment;
          skip_directives();
          s.selections = selection_set(depth + 1);
        }
      } else {
        Field f;
        f.loc = tok_.loc;
        f.name = expect_name();
        if (is_punct(":")) {
          take();
          f.alias = f.name;
          f.name = expect_name();
        }
        if (is_punct("(")) f.args = arguments(depth);
        f.directives = directives();
        if (is_punct("{")) f.selections = selection_set(depth + 1);
        s.field = std::move(f);
      }
      out.push_back(std::move(s));
    }
    take();
    return out;
  }

  Lexer lex_;
  Token tok_;
  int count_ = 0;
};

}  // namespace

std::variant<Document, ParseError> parse(const std::string& source) {
  try {
    Parser p(source);
    return p.document();
  } catch (const Failure& f) {
    return f.err;
  }
}

std::variant<json, ValueError> to_json(const Value& v, const json& variables, bool* used_variable) {
  switch (v.kind) {
    case Value::Kind::null: return json(nullptr);
    case Value::Kind::boolean: return json(v.b);
    case Value::Kind::integer: return json(v.i);
    case Value::Kind::floating: return json(v.f);
    case Value::Kind::string:
    case Value::Kind::enumeration: return json(v.s);
    case Value::Kind::variable: {
      if (used_variable) *used_variable = true;
      if (!variables.is_object() || !variables.contains(v.s))
        return ValueError{"Variable $" + v.s + " is used by anonymous query but not declared", v.s};
      return variables.at(v.s);
    }
    case Value::Kind::list: {
      json arr = json::array();
      for (auto& e : v.list) {
        auto r = to_json(e, variables, used_variable);
        if (auto* err = std::get_if<ValueError>(&r)) return *err;
        arr.push_back(std::get<json>(r));
      }
      return arr;
    }
    case Value::Kind::object: {
      json obj = json::object();
      for (auto& [k, e] : v.object) {
        auto r = to_json(e, variables, used_variable);
        if (auto* err = std::get_if<ValueError>(&r)) return *err;
        obj[k] = std::get<json>(r);
      }
      return obj;
    }
  }
  return json(nullptr);
}

}  // namespace sim::gql
