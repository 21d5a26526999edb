// whistle-compact, the process: rewrites a stopped store, dropping expired idempotency entries.
#include <fstream>

#include <doctest/doctest.h>

#include "storage/idempotency.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"

namespace whistle {
namespace {

std::string EntryExpiringAt(int64_t expires_at_ms) {
  pb::IdempotencyEntry entry;
  entry.set_payload_hash(1);
  entry.set_expires_at_ms(expires_at_ms);
  return entry.SerializeAsString();
}

int Compact(const std::string& data, const std::vector<std::string>& more = {},
            const std::string& output = "/dev/null") {
  std::vector<std::string> argv = {testing::Binary("tools/whistle-compact"), "--data=" + data};
  argv.insert(argv.end(), more.begin(), more.end());
  return WaitFor(Spawn(argv, output, true));
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// An entry as written before entries expired: no expiry, the answer an event.
std::string LegacyEntryAnswering(uint64_t event_id) {
  pb::Response answer;
  answer.mutable_event()->mutable_event()->set_id(event_id);
  pb::IdempotencyEntry entry;
  entry.set_response(answer.SerializeAsString());
  return entry.SerializeAsString();
}

TEST_CASE("whistle-compact drops the idempotency entries expired at the newest record, and keeps the rest") {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  {
    auto store = storage::Store::Open(data);
    REQUIRE(store.ok());
    storage::WriteBatch batch(**store);
    pb::Record newest;
    newest.set_at_ms(5000);
    batch.Put(storage::Cf::kLog, storage::LogKey(1), newest.SerializeAsString());
    batch.Put(storage::Cf::kIdempotency, "submit", EntryExpiringAt(0));
    batch.Put(storage::Cf::kIdempotency, "expired", EntryExpiringAt(5000));
    batch.Put(storage::Cf::kIdempotency, "alive", EntryExpiringAt(5001));
    REQUIRE((*store)->Write(batch).ok());
  }
  REQUIRE(Compact(data) == 0);
  auto store = storage::Store::Open(data);
  REQUIRE(store.ok());
  CHECK(testing::Keys(**store, storage::Cf::kIdempotency) == std::vector<std::string>{"alive", "submit"});
  CHECK((*store)->Get(storage::Cf::kLog, storage::LogKey(1))->has_value());
}

TEST_CASE("whistle-compact gives the entries written before entries expired, other than a Submit's, the retention") {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  const std::string submit_key = storage::IdempotencyKey("worker", "report-1");
  const std::string claim_key = storage::IdempotencyKey("agent", "claim-1");
  {
    auto store = storage::Store::Open(data);
    REQUIRE(store.ok());
    storage::WriteBatch batch(**store);
    pb::Record submitted;  // event 7's first record: the Submit that made it
    submitted.set_event_id(7);
    submitted.set_at_ms(1000);
    submitted.mutable_actor()->set_principal("worker");
    submitted.mutable_submitted()->set_request_id("report-1");
    batch.Put(storage::Cf::kHistory, storage::HistoryKey(7, 0), submitted.SerializeAsString());
    pb::Record newest;
    newest.set_at_ms(5000);
    batch.Put(storage::Cf::kLog, storage::LogKey(1), newest.SerializeAsString());
    batch.Put(storage::Cf::kIdempotency, submit_key, LegacyEntryAnswering(7));
    batch.Put(storage::Cf::kIdempotency, claim_key, LegacyEntryAnswering(7));
    REQUIRE((*store)->Write(batch).ok());
  }
  CHECK(Compact(data, {"--idempotency-retention-hours=0"}) == 2);
  const std::string output = dir.Sub("output");
  REQUIRE(Compact(data, {"--idempotency-retention-hours=2"}, output) == 0);
  const std::string first = FirstLine(output);
  CHECK_MESSAGE(first.starts_with("whistle-compact: 2 idempotency entries, 2 without expiry: 1 a Submit's "
                                  "(kept for good), 1 another command's (now expiring 2 h after the newest "
                                  "record), 0 not told apart (kept); "),
                first);
  {
    auto store = storage::Store::Open(data);
    REQUIRE(store.ok());
    CHECK(testing::IdempotencyExpiry(**store, submit_key) == 0);
    CHECK(testing::IdempotencyExpiry(**store, claim_key) == 5000 + 2 * 3600 * 1000);
  }
  REQUIRE(Compact(data, {}, output) == 0);  // decided: not read again
  CHECK(FirstLine(output) == "whistle-compact: idempotency entries without expiry all decided before");
}

TEST_CASE("whistle-compact refuses a path that holds no store, and a store that is open") {
  testing::TempDir dir;
  CHECK(Compact(dir.Sub("nothing-here")) == 1);
  auto store = storage::Store::Open(dir.Sub("data"));
  REQUIRE(store.ok());
  CHECK(Compact(dir.Sub("data")) == 1);  // RocksDB's lock: a running dispatcher holds it so
}

}  // namespace
}  // namespace whistle
