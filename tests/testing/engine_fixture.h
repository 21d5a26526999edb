// EngineFixture: a real engine on a real RocksDB in a temp directory, with a manual clock and
// one helper per command. Restart() closes and reopens everything, as a process restart would.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dispatcher/city.h"
#include "dispatcher/clock.h"
#include "dispatcher/engine.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_city.h"

namespace whistle::testing {

// 2026-11-23 09:00 in Beijing (01:00 UTC).
inline constexpr int64_t kStartMs = 1795395600000;

// Every key and value of a column family, in order.
using KeyValues = std::vector<std::pair<std::string, std::string>>;
KeyValues Dump(const storage::Store& store, storage::Cf cf);
// Every key of a column family, in order.
std::vector<std::string> Keys(const storage::Store& store, storage::Cf cf);
// The expires_at_ms of the idempotency entry at `key`, which must exist.
int64_t IdempotencyExpiry(const storage::Store& store, std::string_view key);
// Every column family: equal before and after means nothing at all was written.
std::vector<KeyValues> DumpAll(const storage::Store& store);

// By default the --dev-no-auth role, which may do everything: most engine tests are about the
// lifecycle, not about who may drive it (authorization_test.cc is).
pb::Actor TestActor(pb::Role role = pb::ROLE_DEV, const std::string& principal = "tester",
                    const std::string& department = "");

class EngineFixture {
 public:
  explicit EngineFixture(pb::CityConfig config = TestCityConfig());
  ~EngineFixture();

  // Closes the engine and the store and opens them again from disk.
  void Restart();
  Engine& engine() { return *engine_; }
  storage::Store& store() { return *store_; }
  const City& city() const { return *city_; }
  std::string db_path() const { return dir_.Sub("db"); }

  ManualClock clock{kStartMs};
  // What the engine is opened with, at the next Restart (or the first Open).
  EngineOptions options;

  // Each helper runs one command as a batch of its own and returns the reply. A Submit without a
  // request id is given a fresh one.
  pb::Response Run(pb::Request request, const pb::Actor& actor = TestActor());
  pb::Response Submit(const std::string& category, const std::string& grid,
                      const std::string& reporter = "grid-worker-1",
                      const std::string& request_id = "");
  pb::Response Claim(uint64_t id, const std::string& department, bool assist = false);
  pb::Response Release(uint64_t id, uint64_t claim);
  pb::Response Progress(uint64_t id, uint64_t claim, const std::string& note = "on site");
  pb::Response Resolve(uint64_t id, uint64_t claim, const std::string& note = "pipe replaced");
  pb::Response Return(uint64_t id, const std::string& department, uint64_t claim,
                      const std::string& reason = "not ours");
  pb::Response Whistle(uint64_t id, const std::string& department, uint64_t claim,
                       const std::string& reason = "needs the street");
  pb::Response Supervise(uint64_t id, const std::string& note = "hurry");
  pb::Response Feedback(uint64_t id, bool satisfied, int score = 5);
  pb::Response Reopen(uint64_t id, const std::string& reason = "came back");
  pb::Response Merge(uint64_t id, uint64_t into);
  pb::Response Cancel(uint64_t id, const std::string& reason = "reported by mistake");
  pb::Response SetMode(const std::string& region, pb::Mode mode);
  pb::Response Get(uint64_t id, bool with_history = false);

  // Asserting shortcuts: the command must succeed.
  uint64_t SubmitOk(const std::string& category = "water", const std::string& grid = kGrid1,
                    const std::string& reporter = "grid-worker-1");
  uint64_t ClaimOk(uint64_t id, const std::string& department);  // returns the claim number
  pb::Event EventOf(uint64_t id);
  std::vector<pb::Record> HistoryOf(uint64_t id);  // every page of it
  // The stored bytes of an event and its history (its newest 1,000 records): equal before and
  // after means nothing changed.
  std::string Snapshot(uint64_t id);

 private:
  void Open();

  TempDir dir_;
  std::shared_ptr<const City> city_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Engine> engine_;
  uint64_t requests_ = 0;
};

}  // namespace whistle::testing
