#include "tools/render.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <vector>
#include <sstream>

namespace chronicle::cli {

namespace {

std::string base64_decode(const std::string& in) {
  static const std::string chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char c : in) {
    auto pos = chars.find(static_cast<char>(c));
    if (c == '-') pos = 62;
    if (c == '_') pos = 63;
    if (pos == std::string::npos) continue;  // padding or whitespace
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// Replaces {"metadata": {...}, "data": "<base64>"} objects by the JSON they carry.
void decode_payloads(nlohmann::json& j) {
  if (j.is_object()) {
    if (j.contains("data") && j["data"].is_string() && j.size() <= 2
        && (j.size() == 1 || j.contains("metadata"))) {
      auto data = base64_decode(j["data"].get<std::string>());
      auto parsed = nlohmann::json::parse(data, nullptr, false);
      if (!parsed.is_discarded()) {
        j = std::move(parsed);
        return;
      }
    }
    for (auto& [k, v] : j.items()) decode_payloads(v);
  } else if (j.is_array()) {
    for (auto& v : j) decode_payloads(v);
  }
}

}  // namespace

nlohmann::json to_json(const google::protobuf::Message& msg) {
  std::string text;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = false;
  auto st = google::protobuf::util::MessageToJsonString(msg, &text, opts);
  if (!st.ok()) return nlohmann::json{{"error", st.ToString()}};
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return nlohmann::json{{"error", "unprintable message"}};
  decode_payloads(j);
  return j;
}

std::string format_time(int64_t epoch_ms) {
  if (epoch_ms <= 0) return "-";
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(epoch_ms % 1000));
  return out;
}

namespace {

// A LocalActivity marker (worker/sdk/local_activity.hpp) read as what happened: "LocalActivity
// <type> (id <id>) attempt <n>: result <json>" / ": failed <type>: <message>[, retry after <ms>
// ms timer]". Empty when it is not one.
std::string local_activity_text(const pb::MarkerRecordedEventAttributes& m) {
  if (m.marker_name() != "LocalActivity") return {};
  auto detail = [&](const char* key) -> std::string {
    auto it = m.details().find(key);
    return it == m.details().end() ? std::string{} : payload_text(it->second);
  };
  auto unquoted = [](std::string s) {
    return s.size() >= 2 && s.front() == '"' ? s.substr(1, s.size() - 2) : s;
  };
  std::string text = "LocalActivity " + unquoted(detail("activity_type")) + " (id " +
                     unquoted(detail("activity_id")) + ") attempt " + detail("attempt") + ": ";
  if (m.details().count("data")) return text + "result " + detail("data");
  text += "failed " + m.failure().type() + ": " + m.failure().message();
  if (m.details().count("backoff_ms")) text += ", retry after a " + detail("backoff_ms") + " ms timer";
  return text;
}

}  // namespace

std::string event_line(const pb::HistoryEvent& ev) {
  auto j = to_json(ev);
  nlohmann::json attrs = nlohmann::json::object();
  for (auto& [k, v] : j.items())
    if (k != "eventId" && k != "eventTimeMs" && k != "eventType") attrs = v;
  char head[96];
  std::snprintf(head, sizeof(head), "%4lld  %s  %-32s ", static_cast<long long>(ev.event_id()),
                format_time(ev.event_time_ms()).c_str(), event_type_name(ev.event_type()));
  if (ev.has_marker_recorded())
    if (auto text = local_activity_text(ev.marker_recorded()); !text.empty()) return head + text;
  return std::string(head) + attrs.dump();
}

std::string event_json_line(const pb::HistoryEvent& ev) { return to_json(ev).dump(); }

bool is_close_event(const pb::HistoryEvent& ev) {
  switch (ev.attributes_case()) {
    case pb::HistoryEvent::kWorkflowExecutionCompleted:
    case pb::HistoryEvent::kWorkflowExecutionFailed:
    case pb::HistoryEvent::kWorkflowExecutionTimedOut:
    case pb::HistoryEvent::kWorkflowExecutionCanceled:
    case pb::HistoryEvent::kWorkflowExecutionTerminated:
    case pb::HistoryEvent::kWorkflowExecutionContinuedAsNew: return true;
    default: return false;
  }
}

std::string result_failure_text(const pb::GetResultResponse& r, const std::string& workflow_id) {
  auto name = "workflow '" + workflow_id + "'";
  switch (r.status()) {
    case pb::WORKFLOW_EXECUTION_STATUS_TERMINATED:
      return name + " was terminated: " + r.failure().message();
    case pb::WORKFLOW_EXECUTION_STATUS_CANCELED: return name + " was canceled";
    case pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
      return name + " timed out: " + r.failure().message();
    default:
      return std::string("workflow ") + status_name(r.status()) + ": " + r.failure().message();
  }
}

nlohmann::json error_json(const std::string& message, const std::string& hint) {
  nlohmann::json j{{"error", message}};
  if (!hint.empty()) j["hint"] = hint;
  return j;
}

std::string payload_text(const pb::Payload& p) {
  auto j = nlohmann::json::parse(p.data(), nullptr, false);
  if (j.is_discarded()) return p.data().empty() ? "null" : "<non-JSON payload>";
  return j.dump();
}

namespace {

const char* policy_name(pb::ParentClosePolicy p) {
  switch (p) {
    case pb::PARENT_CLOSE_POLICY_ABANDON: return "abandon";
    case pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL: return "request-cancel";
    default: return "terminate";
  }
}

// "TypeName: message".
std::string failure_text(const pb::Failure& f) {
  return (f.type().empty() ? std::string() : f.type() + ": ") + f.message();
}

}  // namespace

std::string describe_text(const pb::DescribeWorkflowResponse& d) {
  std::ostringstream os;
  os << "Workflow ID:     " << d.workflow_id() << "\n"
     << "Run ID:          " << d.run_id() << "\n"
     << "Namespace:       " << d.namespace_() << "\n"
     << "Type:            " << d.workflow_type() << "\n"
     << "Task queue:      " << d.task_queue() << "\n"
     << "Status:          " << status_name(d.status()) << "\n"
     << "Start time:      " << format_time(d.start_time_ms()) << "\n"
     << "Close time:      " << format_time(d.close_time_ms()) << "\n"
     << "History length:  " << d.history_length() << "\n"
     << "Shard:           " << d.shard() << " (node " << d.owner_node() << ")\n"
     << "Workflow task:   " << (d.pending_workflow_task().empty() ? "none" : d.pending_workflow_task());
  if (!d.pending_workflow_task().empty()) os << " (attempt " << d.workflow_task_attempt() << ")";
  os << "\n";
  if (d.has_last_workflow_task_failure())
    os << "Last workflow task failure: " << failure_text(d.last_workflow_task_failure()) << "\n";
  if (!d.fairness_key().empty()) os << "Fairness key:    " << d.fairness_key() << "\n";
  os << "Priority:        " << (d.priority() != 0 ? d.priority() : 3)
     << (d.priority() == 0 ? " (default)" : "") << "\n";
  if (d.paused()) {
    os << "Paused:          since " << format_time(d.pause_time_ms());
    if (!d.pause_identity().empty()) os << " by " << d.pause_identity();
    if (!d.pause_reason().empty()) os << " (reason: " << d.pause_reason() << ")";
    os << "\n";
  }
  if (d.execution_timeout_time_ms() != 0)
    os << "Times out at:    " << format_time(d.execution_timeout_time_ms()) << "\n";
  if (!d.build_ids().empty() || !d.most_recent_build_id().empty()) {
    os << "Build ID:        " << (d.most_recent_build_id().empty() ? "-" : d.most_recent_build_id())
       << " (last workflow task; all:";
    for (const auto& id : d.build_ids()) os << " " << id;
    os << ")\n";
  }
  os << "Pending activities: " << d.pending_activities_size() << "\n";
  for (auto& a : d.pending_activities()) {
    os << "  - activity " << a.activity_id() << " " << a.activity_type() << " (scheduled event "
       << a.scheduled_event_id() << ", attempt " << a.attempt() << ", " << a.state()
       << (a.priority() != 0 && a.priority() != d.priority() && !(a.priority() == 3 && d.priority() == 0)
             ? ", priority " + std::to_string(a.priority())
             : std::string())
       << (a.cancel_requested() ? ", cancel requested at event "
                                    + std::to_string(a.cancel_requested_event_id())
                                : std::string())
       << ")\n";
    if (a.has_last_failure())
      os << "      last failure: " << failure_text(a.last_failure()) << "\n";
    if (a.next_attempt_time_ms() != 0)
      os << "      next attempt at: " << format_time(a.next_attempt_time_ms()) << "\n";
    if (a.last_heartbeat_time_ms() != 0)
      os << "      last heartbeat: " << format_time(a.last_heartbeat_time_ms()) << " "
         << payload_text(a.last_heartbeat_details()) << "\n";
    if (!a.last_worker_identity().empty())
      os << "      last worker: " << a.last_worker_identity() << "\n";
  }
  os << "Pending timers: " << d.pending_timers_size() << "\n";
  for (auto& t : d.pending_timers())
    os << "  - timer " << t.timer_id() << " fires at " << format_time(t.fire_time_ms())
       << " (started event " << t.started_event_id() << ")\n";
  os << "Pending children: " << d.pending_children_size() << "\n";
  for (auto& c : d.pending_children())
    os << "  - child " << c.workflow_id() << " " << c.workflow_type() << " (" << c.state()
       << (c.run_id().empty() ? "" : ", run " + c.run_id()) << ", initiated event "
       << c.initiated_event_id() << ", parent close policy "
       << policy_name(c.parent_close_policy()) << ")\n";
  if (d.pending_externals_size() > 0) {
    os << "Undelivered messages: " << d.pending_externals_size() << "\n";
    for (auto& e : d.pending_externals()) {
      os << "  - " << e.kind();
      if (e.kind() == "signal") os << " '" << e.signal_name() << "'";
      os << " to " << e.workflow_id();
      if (!e.run_id().empty()) os << " (run " << e.run_id() << ")";
      if (!e.namespace_().empty() && e.namespace_() != d.namespace_())
        os << " in namespace " << e.namespace_();
      os << " (initiated event " << e.initiated_event_id();
      if (e.sender_run_id() != d.run_id()) os << " of run " << e.sender_run_id();
      os << (e.awaiting_answer() ? ", awaiting the answer" : ", sent after the run closed")
         << ")\n";
    }
  }
  if (d.has_parent())
    os << "Parent:          " << d.parent().workflow_id() << " (run " << d.parent().run_id()
       << ")\n";
  if (!d.continued_from_run_id().empty())
    os << "Continued from:  run " << d.continued_from_run_id() << "\n";
  if (!d.continued_to_run_id().empty())
    os << "Continued as:    run " << d.continued_to_run_id() << "\n";
  if (!d.reset_from_run_id().empty())
    os << "Reset from:      run " << d.reset_from_run_id() << " (event " << d.reset_event_id()
       << ")\n";
  if (!d.reset_to_run_id().empty()) os << "Reset to:        run " << d.reset_to_run_id() << "\n";
  return os.str();
}

std::string list_text(const pb::ListWorkflowsResponse& l) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof(line), "%-36s %-36s %-20s %-16s %-24s %-24s\n", "WORKFLOW ID",
                "RUN ID", "TYPE", "STATUS", "START", "CLOSE");
  os << line;
  for (auto& e : l.executions()) {
    std::string status = status_name(e.status());
    if (e.paused()) status += " (paused)";
    std::snprintf(line, sizeof(line), "%-36s %-36s %-20s %-16s %-24s %-24s\n",
                  e.workflow_id().c_str(), e.run_id().c_str(), e.workflow_type().c_str(),
                  status.c_str(), format_time(e.start_time_ms()).c_str(),
                  format_time(e.close_time_ms()).c_str());
    os << line;
  }
  return os.str();
}

pb::WorkflowExecutionStatus parse_status(const std::string& text) {
  auto norm = [](std::string s) {
    std::string out;
    for (char c : s)
      if (c != '-' && c != '_' && c != ' ') out.push_back(static_cast<char>(std::tolower(c)));
    return out;
  };
  for (int v = pb::WorkflowExecutionStatus_MIN; v <= pb::WorkflowExecutionStatus_MAX; ++v) {
    auto st = static_cast<pb::WorkflowExecutionStatus>(v);
    if (!pb::WorkflowExecutionStatus_IsValid(v) || st == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED)
      continue;
    if (norm(status_name(st)) == norm(text)) return st;
  }
  return pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
}

int64_t parse_time_ms(const std::string& text, int64_t now_ms) {
  if (text.empty()) return -1;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 15) return -1;
    return std::stoll(text);
  }
  auto ago = parse_duration_ms(text);
  if (ago > 0 && std::isalpha(static_cast<unsigned char>(text.back()))) return now_ms - ago;
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  int64_t ms = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9' && digits < 3) {
      ms = ms * 10 + (*rest++ - '0');
      ++digits;
    }
    while (digits++ < 3) ms *= 10;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  if (*rest == 'Z') ++rest;
  if (*rest != '\0') return -1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

std::string to_hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

namespace {

std::string duration_text(int64_t ms) {
  auto s = ms / 1000;
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof(buf), "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else if (s >= 60) std::snprintf(buf, sizeof(buf), "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof(buf), "%llds", (long long)s);
  return buf;
}

}  // namespace

std::string cluster_text(const pb::ClusterStatusResponse& c) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof(line), "%-10s %-22s %-5s %-9s %6s %8s %8s  %s\n", "NODE", "ADDRESS",
                "STATE", "UPTIME", "SHARDS", "OPEN", "CLOSED", "NOTE");
  os << line;
  // The answering node's member list: an up node with another one is mid rolling restart.
  const pb::NodeStatus* answering = nullptr;
  for (auto& n : c.nodes())
    if (n.node() == c.answered_by()) answering = &n;
  auto same_list = [](const pb::NodeStatus& a, const pb::NodeStatus& b) {
    return std::equal(a.members().begin(), a.members().end(), b.members().begin(),
                      b.members().end());
  };
  bool lists_differ = false;
  for (auto& n : c.nodes()) {
    auto note = n.error();
    if (n.up() && answering && n.members_size() > 0 && !same_list(n, *answering)) {
      lists_differ = true;
      note = "another member list (" + std::to_string(n.members_size()) + " members)";
    }
    std::snprintf(line, sizeof(line), "%-10s %-22s %-5s %-9s %6u %8s %8s  %s\n", n.node().c_str(),
                  n.address().c_str(), n.up() ? "up" : "down",
                  n.up() ? duration_text(n.uptime_ms()).c_str() : "-", n.shards_owned(),
                  n.up() ? std::to_string(n.workflows_open()).c_str() : "-",
                  n.up() ? std::to_string(n.workflows_closed()).c_str() : "-", note.c_str());
    os << line;
  }
  os << "(" << c.num_shards() << " shards, answered by " << c.answered_by() << ")\n";
  if (lists_differ)
    os << "Member lists differ (a rolling restart with a new list): shards' membership changes "
          "wait until every node up runs the same list.\n";
  return os.str();
}

std::string shards_text(const pb::ClusterStatusResponse& c) {
  std::vector<pb::ShardCounts> shards;
  bool replicated = false;
  for (auto& n : c.nodes())
    for (auto& s : n.shards()) {
      shards.push_back(s);
      replicated |= s.has_replication();
    }
  std::stable_sort(shards.begin(), shards.end(),
                   [](auto& a, auto& b) { return a.shard() < b.shard(); });
  std::ostringstream os;
  char line[256];
  if (!replicated) {
    std::snprintf(line, sizeof(line), "%-6s %-10s %-12s %8s %8s\n", "SHARD", "NODE", "STATE", "OPEN", "CLOSED");
    os << line;
    for (auto& s : shards) {
      std::snprintf(line, sizeof(line), "%-6u %-10s %-12s %8s %8s\n", s.shard(), s.node().c_str(),
                    s.available() ? "available" : "unavailable",
                    s.available() ? std::to_string(s.open()).c_str() : "-",
                    s.available() ? std::to_string(s.closed()).c_str() : "-");
      os << line;
    }
    return os.str();
  }
  // Replicated: one line per replica, with its role, the leader it knows, the term, its commit
  // and applied index, its lag behind the commit index and the digest of its data.
  std::snprintf(line, sizeof(line), "%-6s %-10s %-10s %-10s %6s %9s %9s %5s %-18s %8s %8s\n",
                "SHARD", "NODE", "ROLE", "LEADER", "TERM", "COMMIT", "APPLIED", "LAG", "DIGEST",
                "OPEN", "CLOSED");
  os << line;
  for (auto& s : shards) {
    auto& r = s.replication();
    // "-": not computed; "@index": computed at an index before the applied one (a large shard's
    // digest is not computed again at every ask, see ShardReplication in cluster.proto).
    char digest[48] = "-";
    if (r.digest_index() != 0)
      std::snprintf(digest, sizeof(digest), "%016llx", static_cast<unsigned long long>(r.digest()));
    if (r.digest_index() != 0 && r.digest_index() != r.applied_index())
      std::snprintf(digest + 16, sizeof(digest) - 16, "@%llu",
                    static_cast<unsigned long long>(r.digest_index()));
    auto lag = r.commit_index() > r.applied_index() ? r.commit_index() - r.applied_index() : 0;
    std::snprintf(line, sizeof(line), "%-6u %-10s %-10s %-10s %6llu %9llu %9llu %5llu %-18s %8s %8s\n",
                  s.shard(), s.node().c_str(), r.role().empty() ? "down" : r.role().c_str(),
                  r.leader().empty() ? "-" : r.leader().c_str(),
                  static_cast<unsigned long long>(r.term()),
                  static_cast<unsigned long long>(r.commit_index()),
                  static_cast<unsigned long long>(r.applied_index()),
                  static_cast<unsigned long long>(lag), digest,
                  s.available() ? std::to_string(s.open()).c_str() : "-",
                  s.available() ? std::to_string(s.closed()).c_str() : "-");
    os << line;
  }
  return os.str();
}

int64_t parse_duration_ms(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return -1;
  }
  auto unit = text.substr(used);
  double factor = 0;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else return -1;
  double ms = value * factor;
  if (!(ms >= 1) || ms > 1e13) return -1;
  return static_cast<int64_t>(ms);
}

}  // namespace chronicle::cli
