// The dispatcher as a real process on loopback: round trip, bad input, kill -9, SIGTERM.
#include <sched.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "agents/client.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/test_city.h"
#include "tests/testing/thread_policy.h"
#include "tools/process.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::CallOk;
using testing::DispatcherProcess;

TEST_CASE("a report is routed, claimed, resolved, rated and closed, the subscriber sees it all in order") {
  DispatcherProcess dispatcher;
  zmq::context_t context;
  Subscriber subscriber(context, dispatcher.bus(), dispatcher.front());
  Client client(context, dispatcher.front());

  uint64_t id = CallOk(client, testing::WaterReport(testing::kGrid1)).event().event().id();
  pb::Request claim;
  claim.mutable_claim()->set_event_id(id);
  claim.mutable_claim()->set_department("c1-water-unit");
  uint64_t n = CallOk(client, claim).event().event().claim_number();
  pb::Request progress;
  progress.mutable_progress()->set_event_id(id);
  progress.mutable_progress()->set_claim_number(n);
  CallOk(client, progress);
  pb::Request resolve;
  resolve.mutable_resolve()->set_event_id(id);
  resolve.mutable_resolve()->set_claim_number(n);
  resolve.mutable_resolve()->set_note("valve replaced");
  CallOk(client, resolve);
  pb::Request feedback;
  feedback.mutable_feedback()->set_event_id(id);
  feedback.mutable_feedback()->set_satisfied(true);
  feedback.mutable_feedback()->set_score(5);
  CHECK(CallOk(client, feedback).event().event().state() == pb::STATE_CLOSED);

  std::vector<pb::Record::BodyCase> seen;
  uint64_t expected_seq = 1;
  while (seen.size() < 7) {
    auto next = subscriber.Next(5s);
    REQUIRE(next.ok());
    REQUIRE(next->has_value());
    CHECK((*next)->seq() == expected_seq++);
    if ((*next)->has_submitted()) CHECK((*next)->submitted().report().contact_phone().empty());
    seen.push_back((*next)->body_case());
  }
  CHECK(seen == std::vector<pb::Record::BodyCase>{
                    pb::Record::kSubmitted, pb::Record::kDispatched, pb::Record::kClaimed,
                    pb::Record::kProgressed, pb::Record::kResolved, pb::Record::kFeedbackGiven,
                    pb::Record::kClosed});
}

TEST_CASE("the bus publishes a principal's creation and revocation by name only") {
  DispatcherProcess dispatcher;
  zmq::context_t context;
  Client client(context, dispatcher.front());
  // A bare subscriber: the client library's would read a gap back through the front door, where a
  // --dev-no-auth client is answered everything.
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::subscribe, "all");
  sub.connect(dispatcher.bus());
  auto next_on_bus = [&](std::chrono::milliseconds wait) -> std::optional<pb::Record> {
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, wait) <= 0) return std::nullopt;
    zmq::message_t topic, body;
    REQUIRE(sub.recv(topic));
    REQUIRE(sub.recv(body));
    pb::Notification n;
    REQUIRE(n.ParseFromArray(body.data(), static_cast<int>(body.size())));
    return n.record();
  };
  // The subscription is in place once a record arrives.
  bool subscribed = false;
  for (int i = 0; i < 50 && !subscribed; ++i) {
    CallOk(client, testing::WaterReport(testing::kGrid1));
    subscribed = next_on_bus(100ms).has_value();
  }
  REQUIRE(subscribed);
  while (next_on_bus(100ms)) {}  // the rest of those reports' records

  pb::Request create;
  create.set_request_id("create-desk");
  pb::Principal* p = create.mutable_create_principal()->mutable_principal();
  p->set_name("desk-c1");
  p->set_role(pb::ROLE_AGENT);
  p->add_departments("c1-water-unit");
  p->set_public_key(std::string(32, 'd'));
  p->set_note("Wang's phone, room 3");
  CallOk(client, create);
  pb::Request revoke;
  revoke.set_request_id("revoke-desk");
  revoke.mutable_revoke_principal()->set_name("desk-c1");
  revoke.mutable_revoke_principal()->set_reason("phone lost");
  CallOk(client, revoke);

  auto created = next_on_bus(5s);
  REQUIRE(created.has_value());
  REQUIRE(created->has_principal_created());
  const pb::Principal& published = created->principal_created().principal();
  CHECK(published.name() == "desk-c1");
  CHECK(published.role() == pb::ROLE_UNSPECIFIED);
  CHECK(published.departments_size() == 0);
  CHECK(published.public_key().empty());
  CHECK(published.note().empty());
  auto revoked = next_on_bus(5s);
  REQUIRE(revoked.has_value());
  REQUIRE(revoked->has_principal_revoked());
  CHECK(revoked->principal_revoked().name() == "desk-c1");
  CHECK(revoked->principal_revoked().reason().empty());
}

std::optional<pb::Response> Raw(zmq::context_t& context, const std::string& front,
                                const std::vector<std::string>& frames) {
  return testing::SendRawFrames(context, front, frames);
}

TEST_CASE("bad input from a raw socket gets an error reply and the dispatcher keeps serving") {
  DispatcherProcess dispatcher;
  zmq::context_t context;

  auto garbage = Raw(context, dispatcher.front(), {"\xff\xff\xff\xff garbage"});
  REQUIRE(garbage);
  CHECK(garbage->code() == pb::STATUS_BAD_REQUEST);

  std::string valid = testing::WaterReport(testing::kGrid1, "x").SerializeAsString();
  auto truncated = Raw(context, dispatcher.front(), {valid.substr(0, valid.size() - 5)});
  REQUIRE(truncated);
  CHECK(truncated->code() == pb::STATUS_BAD_REQUEST);

  auto oversized = Raw(context, dispatcher.front(), {std::string(100 * 1024, 'a')});
  REQUIRE(oversized);
  CHECK(oversized->code() == pb::STATUS_TOO_LARGE);

  // Field 99 is no command this dispatcher knows.
  auto unknown = Raw(context, dispatcher.front(), {std::string("\x98\x06\x01", 3)});
  REQUIRE(unknown);
  CHECK(unknown->code() == pb::STATUS_BAD_REQUEST);
  CHECK(unknown->message() == "the request carries no command");

  auto two_frames = Raw(context, dispatcher.front(), {valid, valid});
  REQUIRE(two_frames);
  CHECK(two_frames->code() == pb::STATUS_BAD_REQUEST);

  Client client(context, dispatcher.front());
  pb::Request get;
  get.mutable_get()->set_event_id(1);
  auto answer = client.Call(get);
  REQUIRE(answer.ok());
  CHECK(answer->code() == pb::STATUS_NOT_FOUND);  // nothing bad was applied
  CHECK(CallOk(client, testing::WaterReport(testing::kGrid1)).event().event().id() == 1);
}

TEST_CASE("kill -9 under load from several reporters loses no acknowledged submit and duplicates none") {
  pb::CityConfig city = testing::TestCityConfig();
  city.mutable_settings()->set_duplicate_window_seconds(0);  // every report is its own event
  DispatcherProcess dispatcher(city);
  zmq::context_t context;
  std::mutex mu;
  std::map<std::string, uint64_t> acked;  // request id -> event id
  std::atomic<bool> stop{false};
  std::atomic<int> front_generation{0};
  std::string front = dispatcher.front();

  auto reporter = [&](int who) {
    ClientOptions options;
    options.timeout = 300ms;
    options.attempts = 1;  // the test drives the retries across the restart itself
    std::unique_ptr<Client> client;
    int generation = -1;
    for (int i = 0; !stop.load(); ++i) {
      std::string request_id = fmt::format("reporter-{}-{}", who, i);
      const char* grids[] = {testing::kGrid1, testing::kGrid2, testing::kGrid3};
      // Retry this request id until acknowledged, across the restart.
      while (!stop.load()) {
        if (generation != front_generation.load()) {
          std::lock_guard lock(mu);
          client = std::make_unique<Client>(context, front, options);
          generation = front_generation.load();
        }
        pb::Request r = testing::WaterReport(grids[(who + i) % 3], request_id);
        r.mutable_submit()->mutable_report()->set_category(i % 2 ? "water" : "noise");
        auto answer = client->Call(r);
        if (answer.ok() && answer->code() == pb::STATUS_OK) {
          std::lock_guard lock(mu);
          auto [it, inserted] = acked.emplace(request_id, answer->event().event().id());
          CHECK(it->second == answer->event().event().id());  // a retry got the first answer
          break;
        }
      }
    }
  };
  std::vector<std::thread> reporters;
  for (int i = 0; i < 4; ++i) reporters.emplace_back(reporter, i);
  auto wait_for_acks = [&](size_t n) {
    while (true) {
      {
        std::lock_guard lock(mu);
        if (acked.size() >= n) return;
      }
      std::this_thread::yield();
    }
  };
  wait_for_acks(200);
  dispatcher.Kill();
  size_t acked_before_kill;
  {
    std::lock_guard lock(mu);
    acked_before_kill = acked.size();
  }
  dispatcher.Start();
  {
    std::lock_guard lock(mu);
    front = dispatcher.front();
    front_generation++;
  }
  wait_for_acks(acked_before_kill + 100);
  stop = true;
  for (auto& t : reporters) t.join();

  // Every acknowledged submit is there, once, under the request id that made it.
  Client client(context, dispatcher.front());
  std::map<uint64_t, std::string> by_event;
  for (const auto& [request_id, event_id] : acked) {
    CHECK(by_event.emplace(event_id, request_id).second);  // no two requests share an event
    pb::Request get;
    get.mutable_get()->set_event_id(event_id);
    get.mutable_get()->set_with_history(true);
    CHECK(CallOk(client, get).event().history(0).submitted().request_id() == request_id);
  }
  // And nothing else was made twice: besides the acknowledged events there are at most the
  // requests still in flight when the reporters stopped (one each).
  size_t stored = 0;
  for (uint64_t id = 1; id <= acked.size() + 8; ++id) {
    pb::Request get;
    get.mutable_get()->set_event_id(id);
    auto r = client.Call(get);
    REQUIRE(r.ok());
    stored += r->code() == pb::STATUS_OK;
  }
  CHECK(stored >= acked.size());
  CHECK(stored <= acked.size() + reporters.size());
  CHECK(acked_before_kill >= 200);
}

TEST_CASE("SIGTERM finishes, exits 0, and a restart serves what was stored") {
  DispatcherProcess dispatcher;
  zmq::context_t context;
  {
    Client client(context, dispatcher.front());
    CallOk(client, testing::WaterReport(testing::kGrid2, "before-stop"));
  }
  CHECK(dispatcher.Terminate() == 0);
  dispatcher.Start();
  Client client(context, dispatcher.front());
  pb::Request get;
  get.mutable_get()->set_event_id(1);
  CHECK(CallOk(client, get).event().event().grid() == testing::kGrid2);
}

TEST_CASE("a region's topic carries only the events inside it") {
  DispatcherProcess dispatcher;
  zmq::context_t context;
  zmq::socket_t sub(context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::subscribe, std::string("r/") + testing::kCommunity2);
  sub.connect(dispatcher.bus());
  Client client(context, dispatcher.front());
  // A slow joiner misses what is published before its subscription reaches the publisher:
  // publish until the first matching notification arrives.
  uint64_t inside = 0;
  for (int i = 0; inside == 0 && i < 100; ++i) {
    CallOk(client, testing::WaterReport(testing::kGrid1, fmt::format("outside-{}", i)));
    uint64_t id = CallOk(client, testing::WaterReport(testing::kGrid3, fmt::format("inside-{}", i))).event().event().id();
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, 100ms);
    while (item.revents & ZMQ_POLLIN) {
      zmq::message_t topic, body;
      (void)sub.recv(topic, zmq::recv_flags::none);
      (void)sub.recv(body, zmq::recv_flags::none);
      pb::Notification n;
      REQUIRE(n.ParseFromArray(body.data(), static_cast<int>(body.size())));
      CHECK(n.grid() == testing::kGrid3);
      inside = id;
      zmq::poll(&item, 1, 0ms);
    }
  }
  CHECK(inside != 0);
}

// The values of `name` in the newest OPTIONS file RocksDB wrote in `data_dir` (OPTIONS-<number>):
// one per column family for a family's option.
std::set<std::string> RocksDbOption(const std::string& data_dir, const std::string& name) {
  std::filesystem::path newest;
  uint64_t newest_number = 0;
  for (const auto& f : std::filesystem::directory_iterator(data_dir)) {
    const std::string file = f.path().filename().string();
    const std::string digits = file.substr(std::min(file.size(), sizeof("OPTIONS-") - 1));
    if (!file.starts_with("OPTIONS-") || digits.empty() ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;  // not an options file, or one RocksDB is still writing (.dbtmp)
    }
    if (uint64_t number = std::stoull(digits); number > newest_number) newest = f.path(), newest_number = number;
  }
  REQUIRE_MESSAGE(newest_number > 0, "no OPTIONS file in " << data_dir);
  std::ifstream in(newest);
  const std::string prefix = "  " + name + "=";
  std::set<std::string> values;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) values.insert(line.substr(prefix.size()));
  }
  return values;
}

TEST_CASE("the documented sample daemon configuration starts a dispatcher, flags overriding it") {
  // Its metrics_listen, 127.0.0.1:9570, is the documented daemon's: a port of the test's own
  // choosing instead, so that a dispatcher running on this machine does not fail the test.
  DispatcherProcess dispatcher(testing::TestCityConfig(),
                               {"--daemon-config=" + std::string(WHISTLE_SOURCE_DIR) +
                                    "/deploy/whistle-dispatcher.textproto",
                                "--metrics-listen=127.0.0.1:0"},
                               testing::Auth::kKeys);
  zmq::context_t context;
  auto admin_key = ReadCredentials(dispatcher.admin_key());  // made in --keys, not keys_dir
  REQUIRE_MESSAGE(admin_key.ok(), admin_key.status().ToString());
  Client admin(context, dispatcher.front(), ClientOptions{.credentials = *admin_key});
  pb::Request whoami;
  whoami.mutable_whoami();
  CHECK(CallOk(admin, whoami).principal().role() == pb::ROLE_ADMIN);
  // The server answers metrics itself (an admin may ask): the whoami above is counted.
  pb::Request metrics;
  metrics.mutable_metrics();
  pb::MetricsResult m = CallOk(admin, metrics).metrics();
  CHECK(m.commands() >= 1);
  CHECK(m.batches() >= 1);
  bool whoami_counted = false;
  for (const pb::CommandCount& c : m.by_command()) {
    whoami_counted = whoami_counted || (c.command() == "whoami" && c.code() == pb::STATUS_OK && c.count() == 1);
  }
  CHECK(whoami_counted);
  // Its authentication is on: a client without a key is refused. The server often closes the
  // connection before the client has read its greeting (the client then reconnects and tries
  // again), so on a loaded machine the refusal may take several rounds: give it time.
  ClientOptions once;
  once.timeout = 10s;
  once.attempts = 1;
  Client plain(context, dispatcher.front(), once);
  CHECK(plain.Call(testing::WaterReport(testing::kGrid3)).status().code() == pb::STATUS_UNAUTHENTICATED);
  // Its write-ahead log bound (max_wal_mb: 32) reached RocksDB, which records what it runs with.
  CHECK(RocksDbOption(dispatcher.data_dir(), "max_total_wal_size") == std::set<std::string>{std::to_string(32 << 20)});
}

TEST_CASE("max_wal_mb in the daemon configuration, or --max-wal-mb, bounds the write-ahead log RocksDB keeps") {
  testing::TempDir dir;
  std::vector<std::string> args;
  SUBCASE("the configuration file") {
    std::ofstream(dir.Sub("dispatcher.textproto")) << "max_wal_mb: 8\n";
    args = {"--daemon-config=" + dir.Sub("dispatcher.textproto")};
  }
  SUBCASE("the flag") { args = {"--max-wal-mb=8"}; }
  DispatcherProcess dispatcher(testing::TestCityConfig(), args);
  CHECK(RocksDbOption(dispatcher.data_dir(), "max_total_wal_size") == std::set<std::string>{std::to_string(8 << 20)});
}

TEST_CASE("wal_spare_mb in the daemon configuration, or --wal-spare-mb, sizes the spare log, and 0 turns it off") {
  testing::TempDir dir;
  std::vector<std::string> args;
  SUBCASE("the configuration file") {
    std::ofstream(dir.Sub("dispatcher.textproto")) << "wal_spare_mb: 2\n";
    args = {"--daemon-config=" + dir.Sub("dispatcher.textproto")};
  }
  SUBCASE("the flag") { args = {"--wal-spare-mb=2"}; }
  DispatcherProcess sized(testing::TestCityConfig(), args);
  const std::string spare = sized.data_dir() + "/whistle-wal-spare";
  CHECK(testing::Eventually([&] {
    std::error_code ec;
    return std::filesystem::file_size(spare, ec) == uintmax_t{2} << 20 && !ec;
  }));
  // Off: written to, the dispatcher leaves no spare within a second, where the one above appeared
  // at once (and the default here, with a log bound of 1 MiB, would be 5 MiB).
  DispatcherProcess off(testing::TestCityConfig(), {"--max-wal-mb=1", "--wal-spare-mb=0"});
  zmq::context_t context;
  Client client(context, off.front());
  CallOk(client, testing::WaterReport(testing::kGrid1, "report-1"));
  std::this_thread::sleep_for(1s);
  CHECK_FALSE(std::filesystem::exists(off.data_dir() + "/whistle-wal-spare"));
}

// The policies of the dispatcher's flush thread (RocksDB's high pool) once it has flushed: reports
// until the write-ahead log passes --max-wal-mb=1 and RocksDB flushes (its LOG says so).
std::vector<int> FlushThreadPolicies(const DispatcherProcess& dispatcher) {
  zmq::context_t context;
  Client client(context, dispatcher.front());
  const std::string log = dispatcher.data_dir() + "/LOG";
  for (int i = 0; i < 20000 && ReadWholeFile(log).find("flush_finished") == std::string::npos; ++i) {
    CallOk(client, testing::WaterReport(i % 2 == 0 ? testing::kGrid1 : testing::kGrid3, fmt::format("report-{}", i)));
  }
  REQUIRE(ReadWholeFile(log).find("flush_finished") != std::string::npos);
  return testing::SchedulingPolicies(dispatcher.pid(), "rocksdb:high");
}

TEST_CASE("the dispatcher flushes at idle priority unless idle_background_threads, or the flag, is false") {
  testing::TempDir dir;
  std::vector<std::string> args;
  int policy = SCHED_IDLE;
  SUBCASE("by default") {}
  SUBCASE("the configuration file") {
    std::ofstream(dir.Sub("dispatcher.textproto")) << "idle_background_threads: false\n";
    args = {"--daemon-config=" + dir.Sub("dispatcher.textproto")};
    policy = SCHED_OTHER;
  }
  SUBCASE("the flag") {
    args = {"--idle-background-threads=false"};
    policy = SCHED_OTHER;
  }
  SUBCASE("the flag, bare, over the configuration file") {
    std::ofstream(dir.Sub("dispatcher.textproto")) << "idle_background_threads: false\n";
    args = {"--daemon-config=" + dir.Sub("dispatcher.textproto"), "--idle-background-threads"};
  }
  args.push_back("--max-wal-mb=1");
  DispatcherProcess dispatcher(testing::TestCityConfig(), args);
  CHECK(FlushThreadPolicies(dispatcher) == std::vector<int>{policy});
}

TEST_CASE("idempotency_retention_hours in the daemon configuration, or the flag, ends a retry's first answer") {
  testing::TempDir dir;
  // An hour of engine time is 5 s here; the default (a week) would be 14 minutes.
  std::vector<std::string> args = {"--time-scale=720"};
  SUBCASE("the configuration file") {
    std::ofstream(dir.Sub("dispatcher.textproto")) << "idempotency_retention_hours: 1\n";
    args.push_back("--daemon-config=" + dir.Sub("dispatcher.textproto"));
  }
  SUBCASE("the flag") { args.push_back("--idempotency-retention-hours=1"); }
  DispatcherProcess dispatcher(testing::TestCityConfig(), args);
  zmq::context_t context;
  Client client(context, dispatcher.front());
  uint64_t id = CallOk(client, testing::WaterReport(testing::kGrid1, "report-1")).event().event().id();
  pb::Request cancel;
  cancel.set_request_id("cancel-1");
  cancel.mutable_cancel()->set_event_id(id);
  cancel.mutable_cancel()->set_reason("by mistake");
  pb::Response first = CallOk(client, cancel);
  // At once, the first answer again (the retention is not 0)...
  pb::Response retry = CallOk(client, cancel);
  first.clear_correlation_id();
  retry.clear_correlation_id();
  CHECK(retry.SerializeAsString() == first.SerializeAsString());
  // ...and once it has passed, the retry is decided afresh: the event is cancelled already.
  CHECK(testing::Eventually([&] {
    auto answer = client.Call(cancel);
    REQUIRE(answer.ok());
    return answer->code() == pb::STATUS_ILLEGAL_TRANSITION;
  }, 30s));
  // RocksDB runs the idempotency family with the filter that drops expired entries.
  CHECK(RocksDbOption(dispatcher.data_dir(), "compaction_filter").contains("whistle.IdempotencyExpiry"));
}

TEST_CASE("a daemon configuration value out of its flag's range is refused at start, naming the field") {
  testing::TempDir dir;
  std::ofstream(dir.Sub("dispatcher.textproto")) << "idempotency_retention_hours: 100000\n";
  const std::string out = dir.Sub("out");
  pid_t pid = Spawn({testing::Binary("dispatcher/whistle-dispatcher"), "--dev-no-auth", "--data=" + dir.Sub("data"),
                     "--daemon-config=" + dir.Sub("dispatcher.textproto")},
                    out, /*merge_stderr=*/true);
  CHECK(WaitFor(pid) == 2);
  CHECK(ReadWholeFile(out).find("idempotency_retention_hours in the daemon configuration must be from 1 to 87840") !=
        std::string::npos);
}

TEST_CASE("a ready dispatcher has RocksDB's compactions on again, paused only while it loaded") {
  DispatcherProcess dispatcher;
  CHECK(RocksDbOption(dispatcher.data_dir(), "disable_auto_compactions") == std::set<std::string>{"false"});
}

TEST_CASE("a dispatcher built with jemalloc runs on it (CMake WHISTLE_JEMALLOC, off for sanitizer builds)") {
  DispatcherProcess dispatcher;
  std::ifstream maps(fmt::format("/proc/{}/maps", dispatcher.pid()));
  REQUIRE(maps.good());
  bool mapped = false;
  for (std::string line; std::getline(maps, line);) mapped = mapped || line.find("libjemalloc") != std::string::npos;
  CHECK(mapped == static_cast<bool>(WHISTLE_JEMALLOC));
}

TEST_CASE("a client that stops reading its answers cannot stall the dispatcher, what it misses is counted") {
  DispatcherProcess dispatcher;
  zmq::context_t context;
  ClientOptions patient;
  patient.timeout = 30s;  // the sanitizer build is slow; without the fix no answer ever comes
  patient.attempts = 1;
  Client client(context, dispatcher.front(), patient);
  pb::Request submit = testing::WaterReport(testing::kGrid1, "big");
  submit.mutable_submit()->mutable_report()->set_description(std::string(15000, 'x'));
  auto submitted = client.Call(submit);
  REQUIRE(submitted.ok());
  REQUIRE(submitted->code() == pb::STATUS_OK);

  // A client asks for the 15 KB event 3,000 times and reads nothing: its answers fill the
  // dispatcher's queue for it (1,000 answers) and the socket buffers between them.
  zmq::socket_t greedy(context, zmq::socket_type::dealer);
  greedy.set(zmq::sockopt::linger, 0);
  greedy.set(zmq::sockopt::rcvhwm, 1);
  greedy.set(zmq::sockopt::rcvbuf, 4096);
  greedy.connect(dispatcher.front());
  pb::Request get;
  get.mutable_get()->set_event_id(submitted->event().event().id());
  const std::string get_bytes = get.SerializeAsString();
  constexpr int kAsked = 3000;
  int sent = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 30s; sent < kAsked && std::chrono::steady_clock::now() < deadline;) {
    if (greedy.send(zmq::buffer(get_bytes), zmq::send_flags::dontwait)) {
      ++sent;
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  REQUIRE(sent == kAsked);

  // Everyone else is still served.
  pb::Request whoami;
  whoami.mutable_whoami();
  auto answer = client.Call(whoami);
  REQUIRE(answer.ok());
  CHECK(answer->code() == pb::STATUS_OK);

  // The greedy client finally reads: every request it sent was either answered or counted as
  // dropped, none both and none neither.
  int received = 0;
  for (;;) {
    zmq::pollitem_t item{greedy.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, 2s);
    if (!(item.revents & ZMQ_POLLIN)) break;
    zmq::message_t m;
    while (greedy.recv(m, zmq::recv_flags::dontwait)) ++received;
  }
  pb::Request metrics;
  metrics.mutable_metrics();
  auto counted = client.Call(metrics);
  REQUIRE(counted.ok());
  REQUIRE(counted->code() == pb::STATUS_OK);
  const uint64_t dropped = counted->metrics().dropped_replies();
  CHECK(dropped > 0);
  CHECK(static_cast<uint64_t>(received) + dropped == static_cast<uint64_t>(kAsked));
}

TEST_CASE("a burst of submits past the busy threshold is answered BUSY, never dropped, claims are never shed") {
  pb::CityConfig city = testing::TestCityConfig();
  city.mutable_settings()->set_duplicate_window_seconds(0);
  DispatcherProcess dispatcher(city, {"--max-batch=4", "--busy-window=1000"});
  zmq::context_t context;
  zmq::socket_t s(context, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(dispatcher.front());
  constexpr int kBurst = 400;
  for (int i = 0; i < kBurst; ++i) {
    pb::Request r = testing::WaterReport(testing::kGrid1, fmt::format("burst-{}", i));
    r.set_correlation_id(i + 1);
    s.send(zmq::buffer(r.SerializeAsString()), zmq::send_flags::none);
  }
  std::map<int, int> codes;
  std::set<uint64_t> answered;
  while (answered.size() < kBurst) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, 10s);
    REQUIRE((item.revents & ZMQ_POLLIN));  // every request is answered
    zmq::message_t m;
    (void)s.recv(m, zmq::recv_flags::none);
    pb::Response r;
    REQUIRE(r.ParseFromArray(m.data(), static_cast<int>(m.size())));
    CHECK(answered.insert(r.correlation_id()).second);
    ++codes[r.code()];
  }
  CHECK(codes[pb::STATUS_OK] + codes[pb::STATUS_BUSY] == kBurst);
  CHECK(codes[pb::STATUS_OK] > 0);
  CHECK(codes[pb::STATUS_BUSY] > 0);

  // Exactly the acknowledged submits exist; then a burst of claims is applied in full.
  Client client(context, dispatcher.front());
  int events = codes[pb::STATUS_OK];
  for (int id = 1; id <= events; ++id) {
    pb::Request claim;
    claim.set_correlation_id(100000 + id);
    claim.mutable_claim()->set_event_id(id);
    claim.mutable_claim()->set_department("c1-committee");
    s.send(zmq::buffer(claim.SerializeAsString()), zmq::send_flags::none);
  }
  int claimed = 0;
  for (int i = 0; i < events; ++i) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, 10s);
    REQUIRE((item.revents & ZMQ_POLLIN));
    zmq::message_t m;
    (void)s.recv(m, zmq::recv_flags::none);
    pb::Response r;
    REQUIRE(r.ParseFromArray(m.data(), static_cast<int>(m.size())));
    CHECK(r.code() != pb::STATUS_BUSY);
    claimed += r.code() == pb::STATUS_OK;
  }
  CHECK(claimed == events);
  pb::Request get;
  get.mutable_get()->set_event_id(events + 1);
  auto beyond = client.Call(get);
  REQUIRE(beyond.ok());
  CHECK(beyond->code() == pb::STATUS_NOT_FOUND);  // nothing BUSY was applied
}

}  // namespace
}  // namespace whistle
