// HeldReads (dispatcher/held_reads.h): which written records wake which held log reads, and
// when their waits end. On the test city's engine state, with no sockets: the server's use of it
// is tested against a real dispatcher in tests/integration/security_test.cc.
#include "dispatcher/held_reads.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/testing/engine_fixture.h"
#include "tests/testing/test_city.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;
using testing::kCommunity2;
using testing::kGrid1;
using testing::kGrid2;
using testing::kGrid3;
using testing::TestActor;
using Clock = std::chrono::steady_clock;

pb::Actor HeldActor(pb::Role role, const std::string& name, const std::string& department = "",
                    const std::string& region = "") {
  pb::Actor actor = TestActor(role, name, department);
  actor.set_region(region);
  return actor;
}

// A held read of `actor` after `after_seq`, its wait ending at `until`, named by its identity.
HeldReads::Read ReadOf(const pb::Actor& actor, const std::string& name, uint64_t after_seq,
                       Clock::time_point until = Clock::time_point::max()) {
  HeldReads::Read read{zmq::message_t(name.data(), name.size()), {}, until};
  read.command.actor = actor;
  read.command.request.mutable_log()->set_after_seq(after_seq);
  read.command.request.mutable_log()->set_wait_ms(20000);
  return read;
}

// The names of `reads`, sorted.
std::vector<std::string> Names(const std::vector<HeldReads::Read>& reads) {
  std::vector<std::string> names;
  for (const auto& r : reads) names.push_back(r.identity.to_string());
  std::sort(names.begin(), names.end());
  return names;
}

// Holds a read for each of the test city's kinds of follower, all having seen up to seq 10.
struct Followers {
  explicit Followers(EngineFixture& f) : held(f.city()) {
    Hold(f, HeldActor(pb::ROLE_ADMIN, "root"), "admin");
    Hold(f, HeldActor(pb::ROLE_AGENT, "desk-c1", "c1-committee"), "c1");
    Hold(f, HeldActor(pb::ROLE_AGENT, "desk-c2", "c2-committee"), "c2");
    Hold(f, HeldActor(pb::ROLE_AGENT, "desk-s", "s-office"), "street");
    Hold(f, HeldActor(pb::ROLE_AGENT, "desk-sr", "s-office", kCommunity2), "street-in-c2");
    Hold(f, HeldActor(pb::ROLE_SUPERVISOR, "sup-c2", "", kCommunity2), "sup-c2");
    Hold(f, HeldActor(pb::ROLE_AGENT, "desk-x", "no-such-department"), "nobody");
  }
  void Hold(EngineFixture& f, const pb::Actor& actor, const std::string& name) {
    std::vector<HeldReads::Read> woken;
    held.Hold(ReadOf(actor, name, 10), ReadReach(actor, f.engine().state()), 10, &woken);
    REQUIRE(woken.empty());
  }
  std::vector<std::string> Wrote(std::vector<HeldReads::Written> records) {
    std::vector<HeldReads::Read> woken;
    held.Wrote(records, &woken);
    return Names(woken);
  }
  HeldReads held;
};

TEST_CASE("a written record wakes the held reads of those who may read it, and only those") {
  EngineFixture f;
  SUBCASE(
      "a record of the first community wakes its committee, the street's desk and the whole log") {
    Followers w(f);
    CHECK(w.Wrote({{11, kGrid1}}) == std::vector<std::string>{"admin", "c1", "street"});
    CHECK(w.held.size() == 4);
    CHECK(w.Wrote({{12, kGrid2}}).empty());  // those it woke are no longer held
  }
  SUBCASE(
      "a record of the second community wakes its committee, supervisor and the street's desks") {
    Followers w(f);
    CHECK(w.Wrote({{11, kGrid3}}) ==
          std::vector<std::string>{"admin", "c2", "street", "street-in-c2", "sup-c2"});
  }
  SUBCASE("a record of no event, or of an unknown grid, wakes only the whole log's reader") {
    Followers w(f);
    CHECK(w.Wrote({{11, ""}}) == std::vector<std::string>{"admin"});
    CHECK(w.Wrote({{12, "no-such-grid"}}).empty());
    CHECK(w.held.size() == 6);
  }
  SUBCASE("a record the reads have seen wakes none") {
    Followers w(f);
    CHECK(w.Wrote({{10, kGrid1}, {9, kGrid3}}).empty());
    CHECK(w.held.size() == 7);
  }
  SUBCASE("a batch of several records wakes each read once") {
    Followers w(f);
    CHECK(w.Wrote({{11, kGrid1}, {12, kGrid2}, {13, kGrid3}, {14, ""}}) ==
          std::vector<std::string>{"admin", "c1", "c2", "street", "street-in-c2", "sup-c2"});
    CHECK(w.held.size() == 1);  // the desk of a department the city does not know reads nothing
  }
}

TEST_CASE(
    "a read held after records it has not seen is woken at once by those of the last batch "
    "written") {
  EngineFixture f;
  HeldReads held(f.city());
  const pb::Actor desk = HeldActor(pb::ROLE_AGENT, "desk-c1", "c1-committee");
  const ReadReach reach(desk, f.engine().state());
  std::vector<HeldReads::Read> woken;
  held.Wrote(std::vector<HeldReads::Written>{{5, kGrid1}}, &woken);           // the batch before
  held.Wrote(std::vector<HeldReads::Written>{{6, kGrid3}, {7, ""}}, &woken);  // the last
  REQUIRE(woken.empty());
  // Seen up to 4: record 5 is in the batch before the last (a read decided while the last was
  // written has seen it); 6 and 7 are not its to read.
  held.Hold(ReadOf(desk, "seen-4", 4), reach, 4, &woken);
  CHECK(woken.empty());
  CHECK(held.size() == 1);
  CHECK(held.HeldFor("desk-c1") == 1);
  held.Wrote(std::vector<HeldReads::Written>{{9, kGrid1}}, &woken);
  CHECK(Names(woken) == std::vector<std::string>{"seen-4"});
  CHECK(held.HeldFor("desk-c1") == 0);
  // Record 9, in the last batch, is after what this one saw: woken at once, never held.
  woken.clear();
  held.Hold(ReadOf(desk, "seen-8", 8), reach, 8, &woken);
  CHECK(Names(woken) == std::vector<std::string>{"seen-8"});
  CHECK(held.size() == 0);
  // One that saw it is held.
  woken.clear();
  held.Hold(ReadOf(desk, "seen-9", 9), reach, 9, &woken);
  CHECK(woken.empty());
  CHECK(held.size() == 1);
  // A console's reads, on people's tickets, count as the console's.
  pb::Actor person = desk;
  person.set_via("console");
  held.Hold(ReadOf(person, "via", 9), reach, 9, &woken);
  CHECK(held.HeldFor("desk-c1") == 1);
  CHECK(held.HeldFor("console") == 1);
}

TEST_CASE("held reads end with their waits, soonest first, and all of them at a stop") {
  EngineFixture f;
  HeldReads held(f.city());
  const pb::Actor desk = HeldActor(pb::ROLE_AGENT, "desk-c1", "c1-committee");
  const ReadReach reach(desk, f.engine().state());
  const Clock::time_point t0{};
  std::vector<HeldReads::Read> out;
  CHECK_FALSE(held.NextEnd().has_value());
  held.Hold(ReadOf(desk, "late", 0, t0 + 30s), reach, 0, &out);
  held.Hold(ReadOf(desk, "soon", 0, t0 + 10s), reach, 0, &out);
  held.Hold(ReadOf(desk, "also-soon", 0, t0 + 10s), reach, 0, &out);
  REQUIRE(out.empty());
  CHECK(held.NextEnd() == t0 + 10s);
  held.Expire(t0 + 9s, &out);
  CHECK(out.empty());
  held.Expire(t0 + 10s, &out);
  CHECK(Names(out) == std::vector<std::string>{"also-soon", "soon"});
  CHECK(held.NextEnd() == t0 + 30s);
  // A read woken leaves the waits too.
  out.clear();
  held.Wrote(std::vector<HeldReads::Written>{{1, kGrid1}}, &out);
  CHECK(Names(out) == std::vector<std::string>{"late"});
  CHECK_FALSE(held.NextEnd().has_value());
  held.Hold(ReadOf(desk, "a", 1, t0 + 5s), reach, 1, &out);
  held.Hold(ReadOf(HeldActor(pb::ROLE_ADMIN, "root"), "b", 1, t0 + 6s),
            ReadReach(HeldActor(pb::ROLE_ADMIN, "root"), f.engine().state()), 1, &out);
  CHECK(Names(held.TakeAll()) == std::vector<std::string>{"a", "b"});
  CHECK(held.size() == 0);
  out.clear();
  held.Wrote(std::vector<HeldReads::Written>{{2, kGrid1}}, &out);
  CHECK(out.empty());  // nothing left in any index
}

}  // namespace
}  // namespace whistle
