#include "storage/batch_writer.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <rocksdb/env.h>

#include "storage/fault_injection.h"
#include "storage/keys.h"
#include "tests/testing/cpu_time.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/thread_policy.h"

namespace whistle::storage {
namespace {

using testing::TempDir;

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST_CASE("batch writer: each write on its own thread, signalled, with its status") {
  TempDir dir;
  auto store = Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  BatchWriter writer(**store);
  CHECK_FALSE(writer.busy());
  CHECK_FALSE(writer.done());
  CHECK_FALSE(Readable(writer.ready_fd(), 0));

  for (uint64_t i = 1; i <= 3; ++i) {
    WriteBatch batch(**store);
    batch.Put(Cf::kLog, LogKey(i), "record");
    writer.Start(&batch);
    CHECK(writer.busy());
    // The signal comes when the write has returned; then Wait does not block.
    REQUIRE(Readable(writer.ready_fd(), 10000));
    CHECK(writer.done());
    CHECK(writer.Wait().ok());
    CHECK_FALSE(writer.busy());
    CHECK_FALSE(Readable(writer.ready_fd(), 0));  // Wait took the signal
    auto read = (*store)->Get(Cf::kLog, LogKey(i));
    REQUIRE(read.ok());
    CHECK(*read == std::optional<std::string>("record"));
  }
}

TEST_CASE("batch writer: its thread is named, and its CPU clock counts its writes, not the caller's work") {
  TempDir dir;
  auto store = Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  CHECK(testing::SchedulingPolicies(0, BatchWriter::kThreadName).empty());
  BatchWriter writer(**store);
  CHECK(testing::SchedulingPolicies(0, BatchWriter::kThreadName).size() == 1);
  const uint64_t idle = testing::CpuMicros(writer.cpu_clock());
  testing::BurnCpu(20000);  // this thread's, while the writer waits
  const uint64_t after_caller = testing::CpuMicros(writer.cpu_clock());
  CHECK(after_caller - idle < 20000);
  WriteBatch batch(**store);
  for (uint64_t i = 1; i <= 1000; ++i) batch.Put(Cf::kLog, LogKey(i), std::string(100, 'r'));
  writer.Start(&batch);
  REQUIRE(writer.Wait().ok());
  CHECK(testing::CpuMicros(writer.cpu_clock()) > after_caller);
}

TEST_CASE("batch writer: a failed write comes back from Wait, and poisons the store for the next") {
  TempDir dir;
  auto fs = std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  auto store = Store::Open(dir.Sub("db"), {.env = env.get()});
  REQUIRE(store.ok());
  BatchWriter writer(**store);

  fs->set_fail_writes(true);
  WriteBatch first(**store);
  first.Put(Cf::kLog, LogKey(1), "lost");
  writer.Start(&first);
  Status s = writer.Wait();
  CHECK(s.code() == pb::STATUS_UNAVAILABLE);

  fs->set_fail_writes(false);
  WriteBatch second(**store);
  second.Put(Cf::kLog, LogKey(2), "refused");
  writer.Start(&second);
  CHECK(writer.Wait().code() == pb::STATUS_UNAVAILABLE);  // sticky: see Store's contract
  CHECK((*store)->health().code() == pb::STATUS_UNAVAILABLE);
}

TEST_CASE("batch writer: a write started is made even when the writer is destroyed at once") {
  TempDir dir;
  auto store = Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  {
    WriteBatch batch(**store);
    for (uint64_t i = 1; i <= 1000; ++i) batch.Put(Cf::kLog, LogKey(i), std::string(100, 'x'));
    BatchWriter writer(**store);
    writer.Start(&batch);
  }  // the writer goes first (it must not drop what it was given), then the batch
  auto last = (*store)->Get(Cf::kLog, LogKey(1000));
  REQUIRE(last.ok());
  CHECK(last->has_value());
}

}  // namespace
}  // namespace whistle::storage
