// Many processes at once: agents racing for claims, a subscriber stopped and resumed.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <map>
#include <sstream>

#include "agents/client.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"

namespace whistle {
namespace {

using testing::Binary;
using testing::DispatcherProcess;
using testing::WaitUntilReady;

pb::CityConfig NoDuplicates() {
  pb::CityConfig city = testing::TestCityConfig();
  city.mutable_settings()->set_duplicate_window_seconds(0);
  return city;
}

void SubmitMany(Client& client, int n) {
  for (int i = 0; i < n; ++i) {
    pb::Request r;
    pb::Report* report = r.mutable_submit()->mutable_report();
    report->set_category("water");
    report->set_grid(testing::kGrid1);
    auto answer = client.Call(r);
    REQUIRE(answer.ok());
    REQUIRE(answer->code() == pb::STATUS_OK);
  }
}

TEST_CASE("a report sent by whistle-report is claimed by the right department's whistle-agent, resolved, rated and closed") {
  DispatcherProcess dispatcher;
  zmq::context_t context;
  Subscriber subscriber(context, dispatcher.bus(), dispatcher.front());
  testing::TempDir dir;
  pid_t agent = Spawn({Binary("agents/whistle-agent"), "--front=" + dispatcher.front(), "--bus=" + dispatcher.bus(),
                       "--departments=c1-committee,c1-water-unit", "--eager", "--lapse-share=0",
                       "--return-share=0", "--whistle-share=0", "--unresolved-share=0", "--duration-s=300",
                       "--name=community-desk"},
                      dir.Sub("agent.out"));
  WaitUntilReady(&agent, "whistle-agent",
                 [&] { return ReadWholeFile(dir.Sub("agent.out")).find(" ready") != std::string::npos; });
  pid_t report = Spawn({Binary("agents/whistle-report"), "--front=" + dispatcher.front(), "--category=water",
                        "--grid=" + std::string(testing::kGrid1), "--description=pipe burst"},
                       dir.Sub("report.out"));
  REQUIRE(WaitFor(report) == 0);
  CHECK(ReadWholeFile(dir.Sub("report.out")).find("event 1 ") == 0);

  std::vector<pb::Record> seen;
  Client client(context, dispatcher.front());
  while (seen.empty() || !seen.back().has_closed()) {
    auto next = subscriber.Next(std::chrono::seconds(10));
    REQUIRE(next.ok());
    REQUIRE(next->has_value());
    CHECK((*next)->seq() == seen.size() + 1);  // every notification, in order
    seen.push_back(**next);
    if (seen.back().has_resolved()) {  // the citizen rates the result
      pb::Request f;
      f.mutable_feedback()->set_event_id(1);
      f.mutable_feedback()->set_satisfied(true);
      f.mutable_feedback()->set_score(5);
      auto answer = client.Call(f);
      REQUIRE(answer.ok());
      REQUIRE(answer->code() == pb::STATUS_OK);
    }
  }
  kill(agent, SIGTERM);
  WaitFor(agent);
  std::vector<pb::Record::BodyCase> bodies;
  for (const auto& r : seen) bodies.push_back(r.body_case());
  CHECK(bodies == std::vector<pb::Record::BodyCase>{
                      pb::Record::kSubmitted, pb::Record::kDispatched, pb::Record::kClaimed,
                      pb::Record::kProgressed, pb::Record::kResolved, pb::Record::kFeedbackGiven,
                      pb::Record::kClosed});
  const std::string& claimant = seen[2].claimed().department();
  CHECK((claimant == "c1-committee" || claimant == "c1-water-unit"));
  CHECK(seen[2].claimed().agent() == "community-desk");
}

TEST_CASE("16 agents in separate processes race for 1,000 events: exactly one winner each") {
  DispatcherProcess dispatcher(NoDuplicates());
  zmq::context_t context;
  Client client(context, dispatcher.front());
  constexpr int kEvents = 1000, kAgents = 16;
  testing::TempDir dir;
  std::vector<pid_t> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.push_back(Spawn(
        {Binary("agents/whistle-agent"), "--front=" + dispatcher.front(), "--bus=" + dispatcher.bus(),
         "--departments=c1-committee,c1-water-unit", "--claim-only",
         fmt::format("--until-claims={}", kEvents), "--duration-s=600", fmt::format("--name=agent-{}", i),
         fmt::format("--seed={}", i)},
        dir.Sub(fmt::format("agent-{}.out", i))));
  }
  // Every agent follows the bus before the first event exists, so each sees every offer.
  for (int i = 0; i < kAgents; ++i) {
    WaitUntilReady(&agents[i], fmt::format("whistle-agent {}", i), [&] {
      return ReadWholeFile(dir.Sub(fmt::format("agent-{}.out", i))).find(" ready") != std::string::npos;
    });
  }
  SubmitMany(client, kEvents);
  for (pid_t pid : agents) CHECK(WaitFor(pid) == 0);

  uint64_t won = 0, lost = 0;
  for (int i = 0; i < kAgents; ++i) {
    std::string out = ReadWholeFile(dir.Sub(fmt::format("agent-{}.out", i)));
    unsigned long long w = 0, l = 0;
    auto at = out.find(" won ");
    REQUIRE(at != std::string::npos);
    REQUIRE(std::sscanf(out.c_str() + at, " won %llu lost %llu", &w, &l) == 2);
    won += w;
    lost += l;
    CAPTURE(out);
    CHECK(out.find("refused 0") != std::string::npos);
    if (l > 0) CHECK(out.find("it is CLAIMED by c1-") != std::string::npos);  // losers are told who won
  }
  CHECK(won == kEvents);
  CHECK(lost == static_cast<uint64_t>(kEvents) * (kAgents - 1));

  for (uint64_t id = 1; id <= kEvents; ++id) {
    pb::Request get;
    get.mutable_get()->set_event_id(id);
    get.mutable_get()->set_with_history(true);
    auto r = client.Call(get);
    REQUIRE(r.ok());
    int claims = 0;
    for (const auto& h : r->event().history()) claims += h.has_claimed();
    CHECK(claims == 1);
  }
}

TEST_CASE("a subscriber stopped while records are published gets every sequence number once after it resumes") {
  DispatcherProcess dispatcher(NoDuplicates());
  zmq::context_t context;
  Client client(context, dispatcher.front());
  constexpr int kReports = 3000;  // two records each: far past the bus's high-water mark
  testing::TempDir dir;
  pid_t subscriber = Spawn({Binary("tests/whistle-test-subscriber"), "--front=" + dispatcher.front(),
                                     "--bus=" + dispatcher.bus(), fmt::format("--until={}", 2 * kReports)},
                                    dir.Sub("seqs"));
  SubmitMany(client, 10);
  kill(subscriber, SIGSTOP);
  SubmitMany(client, kReports - 10);
  kill(subscriber, SIGCONT);
  REQUIRE(WaitFor(subscriber) == 0);

  std::istringstream seqs(ReadWholeFile(dir.Sub("seqs")));
  uint64_t expected = 1, seq;
  while (seqs >> seq) CHECK(seq == expected++);
  CHECK(expected == 2 * kReports + 1);
}

TEST_CASE("a subscriber far behind delivers the log as it reads it, a page at a time, not whole") {
  DispatcherProcess dispatcher(NoDuplicates());
  zmq::context_t context;
  Client client(context, dispatcher.front());
  SubmitMany(client, 1500);  // 3,000 records: three pages of the log
  Subscriber subscriber(context, dispatcher.bus(), dispatcher.front(), 0);
  auto first = subscriber.Next(std::chrono::milliseconds(200));  // a quiet bus: then the log
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK((*first)->seq() == 1);
  CHECK(subscriber.caught_up() <= 1000);  // one page read, not the whole backlog
  uint64_t expected = 2;
  while (expected <= 3000) {
    auto next = subscriber.Next(std::chrono::seconds(5));
    REQUIRE(next.ok());
    REQUIRE(next->has_value());
    REQUIRE((*next)->seq() == expected);
    ++expected;
  }
  CHECK(subscriber.caught_up() == 3000);
}

}  // namespace
}  // namespace whistle
