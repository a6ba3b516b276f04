// The list query language: lexer, recursive-descent parser, evaluation. See query.hpp.
#include "storage/query.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

namespace chronicle::storage::query {

namespace {

// ---- lexer ----------------------------------------------------------------------------------

enum class tok : uint8_t { end, ident, string, number, lparen, rparen, comma, cmp };

struct token {
  tok t = tok::end;
  std::string text;   // ident / cmp: as written; string: unquoted; number: as written
  size_t pos = 0;
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class parser {
public:
  parser(std::string_view text, const search::schema& schema) : text_(text), schema_(schema) {}

  std::variant<parsed, error> run() {
    try {
      lex();
      parsed out;
      if (!at_keyword("ORDER") && !at_keyword("GROUP") && cur().t != tok::end)
        out.where = or_expr();
      if (at_keyword("ORDER")) order_by();
      if (at_keyword("GROUP")) out.group_by_status = group_by();
      if (cur().t != tok::end) fail(cur(), "expected AND, OR, ORDER BY, GROUP BY or the end");
      return out;
    } catch (error& e) {
      return e;
    }
  }

private:
  [[noreturn]] void fail(size_t pos, std::string what) const {
    error e;
    e.position = pos;
    e.what = std::move(what);
    // The line with a caret under the bad token.
    e.excerpt = std::string(text_) + "\n" + std::string(std::min(pos, text_.size()), ' ') + "^";
    throw e;
  }
  [[noreturn]] void fail(const token& t, const std::string& what) const {
    fail(t.pos, what + (t.t == tok::end ? ", found the end of the query"
                                        : ", found " + (t.t == tok::string ? "'" + t.text + "'"
                                                                         : "'" + t.text + "'")));
  }

  void lex() {
    size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '(' || c == ')' || c == ',') {
        toks_.push_back({c == '(' ? tok::lparen : c == ')' ? tok::rparen : tok::comma,
                         std::string(1, c), i});
        ++i;
      } else if (c == '\'' || c == '"') {
        const size_t start = i;
        auto text = quoted(i, c);
        toks_.push_back({tok::string, std::move(text), start});
      } else if (c == '`') {
        size_t end = text_.find('`', i + 1);
        if (end == std::string_view::npos) fail(i, "unterminated `name`");
        toks_.push_back({tok::ident, std::string(text_.substr(i + 1, end - i - 1)), i});
        i = end + 1;
      } else if (c == '=' || c == '!' || c == '<' || c == '>') {
        std::string op(1, c);
        if (i + 1 < text_.size() && (text_[i + 1] == '=' || (c == '<' && text_[i + 1] == '>')))
          op.push_back(text_[i + 1]);
        if (op == "!") fail(i, "'!' must be followed by '='");
        toks_.push_back({tok::cmp, op, i});
        i += op.size();
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
        size_t j = i + 1;
        while (j < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[j])) ||
                                    text_[j] == '.' ||
                                    ((text_[j] == '-' || text_[j] == '+') &&
                                     (text_[j - 1] == 'e' || text_[j - 1] == 'E'))))
          ++j;
        toks_.push_back({tok::number, std::string(text_.substr(i, j - i)), i});
        i = j;
      } else if (ident_char(c)) {
        size_t j = i;
        while (j < text_.size() && ident_char(text_[j])) ++j;
        toks_.push_back({tok::ident, std::string(text_.substr(i, j - i)), i});
        i = j;
      } else {
        fail(i, std::string("unexpected character '") + c + "'");
      }
    }
    toks_.push_back({tok::end, "", text_.size()});
  }

  // A quoted string starting at text_[i] == q; '' (or \') inside stands for one quote.
  std::string quoted(size_t& i, char q) {
    const size_t start = i;
    std::string out;
    ++i;
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == '\\' && i + 1 < text_.size()) {
        out.push_back(text_[i + 1]);
        i += 2;
      } else if (c == q && i + 1 < text_.size() && text_[i + 1] == q) {
        out.push_back(q);
        i += 2;
      } else if (c == q) {
        ++i;
        return out;
      } else {
        out.push_back(c);
        ++i;
      }
    }
    fail(start, "unterminated string");
  }

  const token& cur() const { return toks_[at_]; }
  const token& take() { return toks_[at_ < toks_.size() - 1 ? at_++ : at_]; }
  bool at_keyword(const char* kw) const { return cur().t == tok::ident && upper(cur().text) == kw; }
  bool accept_keyword(const char* kw) {
    if (!at_keyword(kw)) return false;
    ++at_;
    return true;
  }
  void expect_keyword(const char* kw) {
    if (!accept_keyword(kw)) fail(cur(), std::string("expected ") + kw);
  }
  void expect(tok t, const char* what) {
    if (cur().t != t) fail(cur(), std::string("expected ") + what);
    ++at_;
  }

  void order_by() {
    expect_keyword("ORDER");
    expect_keyword("BY");
    const token f = take();
    if (f.t != tok::ident || upper(f.text) != "STARTTIME")
      fail(f, "only ORDER BY StartTime is supported (every index is newest start first)");
    if (accept_keyword("ASC"))
      fail(toks_[at_ - 1], "only ORDER BY StartTime DESC is supported (every index is newest "
                           "start first)");
    accept_keyword("DESC");
  }

  bool group_by() {
    expect_keyword("GROUP");
    expect_keyword("BY");
    const token f = take();
    if (f.t != tok::ident || (upper(f.text) != "EXECUTIONSTATUS" && upper(f.text) != "STATUS"))
      fail(f, "only GROUP BY ExecutionStatus is supported");
    return true;
  }

  std::unique_ptr<expr> combine(expr::kind k, std::unique_ptr<expr> first, const char* kw) {
    if (!at_keyword(kw)) return first;
    auto node = std::make_unique<expr>();
    node->k = k;
    node->children.push_back(std::move(first));
    while (accept_keyword(kw))
      node->children.push_back(k == expr::kind::any_of ? and_expr() : not_expr());
    return node;
  }
  std::unique_ptr<expr> or_expr() { return combine(expr::kind::any_of, and_expr(), "OR"); }
  std::unique_ptr<expr> and_expr() { return combine(expr::kind::all_of, not_expr(), "AND"); }
  std::unique_ptr<expr> not_expr() {
    if (accept_keyword("NOT")) {
      auto node = std::make_unique<expr>();
      node->k = expr::kind::negation;
      node->children.push_back(not_expr());
      return node;
    }
    if (cur().t == tok::lparen) {
      ++at_;
      auto inner = or_expr();
      expect(tok::rparen, "')'");
      return inner;
    }
    auto node = std::make_unique<expr>();
    node->p = predicate_();
    return node;
  }

  predicate predicate_() {
    const token f = take();
    if (f.t != tok::ident)
      fail(f, "expected a field name (WorkflowType, ExecutionStatus, StartTime, a search "
              "attribute, ...) or '('");
    predicate p = resolve(f);
    const token& o = cur();
    if (o.t == tok::cmp) {
      ++at_;
      const std::string& s = o.text;
      p.o = s == "=" ? op::eq : (s == "!=" || s == "<>") ? op::ne : s == "<" ? op::lt
            : s == "<=" ? op::le : s == ">" ? op::gt : op::ge;
      check_op(p, o);
      p.values.push_back(value_(p));
      return p;
    }
    const size_t op_at = at_;
    const bool negated = accept_keyword("NOT");
    if (accept_keyword("IN")) {
      p.o = negated ? op::not_in : op::in;
      check_op(p, toks_[op_at]);
      expect(tok::lparen, "'(' after IN");
      p.values.push_back(value_(p));
      while (cur().t == tok::comma) {
        ++at_;
        p.values.push_back(value_(p));
      }
      expect(tok::rparen, "',' or ')'");
      return p;
    }
    if (accept_keyword("BETWEEN")) {
      p.o = negated ? op::not_between : op::between;
      check_op(p, toks_[op_at]);
      p.values.push_back(value_(p));
      expect_keyword("AND");
      p.values.push_back(value_(p));
      return p;
    }
    if (negated) fail(cur(), "expected IN or BETWEEN after NOT");
    if (accept_keyword("STARTS_WITH")) {
      p.o = op::starts_with;
      check_op(p, toks_[op_at]);
      const token v = take();
      if (v.t != tok::string) fail(v, "expected a quoted string after STARTS_WITH");
      p.values.emplace_back(v.text);
      return p;
    }
    if (accept_keyword("IS")) {
      p.o = accept_keyword("NOT") ? op::is_not_null : op::is_null;
      expect_keyword("NULL");
      return p;
    }
    fail(cur(), "expected an operator (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, STARTS_WITH, "
                "IS NULL) after '" + f.text + "'");
  }

  predicate resolve(const token& f) {
    predicate p;
    struct builtin { const char* upper; const char* name; field f; pb::IndexedValueType t; };
    static const builtin builtins[] = {
      {"WORKFLOWID", "WorkflowId", field::workflow_id, pb::INDEXED_VALUE_TYPE_KEYWORD},
      {"RUNID", "RunId", field::run_id, pb::INDEXED_VALUE_TYPE_KEYWORD},
      {"WORKFLOWTYPE", "WorkflowType", field::workflow_type, pb::INDEXED_VALUE_TYPE_KEYWORD},
      {"EXECUTIONSTATUS", "ExecutionStatus", field::status, pb::INDEXED_VALUE_TYPE_KEYWORD},
      {"STATUS", "ExecutionStatus", field::status, pb::INDEXED_VALUE_TYPE_KEYWORD},
      {"STARTTIME", "StartTime", field::start_time, pb::INDEXED_VALUE_TYPE_DATETIME},
      {"CLOSETIME", "CloseTime", field::close_time, pb::INDEXED_VALUE_TYPE_DATETIME},
      {"TASKQUEUE", "TaskQueue", field::task_queue, pb::INDEXED_VALUE_TYPE_KEYWORD},
      {"HISTORYLENGTH", "HistoryLength", field::history_length, pb::INDEXED_VALUE_TYPE_INT},
      {"PARENTWORKFLOWID", "ParentWorkflowId", field::parent_workflow_id,
       pb::INDEXED_VALUE_TYPE_KEYWORD},
      {"PARENTRUNID", "ParentRunId", field::parent_run_id, pb::INDEXED_VALUE_TYPE_KEYWORD},
      // Kept among the record's search attributes (set by the server): read and indexed as one.
      {"BUILDIDS", search::build_ids_attribute, field::custom, pb::INDEXED_VALUE_TYPE_KEYWORD_LIST},
      {"PAUSED", search::paused_attribute, field::custom, pb::INDEXED_VALUE_TYPE_BOOL},
    };
    if (auto it = schema_.find(f.text); it != schema_.end()) {
      p.f = field::custom;
      p.name = f.text;
      p.type = it->second;
      return p;
    }
    const auto u = upper(f.text);
    for (const auto& b : builtins)
      if (u == b.upper) {
        p.f = b.f;
        p.name = b.name;
        p.type = b.t;
        return p;
      }
    std::string known;
    for (const auto& [name, type] : schema_) known += ", " + name;
    fail(f, "unknown field '" + f.text + "' (built-ins: WorkflowId, RunId, WorkflowType, "
            "ExecutionStatus, StartTime, CloseTime, TaskQueue, HistoryLength, ParentWorkflowId, "
            "ParentRunId, BuildIds, Paused; search attributes of this namespace: " +
            (known.empty() ? std::string("none") : known.substr(2)) + ")");
  }

  // Which operators a type takes (text: only = and !=, token matching; bool: no order).
  void check_op(const predicate& p, const token& at) const {
    const bool ordering = p.o == op::lt || p.o == op::le || p.o == op::gt || p.o == op::ge ||
                          p.o == op::between || p.o == op::not_between;
    if (p.type == pb::INDEXED_VALUE_TYPE_TEXT && p.o != op::eq && p.o != op::ne)
      fail(at.pos, "'" + p.name + "' is a text attribute: only = and != (word match) apply");
    if (p.type == pb::INDEXED_VALUE_TYPE_BOOL && (ordering || p.o == op::starts_with))
      fail(at.pos, "'" + p.name + "' is a bool attribute: only =, != and IN apply");
    if (p.o == op::starts_with && p.type != pb::INDEXED_VALUE_TYPE_KEYWORD &&
        p.type != pb::INDEXED_VALUE_TYPE_KEYWORD_LIST)
      fail(at.pos, "STARTS_WITH applies to keyword fields, not to '" + p.name + "'");
    if (p.f == field::status && (ordering || p.o == op::starts_with))
      fail(at.pos, "ExecutionStatus takes =, != and IN");
  }

  // A literal, converted to the predicate's type.
  value value_(const predicate& p) {
    const token v = take();
    if (v.t == tok::string) {
      switch (p.type) {
        case pb::INDEXED_VALUE_TYPE_DATETIME: {
          auto ms = search::parse_time(v.text);
          if (!ms) fail(v, "'" + p.name + "' is a time: expected an RFC 3339 time such as "
                                          "'2026-12-01T00:00:00Z'");
          return *ms;
        }
        case pb::INDEXED_VALUE_TYPE_INT:
        case pb::INDEXED_VALUE_TYPE_DOUBLE:
        case pb::INDEXED_VALUE_TYPE_BOOL:
          fail(v, "'" + p.name + "' is " + search::type_name(p.type) + ": expected a " +
                  (p.type == pb::INDEXED_VALUE_TYPE_BOOL ? "true or false" : "number") +
                  " without quotes");
        default: break;
      }
      if (p.f == field::status) return status_value(v);
      return v.text;
    }
    if (v.t == tok::number) {
      if (p.type == pb::INDEXED_VALUE_TYPE_INT || p.type == pb::INDEXED_VALUE_TYPE_DATETIME) {
        size_t used = 0;
        int64_t n = 0;
        try {
          n = std::stoll(v.text, &used);
        } catch (...) {
          used = 0;
        }
        if (used != v.text.size()) fail(v, "'" + p.name + "' is " + search::type_name(p.type) +
                                              ": expected an integer");
        return n;
      }
      if (p.type == pb::INDEXED_VALUE_TYPE_DOUBLE) {
        size_t used = 0;
        double d = 0;
        try {
          d = std::stod(v.text, &used);
        } catch (...) {
          used = 0;
        }
        if (used != v.text.size() || !std::isfinite(d)) fail(v, "expected a number");
        return d;
      }
      fail(v, "'" + p.name + "' is " + search::type_name(p.type) + ": expected a quoted string");
    }
    if (v.t == tok::ident && (upper(v.text) == "TRUE" || upper(v.text) == "FALSE")) {
      if (p.type != pb::INDEXED_VALUE_TYPE_BOOL)
        fail(v, "'" + p.name + "' is " + search::type_name(p.type) + ": true/false is a bool");
      return upper(v.text) == "TRUE";
    }
    fail(v, "expected a value (a 'quoted string', a number, true or false)");
  }

  value status_value(const token& v) const {
    for (int s = pb::WORKFLOW_EXECUTION_STATUS_RUNNING; s <= pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
         ++s) {
      const auto st = static_cast<pb::WorkflowExecutionStatus>(s);
      if (upper(status_name(st)) == upper(v.text)) return static_cast<int64_t>(s);
    }
    fail(v, "unknown status (Running, Completed, Failed, Canceled, Terminated, ContinuedAsNew, "
            "TimedOut)");
  }

  std::string_view text_;
  const search::schema& schema_;
  std::vector<token> toks_;
  size_t at_ = 0;
};

// ---- evaluation -----------------------------------------------------------------------------

enum class truth : int8_t { no, yes, unknown };

truth of(bool b) { return b ? truth::yes : truth::no; }

// The field's values in a record: none (missing), one, or several (a keyword list).
struct field_values {
  std::vector<value> items;
};

field_values values_of(const predicate& p, const pb::WorkflowExecutionInfo& info) {
  field_values out;
  switch (p.f) {
    case field::workflow_id: out.items.emplace_back(info.workflow_id()); break;
    case field::run_id: out.items.emplace_back(info.run_id()); break;
    case field::workflow_type: out.items.emplace_back(info.workflow_type()); break;
    case field::status: out.items.emplace_back(static_cast<int64_t>(info.status())); break;
    case field::start_time: out.items.emplace_back(info.start_time_ms()); break;
    case field::close_time:
      if (info.close_time_ms() != 0) out.items.emplace_back(info.close_time_ms());
      break;
    case field::task_queue: out.items.emplace_back(info.task_queue()); break;
    case field::history_length:
      if (info.close_time_ms() != 0) out.items.emplace_back(info.history_length());
      break;
    case field::parent_workflow_id:
      if (!info.parent_workflow_id().empty()) out.items.emplace_back(info.parent_workflow_id());
      break;
    case field::parent_run_id:
      if (!info.parent_run_id().empty()) out.items.emplace_back(info.parent_run_id());
      break;
    case field::custom: {
      auto it = info.search_attributes().find(p.name);
      if (it == info.search_attributes().end()) break;
      const auto& v = it->second;
      switch (v.value_case()) {
        case pb::SearchAttributeValue::kText: out.items.emplace_back(v.text()); break;
        case pb::SearchAttributeValue::kKeyword: out.items.emplace_back(v.keyword()); break;
        case pb::SearchAttributeValue::kIntValue: out.items.emplace_back(v.int_value()); break;
        case pb::SearchAttributeValue::kDoubleValue: out.items.emplace_back(v.double_value()); break;
        case pb::SearchAttributeValue::kBoolValue: out.items.emplace_back(v.bool_value()); break;
        case pb::SearchAttributeValue::kDatetimeMs: out.items.emplace_back(v.datetime_ms()); break;
        case pb::SearchAttributeValue::kKeywordList:
          for (const auto& s : v.keyword_list().values()) out.items.emplace_back(s);
          break;
        default: break;
      }
      break;
    }
  }
  return out;
}

// <0, 0, >0; nullopt when the two cannot be compared (a record typed otherwise than the query).
std::optional<int> compare(const value& a, const value& b) {
  auto num = [](const value& v) -> std::optional<double> {
    if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    if (auto* d = std::get_if<double>(&v)) return *d;
    return std::nullopt;
  };
  if (a.index() == b.index() && !std::holds_alternative<double>(a))
    return a < b ? -1 : (b < a ? 1 : 0);
  auto x = num(a), y = num(b);
  if (!x || !y) return std::nullopt;
  return *x < *y ? -1 : (*y < *x ? 1 : 0);
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

// Text: every word of the query's value is a word of the attribute (case-insensitive).
bool text_matches(const value& attr, const value& query) {
  auto* a = std::get_if<std::string>(&attr);
  auto* q = std::get_if<std::string>(&query);
  if (!a || !q) return false;
  auto have = words(*a);
  for (const auto& w : words(*q))
    if (std::find(have.begin(), have.end(), w) == have.end()) return false;
  return true;
}

// One value against the predicate (for a keyword list: one element).
bool holds(const predicate& p, const value& v) {
  auto cmp = [&](size_t i) { return compare(v, p.values[i]); };
  auto is = [&](size_t i, auto pred) {
    auto c = cmp(i);
    return c && pred(*c);
  };
  switch (p.o) {
    case op::eq:
      if (p.type == pb::INDEXED_VALUE_TYPE_TEXT) return text_matches(v, p.values[0]);
      return is(0, [](int c) { return c == 0; });
    case op::lt: return is(0, [](int c) { return c < 0; });
    case op::le: return is(0, [](int c) { return c <= 0; });
    case op::gt: return is(0, [](int c) { return c > 0; });
    case op::ge: return is(0, [](int c) { return c >= 0; });
    case op::in:
      for (size_t i = 0; i < p.values.size(); ++i)
        if (is(i, [](int c) { return c == 0; })) return true;
      return false;
    case op::between:
      return is(0, [](int c) { return c >= 0; }) && is(1, [](int c) { return c <= 0; });
    case op::starts_with: {
      auto* s = std::get_if<std::string>(&v);
      auto* prefix = std::get_if<std::string>(&p.values[0]);
      return s && prefix && s->rfind(*prefix, 0) == 0;
    }
    default: return false;  // the negated forms are evaluated as NOT of the positive one
  }
}

truth test(const predicate& p, const pb::WorkflowExecutionInfo& info) {
  const auto vs = values_of(p, info);
  if (p.o == op::is_null) return of(vs.items.empty());
  if (p.o == op::is_not_null) return of(!vs.items.empty());
  if (vs.items.empty()) return truth::unknown;
  predicate positive_form;
  const predicate* q = &p;
  bool negate = false;
  if (p.o == op::ne || p.o == op::not_in || p.o == op::not_between) {
    positive_form = p;
    positive_form.o = p.o == op::ne ? op::eq : p.o == op::not_in ? op::in : op::between;
    q = &positive_form;
    negate = true;
  }
  // A keyword list matches when one of its values does (Temporal's semantics).
  bool any = std::any_of(vs.items.begin(), vs.items.end(), [&](const value& v) { return holds(*q, v); });
  return of(negate ? !any : any);
}

truth eval(const expr& e, const pb::WorkflowExecutionInfo& info) {
  switch (e.k) {
    case expr::kind::test: return test(e.p, info);
    case expr::kind::negation: {
      auto t = eval(*e.children[0], info);
      return t == truth::unknown ? t : of(t == truth::no);
    }
    case expr::kind::all_of: {
      truth out = truth::yes;
      for (const auto& c : e.children) {
        auto t = eval(*c, info);
        if (t == truth::no) return t;
        if (t == truth::unknown) out = t;
      }
      return out;
    }
    case expr::kind::any_of: {
      truth out = truth::no;
      for (const auto& c : e.children) {
        auto t = eval(*c, info);
        if (t == truth::yes) return t;
        if (t == truth::unknown) out = t;
      }
      return out;
    }
  }
  return truth::no;
}

}  // namespace

std::string error::message() const {
  return "bad query at position " + std::to_string(position + 1) + ": " + what + "\n" + excerpt;
}

std::variant<parsed, error> parse(std::string_view text, const search::schema& schema) {
  return parser(text, schema).run();
}

bool matches(const expr& e, const pb::WorkflowExecutionInfo& info) {
  return eval(e, info) == truth::yes;
}

std::vector<const expr*> conjuncts(const expr& e) {
  if (e.k != expr::kind::all_of) return {&e};
  std::vector<const expr*> out;
  for (const auto& c : e.children) out.push_back(c.get());
  return out;
}

namespace {

// Start or close time bounds [from, to) narrowed by one predicate on them.
void narrow_time(const predicate& p, int64_t* from, int64_t* to) {
  auto ms = [&](size_t i) { return std::get<int64_t>(p.values[i]); };
  auto raise = [&](int64_t v) { *from = std::max(*from, std::max<int64_t>(v, 0)); };
  auto lower = [&](int64_t v) { *to = *to == 0 ? std::max<int64_t>(v, 1) : std::min(*to, std::max<int64_t>(v, 1)); };
  switch (p.o) {
    case op::eq: raise(ms(0)); lower(ms(0) + 1); break;
    case op::gt: raise(ms(0) + 1); break;
    case op::ge: raise(ms(0)); break;
    case op::lt: lower(ms(0)); break;
    case op::le: lower(ms(0) + 1); break;
    case op::between: raise(ms(0)); lower(ms(1) + 1); break;
    default: break;
  }
}

std::optional<pb::SearchAttributeValue> indexed_value(const predicate& p) {
  pb::SearchAttributeValue v;
  const auto& x = p.values[0];
  switch (p.type) {
    case pb::INDEXED_VALUE_TYPE_KEYWORD:
    case pb::INDEXED_VALUE_TYPE_KEYWORD_LIST: v.set_keyword(std::get<std::string>(x)); break;
    case pb::INDEXED_VALUE_TYPE_INT: v.set_int_value(std::get<int64_t>(x)); break;
    case pb::INDEXED_VALUE_TYPE_DATETIME: v.set_datetime_ms(std::get<int64_t>(x)); break;
    case pb::INDEXED_VALUE_TYPE_BOOL: v.set_bool_value(std::get<bool>(x)); break;
    default: return std::nullopt;
  }
  return v;
}

using index_term = visibility_filter::index_term;

// The index ranges of one test whose matches they hold exactly: `= v` or `IN (...)` on the
// status, the workflow type or an indexed search attribute. False for anything else.
bool index_terms(const expr& e, std::vector<index_term>* out) {
  if (e.k != expr::kind::test || (e.p.o != op::eq && e.p.o != op::in) || e.p.values.empty())
    return false;
  for (const auto& v : e.p.values) {
    index_term t;
    switch (e.p.f) {
      case field::status:
        t.k = index_term::kind::status;
        t.status = static_cast<pb::WorkflowExecutionStatus>(std::get<int64_t>(v));
        break;
      case field::workflow_type:
        t.k = index_term::kind::type;
        t.name = std::get<std::string>(v);
        break;
      case field::custom: {
        predicate one = e.p;
        one.values = {v};
        auto value = indexed_value(one);
        if (!value) return false;
        t.k = index_term::kind::attribute;
        t.name = e.p.name;
        t.value = std::move(*value);
        break;
      }
      default: return false;
    }
    out->push_back(std::move(t));
  }
  return true;
}

// The ranges of an OR of such tests (nested ORs too), or of one IN; false when any alternative
// has none.
bool union_terms(const expr& e, std::vector<index_term>* out) {
  if (e.k == expr::kind::any_of) {
    for (const auto& c : e.children)
      if (!union_terms(*c, out)) return false;
    return true;
  }
  return index_terms(e, out);
}

}  // namespace

bool is_single_test(const expr& e, field f, op o) {
  return e.k == expr::kind::test && e.p.f == f && e.p.o == o && e.p.values.size() == 1;
}

bool decided_by_status_and_type(const expr& e) {
  int statuses = 0, types = 0;
  for (const expr* c : conjuncts(e)) {
    if (c->k != expr::kind::test || c->p.o != op::eq || c->p.values.size() != 1) return false;
    if (c->p.f == field::status) ++statuses;
    else if (c->p.f == field::workflow_type) ++types;
    else return false;
  }
  return statuses <= 1 && types <= 1;
}

void plan(const parsed& q, visibility_filter* f) {
  f->group_by_status = q.group_by_status;
  if (!q.where) return;
  f->where = q.where;
  for (const expr* c : conjuncts(*q.where)) {
    // An OR of index ranges, or an IN of more than one value: a union candidate.
    if (c->k == expr::kind::any_of || (c->k == expr::kind::test && c->p.o == op::in && c->p.values.size() > 1)) {
      std::vector<index_term> terms;
      if (union_terms(*c, &terms) && terms.size() <= max_union_terms) f->unions.push_back(std::move(terms));
      continue;
    }
    if (c->k != expr::kind::test) continue;
    const predicate& p = c->p;
    switch (p.f) {
      case field::status:
        if (p.o == op::eq && f->status == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED)
          f->status = static_cast<pb::WorkflowExecutionStatus>(std::get<int64_t>(p.values[0]));
        break;
      case field::workflow_type:
        if (p.o == op::eq && f->workflow_type.empty())
          f->workflow_type = std::get<std::string>(p.values[0]);
        break;
      case field::workflow_id: {
        if ((p.o != op::eq && p.o != op::starts_with) || !f->workflow_id_prefix.empty()) break;
        f->workflow_id_prefix = std::get<std::string>(p.values[0]);
        break;
      }
      case field::start_time: narrow_time(p, &f->start_time_from_ms, &f->start_time_to_ms); break;
      case field::close_time: narrow_time(p, &f->close_time_from_ms, &f->close_time_to_ms); break;
      case field::custom:
        if (p.o == op::eq)
          if (auto v = indexed_value(p)) f->attribute_equals.emplace_back(p.name, std::move(*v));
        break;
      default: break;
    }
  }
}

}  // namespace chronicle::storage::query
