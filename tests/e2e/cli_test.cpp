// End-to-end: the chronicle CLI's polish against a real node and greeting-worker: -o json on every
// command that prints data, shell completion generated from the CLI's definition, suggestions for
// typos and unknown workflows, and `workflow result --follow` streaming the history.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

json parse_json(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), text);
  return j;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// Runs `script` with bash; returns its exit code, output in *out.
int bash(const std::string& script, std::string* out) { return run("/bin/bash", {"-c", script}, out); }

}  // namespace

TEST_CASE("cli: -o json output parses for start describe list show and cluster status") {
  single_node d;
  d.start_node();
  d.start_worker();
  std::string out;
  REQUIRE_MESSAGE(d.cli({"-o", "json", "workflow", "start", "-t", "Greeting", "-q", "greetings",
                         "-w", "j1", "-i", R"({"name":"Ada"})"}, &out) == 0, out);
  auto started = parse_json(out);
  CHECK(started["run_id"].get<std::string>().size() == 36);
  CHECK(started["started"] == true);
  auto run_id = started["run_id"].get<std::string>();

  REQUIRE_MESSAGE(d.cli({"-o", "json", "workflow", "result", "-w", "j1"}, &out) == 0, out);
  CHECK(parse_json(out)["greeting"] == "Hello, Ada!");

  // The global option also works after the subcommand; --json stays an alias.
  REQUIRE(d.cli({"workflow", "describe", "-w", "j1", "-o", "json"}, &out) == 0);
  auto described = parse_json(out);
  CHECK(described["workflowId"] == "j1");
  CHECK(described["runId"] == run_id);
  REQUIRE(d.cli({"workflow", "describe", "-w", "j1", "--json"}, &out) == 0);
  CHECK(parse_json(out)["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED");

  REQUIRE(d.cli({"-o", "json", "workflow", "list"}, &out) == 0);
  auto listed = parse_json(out);
  REQUIRE(listed["executions"].size() == 1);
  CHECK(listed["executions"][0]["workflowId"] == "j1");

  REQUIRE(d.cli({"-o", "json", "workflow", "show", "-w", "j1"}, &out) == 0);
  auto shown = parse_json(out);
  CHECK(shown["events"].size() == 16);
  CHECK(shown["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");

  REQUIRE(d.cli({"-o", "json", "cluster", "status"}, &out) == 0);
  CHECK(parse_json(out)["nodes"].size() == 1);
  REQUIRE(d.cli({"-o", "json", "cluster", "shards"}, &out) == 0);
  CHECK(parse_json(out)["nodes"][0]["shards"].size() == 8);

  // Acknowledgements and failures are JSON objects too.
  REQUIRE(d.cli({"-o", "json", "workflow", "start", "-t", "Approval", "-q", "greetings", "-w", "a1"},
                &out) == 0);
  REQUIRE(d.cli({"-o", "json", "workflow", "signal", "-w", "a1", "--name", "ping"}, &out) == 0);
  CHECK(parse_json(out)["signaled"] == true);
  REQUIRE(d.cli({"-o", "json", "workflow", "terminate", "-w", "a1", "--reason", "done"}, &out) == 0);
  auto terminated = parse_json(out);
  CHECK(terminated["terminated"] == true);
  CHECK(terminated["workflow_id"] == "a1");
  CHECK(d.cli({"-o", "json", "workflow", "result", "-w", "a1"}, &out) == 1);
  auto failed = parse_json(out);
  CHECK(failed["status"] == "Terminated");
  CHECK(failed["error"].get<std::string>().find("terminated: done") != std::string::npos);
  CHECK(d.cli({"-o", "yaml", "workflow", "list"}, &out) == 2);
}

TEST_CASE("cli: completion bash covers the subcommands and is valid bash") {
  temp_dir dir;
  std::string out;
  REQUIRE(run(CHRONICLE_CLI_BIN, {"completion", "bash"}, &out) == 0);
  for (auto word : {"workflow", "cluster", "completion", "describe", "signal-with-start", "shards",
                    "--follow", "--output", "--workflow-id", "complete -F _chronicle chronicle"})
    CHECK_MESSAGE(out.find(word) != std::string::npos, word);
  auto script = (dir.path() / "chronicle.bash").string();
  std::ofstream(script) << out;
  std::string check;
  CHECK_MESSAGE(run("/bin/bash", {"-n", script}, &check) == 0, check);

  // It completes: subcommands by prefix, a subcommand's options, and fixed option values.
  auto complete = [&](const std::string& words, int cword) {
    std::string reply;
    REQUIRE(bash("source " + script + "; COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(cword)
                   + "; _chronicle; echo \"${COMPREPLY[*]}\"", &reply) == 0);
    return reply;
  };
  CHECK(complete("chronicle workflow desc", 2) == "describe\n");
  CHECK(complete("chronicle w", 1) == "workflow\n");
  CHECK(complete("chronicle -o json workflow result --fo", 5) == "--follow\n");
  CHECK(complete("chronicle workflow list -o ''", 4) == "table json\n");
  CHECK(complete("chronicle completion ''", 2) == "bash zsh\n");

  REQUIRE(run(CHRONICLE_CLI_BIN, {"completion", "zsh"}, &out) == 0);
  CHECK(out.find("#compdef chronicle") == 0);
  CHECK(out.find("signal-with-start:") != std::string::npos);
  if (std::filesystem::exists("/usr/bin/zsh")) {
    std::ofstream(dir.path() / "_chronicle") << out;
    CHECK_MESSAGE(run("/usr/bin/zsh", {"-n", (dir.path() / "_chronicle").string()}, &check) == 0, check);
  }
  CHECK(run(CHRONICLE_CLI_BIN, {"completion", "fish"}, &out) == 2);
}

TEST_CASE("cli: a typo in a subcommand or option exits 2 and suggests the closest name") {
  std::string out;
  CHECK(run(CHRONICLE_CLI_BIN, {"workflow", "describ", "-w", "x"}, &out) == 2);
  CHECK_MESSAGE(out.find("unknown command 'workflow describ'; did you mean 'describe'?")
                  != std::string::npos, out);
  CHECK(run(CHRONICLE_CLI_BIN, {"wrokflow", "list"}, &out) == 2);
  CHECK_MESSAGE(out.find("did you mean 'workflow'?") != std::string::npos, out);
  CHECK(run(CHRONICLE_CLI_BIN, {"workflow", "list", "--prefx", "a"}, &out) == 2);
  CHECK_MESSAGE(out.find("unknown option '--prefx' for 'workflow list'; did you mean '--prefix'?")
                  != std::string::npos, out);
  CHECK(run(CHRONICLE_CLI_BIN, {"workflow", "result", "-w", "x", "--folow"}, &out) == 2);
  CHECK_MESSAGE(out.find("did you mean '--follow'?") != std::string::npos, out);
  // Nothing close: no guess, still a usage error.
  CHECK(run(CHRONICLE_CLI_BIN, {"workflow", "xyzzy"}, &out) == 2);
  CHECK(out.find("unknown command 'workflow xyzzy'") != std::string::npos);
  CHECK(out.find("did you mean") == std::string::npos);
  // A missing required option keeps CLI11's message.
  CHECK(run(CHRONICLE_CLI_BIN, {"workflow", "describe"}, &out) == 2);
  CHECK(out.find("--workflow-id is required") != std::string::npos);
}

TEST_CASE("cli: a workflow that is not found suggests workflow list with a prefix") {
  single_node d;
  d.start_node();
  auto c = d.connect();
  REQUIRE(c.start(start_request("order-17", "Greeting", {{"name", "x"}})));
  std::string out;
  CHECK(d.cli({"workflow", "describe", "-w", "ordr-17"}, &out) == 1);
  CHECK_MESSAGE(out.find("workflow 'ordr-17' not found") != std::string::npos, out);
  CHECK(out.find("did you mean 'order-17'?") != std::string::npos);
  CHECK(out.find("chronicle workflow list --prefix ord") != std::string::npos);
  CHECK(d.cli({"-o", "json", "workflow", "show", "-w", "zzz"}, &out) == 1);
  auto j = parse_json(out);
  CHECK(j["error"].get<std::string>().find("not found") != std::string::npos);
  CHECK(j["hint"] == "list workflows with IDs like it: chronicle workflow list --prefix zz");
}

TEST_CASE("cli: a connection failure names the address and suggests --address") {
  auto addr = "127.0.0.1:" + std::to_string(free_port());
  std::string out;
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "show", "-w", "g"}, &out) == 1);
  CHECK_MESSAGE(out.find("cannot connect to node at " + addr) != std::string::npos, out);
  CHECK(out.find("--address host:port or set CHRONICLE_ADDRESS") != std::string::npos);
}

TEST_CASE("cli: result --follow prints the Greeting events as they happen and then the result") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  REQUIRE(c.start(start_request("f1", "Greeting", {{"name", "Ada"}})));
  // The events stream while the run is open: TimerStarted shows a second before the timer fires.
  process follow(CHRONICLE_CLI_BIN, {"--address", d.address(), "workflow", "result", "-w", "f1", "--follow"},
                 (d.dir.path() / "follow.log").string());
  REQUIRE_MESSAGE(follow.wait_for_output("TimerStarted", 10s), follow.output());
  CHECK(follow.output().find("WorkflowExecutionCompleted") == std::string::npos);
  CHECK(follow.wait_exit(20s) == 0);
  auto out = follow.output();
  auto scheduled = out.find("ActivityTaskScheduled"), timer = out.find("TimerStarted");
  auto completed = out.find("WorkflowExecutionCompleted");
  REQUIRE(scheduled != std::string::npos);
  CHECK(scheduled < timer);
  CHECK(timer < completed);
  auto lines = lines_of(out);
  CHECK(lines.size() == 17);  // 16 events, then the result
  CHECK(lines.back() == R"({"greeting":"Hello, Ada!","workflow_id":"f1"})");

  // With -o json: one JSON object per event, then the result.
  REQUIRE(d.cli({"-o", "json", "workflow", "result", "-w", "f1", "--follow"}, &out) == 0);
  lines = lines_of(out);
  REQUIRE(lines.size() == 17);
  CHECK(parse_json(lines[0])["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
  CHECK(parse_json(lines[15])["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED");
  CHECK(parse_json(lines[16])["greeting"] == "Hello, Ada!");
}

TEST_CASE("cli: result --follow goes through continue-as-new to the Counter result") {
  single_node d;
  d.start_node();
  d.start_worker();
  std::string out;
  REQUIRE(d.cli({"workflow", "start", "-t", "Counter", "-q", "greetings", "-w", "count",
                 "-i", R"({"n":0,"upto":3})"}, &out) == 0);
  auto first_run = lines_of(out).at(0);
  REQUIRE_MESSAGE(d.cli({"workflow", "result", "-w", "count", "-r", first_run, "--follow"}, &out) == 0,
                  out);
  auto lines = lines_of(out);
  int switches = 0, started = 0;
  for (auto& l : lines) {
    switches += l.rfind("--- continued as new: run ", 0) == 0;
    started += l.find("WorkflowExecutionStarted") != std::string::npos;
  }
  CHECK(switches == 3);
  CHECK(started == 4);
  CHECK_MESSAGE(lines.back().rfind(R"({"count":3,)", 0) == 0, out);
}

TEST_CASE("cli: result on a terminal says what it is waiting for") {
  if (!std::filesystem::exists("/usr/bin/script")) return;  // util-linux gives the CLI a pty
  single_node d;
  d.start_node();
  auto c = d.connect();
  REQUIRE(c.start(start_request("slow", "Approval")));
  std::string out;
  CHECK(run("/usr/bin/script", {"-qec", std::string(CHRONICLE_CLI_BIN) + " --address " + d.address()
                                          + " workflow result -w slow --timeout 4", "/dev/null"}, &out) == 1);
  CHECK_MESSAGE(out.find("waiting for workflow 'slow' (status Running, 2 events)...") != std::string::npos,
                out);
  CHECK(out.find("timed out") != std::string::npos);
}
