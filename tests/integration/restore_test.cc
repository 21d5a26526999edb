// Backups and restore (docs/OPERATIONS.md, "Backups") against a real dispatcher with keys: a
// checkpoint taken with whistlectl while it serves, the store replaced by it, the dispatcher
// started again; and a subscriber that had gone past the checkpoint says so instead of skipping
// the new records that reuse its numbers.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "agents/client.h"
#include "agents/principals.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_city.h"
#include "tools/process.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::CallOk;
using testing::DispatcherProcess;

pb::StatusCode GetCode(Client& client, uint64_t id) {
  pb::Request get;
  get.mutable_get()->set_event_id(id);
  auto answer = client.Call(get);
  REQUIRE(answer.ok());
  return answer->code();
}

// The subscriber's records until one about `event_id` (true) or an error (false).
bool FollowUntil(Subscriber& subscriber, uint64_t event_id) {
  for (int i = 0; i < 100; ++i) {
    auto next = subscriber.Next(200ms);
    if (!next.ok()) return false;
    if (next->has_value() && (*next)->event_id() == event_id) return true;
  }
  FAIL("no record about event ", event_id);
  return false;
}

// Reads on until `subscriber` fails, delivering nothing meanwhile (nothing the dispatcher numbers
// again): its failure, or nullopt after 100 reads.
std::optional<Status> FailureOf(Subscriber& subscriber) {
  for (int i = 0; i < 100; ++i) {
    auto next = subscriber.Next(200ms);
    if (!next.ok()) return next.status();
    REQUIRE_FALSE(next->has_value());
  }
  return std::nullopt;
}

uint64_t LastSeq(Client& client) {
  pb::Request log;
  log.mutable_log()->set_after_seq(UINT64_MAX);
  return CallOk(client, log).log().last_seq();
}

// A dispatcher with keys, its admin's connection, and principals registered on demand.
struct KeyedCity {
  KeyedCity() : dispatcher(testing::TestCityConfig(), {}, testing::Auth::kKeys) {
    auto key = ReadCredentials(dispatcher.admin_key());
    REQUIRE(key.ok());
    admin_key = *key;
    admin.emplace(context, dispatcher.front(), ClientOptions{.credentials = admin_key});
  }
  // A new principal's key.
  pb::KeyFile Principal(const std::string& name, pb::Role role, const std::string& department = "") {
    pb::Principal p;
    p.set_name(name);
    p.set_role(role);
    if (!department.empty()) p.add_departments(department);
    auto key = EnsurePrincipal(*admin, admin_key->server_public_key(), p, dir.Sub(name + ".key"));
    REQUIRE_MESSAGE(key.ok(), key.status().ToString());
    return *key;
  }
  // Stops the dispatcher, replaces its store by the copy in `backup`, starts it again.
  void Restore(const std::string& backup) {
    dispatcher.Kill();
    std::filesystem::remove_all(dispatcher.data_dir());
    std::filesystem::copy(backup, dispatcher.data_dir(), std::filesystem::copy_options::recursive);
    dispatcher.StartOnSamePorts();
  }

  DispatcherProcess dispatcher;
  testing::TempDir dir;
  zmq::context_t context;
  ClientCredentials admin_key;
  std::optional<Client> admin;
};

TEST_CASE("a dispatcher restored from a checkpoint serves what it holds, and a subscriber past it says the log went back") {
  KeyedCity city;
  DispatcherProcess& dispatcher = city.dispatcher;
  testing::TempDir& dir = city.dir;
  zmq::context_t& context = city.context;
  Client& admin = *city.admin;
  const ClientCredentials admin_key = city.admin_key;
  Client reporter(context, dispatcher.front(),
                  ClientOptions{.credentials = city.Principal("app-1", pb::ROLE_REPORTER)});
  Subscriber subscriber(context, dispatcher.bus(), dispatcher.front(), 0,
                        ClientOptions{.timeout = 2000ms, .attempts = 2, .credentials = admin_key});

  uint64_t kept = CallOk(reporter, testing::WaterReport(testing::kGrid1, "before")).event().event().id();
  // The documented command, while the dispatcher serves.
  const std::string backup = dir.Sub("backup");
  pid_t ctl = Spawn({testing::Binary("tools/whistlectl"), "--front=" + dispatcher.front(),
                     "--key=" + dispatcher.admin_key(), "checkpoint", "--dir=" + backup},
                    dir.Sub("ctl.log"), /*merge_stderr=*/true);
  REQUIRE_MESSAGE(WaitFor(ctl) == 0, ReadWholeFile(dir.Sub("ctl.log")));
  CHECK(ReadWholeFile(dir.Sub("ctl.log")).find("checkpoint in " + backup) != std::string::npos);
  uint64_t lost = CallOk(reporter, testing::WaterReport(testing::kGrid2, "after")).event().event().id();
  REQUIRE(FollowUntil(subscriber, lost));
  // Everything written, delivered: what comes after the restore is the restored dispatcher's.
  const uint64_t written = LastSeq(admin);
  for (int i = 0; i < 100 && subscriber.last_seq() < written; ++i) REQUIRE(subscriber.Next(200ms).ok());
  REQUIRE(subscriber.last_seq() == written);

  // The restore: the dispatcher stopped, its store replaced by the copy, started again.
  city.Restore(backup);

  // Everything in the copy, nothing after it; the admin's key still works (principals are in the
  // store, the dispatcher's own key in keys/).
  CHECK(GetCode(admin, kept) == pb::STATUS_OK);
  CHECK(GetCode(admin, lost) == pb::STATUS_NOT_FOUND);
  // A new event takes the lost one's id, and its records numbers the subscriber has delivered.
  uint64_t reused = CallOk(reporter, testing::WaterReport(testing::kGrid3, "after-restore")).event().event().id();
  CHECK(reused == lost);
  CHECK(LastSeq(admin) <= written);

  const std::optional<Status> failed = FailureOf(subscriber);
  REQUIRE(failed);
  CHECK(subscriber.rewound());
  CHECK(failed->message().find("the dispatcher's log went back") != std::string::npos);
  CHECK(subscriber.Next(0ms).status().message() == failed->message());  // and stays stopped

  // A subscriber from the start follows the restored dispatcher as any other.
  Subscriber fresh(context, dispatcher.bus(), dispatcher.front(), 0, admin_key);
  CHECK(FollowUntil(fresh, reused));
  CHECK_FALSE(fresh.rewound());
}

TEST_CASE("an agent's subscriber, which reads the log with no bus, sees a restored log that grew past it went back") {
  KeyedCity city;
  Client& admin = *city.admin;
  Client reporter(city.context, city.dispatcher.front(),
                  ClientOptions{.credentials = city.Principal("app-1", pb::ROLE_REPORTER)});
  Subscriber desk(city.context, city.dispatcher.bus(), city.dispatcher.front(), 0,
                  ClientOptions{.timeout = 2000ms,
                                .attempts = 2,
                                .credentials = city.Principal("desk-a", pb::ROLE_AGENT, "c1-committee")});
  pb::Request checkpoint;
  checkpoint.mutable_checkpoint()->set_dir(city.dir.Sub("backup"));
  CallOk(admin, checkpoint);
  const uint64_t lost = CallOk(reporter, testing::WaterReport(testing::kGrid1, "after")).event().event().id();
  REQUIRE(FollowUntil(desk, lost));
  const uint64_t written = LastSeq(admin);
  for (int i = 0; i < 100 && desk.last_seq() < written; ++i) REQUIRE(desk.Next(200ms).ok());
  REQUIRE(desk.last_seq() == written);
  REQUIRE(desk.bus_refused());

  city.Restore(city.dir.Sub("backup"));
  // The restored log grows past the desk's number before it reads again: only the record it knew,
  // now another, tells (with no bus, there is no reconnection to check at).
  for (int i = 0; LastSeq(admin) <= written; ++i) {
    CallOk(reporter, testing::WaterReport(testing::kGrid2, fmt::format("after-restore-{}", i)));
  }
  const std::optional<Status> failed = FailureOf(desk);
  REQUIRE(failed);
  CHECK(desk.rewound());
  CHECK(failed->message().find("its record " + std::to_string(written) + " is not the one seen here") !=
        std::string::npos);
}

TEST_CASE("a subscriber goes on across kill -9 and a restart on the same store, not taking it for a restore") {
  DispatcherProcess dispatcher;
  zmq::context_t context;
  Client client(context, dispatcher.front());
  Subscriber subscriber(context, dispatcher.bus(), dispatcher.front(), 0,
                        ClientOptions{.timeout = 2000ms, .attempts = 2, .credentials = {}});
  uint64_t first = CallOk(client, testing::WaterReport(testing::kGrid1, "one")).event().event().id();
  REQUIRE(FollowUntil(subscriber, first));
  const uint64_t written = LastSeq(client);
  for (int i = 0; i < 100 && subscriber.last_seq() < written; ++i) REQUIRE(subscriber.Next(200ms).ok());
  REQUIRE(subscriber.last_seq() == written);

  dispatcher.Kill();
  // Down: the subscriber says so (UNAVAILABLE) and may be asked again.
  CHECK(subscriber.Next(300ms).status().code() == pb::STATUS_UNAVAILABLE);
  dispatcher.StartOnSamePorts();
  uint64_t second = CallOk(client, testing::WaterReport(testing::kGrid2, "two")).event().event().id();
  CHECK(FollowUntil(subscriber, second));
  CHECK_FALSE(subscriber.rewound());
  // A subscriber made from the first one's number and mark, as a daemon keeps them, goes on too.
  Subscriber resumed(context, dispatcher.bus(), dispatcher.front(), subscriber.last_seq(),
                     ClientOptions{.timeout = 2000ms, .attempts = 2, .credentials = {}}, subscriber.last_mark());
  uint64_t third = CallOk(client, testing::WaterReport(testing::kGrid3, "three")).event().event().id();
  CHECK(FollowUntil(resumed, third));
  CHECK_FALSE(resumed.rewound());
}

}  // namespace
}  // namespace whistle
