// WalSpareFs: write-ahead logs written over spare files of zeros (storage/wal_spare_fs.h), on the
// real file system.
#include "storage/wal_spare_fs.h"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace whistle::storage {
namespace {

using testing::TempDir;

std::optional<std::string> Read(Store& store, uint64_t id) {
  auto v = store.Get(Cf::kEvents, EventKey(id));
  REQUIRE(v.ok());
  return *v;
}

Status WriteEvent(Store& store, uint64_t id) {
  WriteBatch batch(store);
  batch.Put(Cf::kEvents, EventKey(id), "v" + std::to_string(id));
  return store.Write(batch);
}

// The write-ahead logs in `dir` (NNNNNN.log), and their sizes.
std::map<std::string, uintmax_t> Logs(const std::string& dir) {
  std::map<std::string, uintmax_t> logs;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (IsWriteAheadLog(entry.path().string())) logs[entry.path().filename()] = entry.file_size();
  }
  return logs;
}

constexpr uint64_t kSpare = 1 << 20;

// The real file system, but the first directory sync after a log is made over a spare (the
// rename WalSpareFs must make durable before the log is written) fails, once armed.
class FailingRenameSyncFs : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  static const char* kClassName() { return "FailingRenameSyncFs"; }
  const char* Name() const override { return kClassName(); }
  std::atomic<bool> armed{false};

  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old_f,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    auto s = target()->ReuseWritableFile(f, old_f, options, r, dbg);
    if (s.ok() && armed.exchange(false)) fail_next_dir_sync_ = true;
    return s;
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& io,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override {
    if (fail_next_dir_sync_.exchange(false)) return rocksdb::IOStatus::IOError("directory sync refused");
    return target()->NewDirectory(name, io, result, dbg);
  }

 private:
  std::atomic<bool> fail_next_dir_sync_{false};
};

TEST_CASE("a store's logs after the first are written over spares of zeros, made ahead") {
  TempDir dir;
  StoreOptions options;
  options.wal_spare_bytes = kSpare;
  auto store = Store::Open(dir.Sub("db"), options);
  REQUIRE(store.ok());
  CHECK((*store)->logs_over_zeros() == 0);  // the first log: no spare was ready
  for (int round = 1; round <= 3; ++round) {
    CAPTURE(round);
    REQUIRE((*store)->WaitForWalSpareForTest());
    CHECK(std::filesystem::file_size(dir.Sub("db/") + WalSpareFs::kSpareName) == kSpare);
    REQUIRE(WriteEvent(**store, round).ok());
    REQUIRE((*store)->CompactAll().ok());  // a flush: the next writes go to a new log
    CHECK((*store)->logs_over_zeros() == static_cast<uint64_t>(round));
  }
  REQUIRE(WriteEvent(**store, 4).ok());
  // The live log is the spare's size: written over its zeros, not grown.
  auto logs = Logs(dir.Sub("db"));
  REQUIRE_FALSE(logs.empty());
  CHECK(logs.rbegin()->second == kSpare);
  REQUIRE((*store)->WaitForWalSpareForTest());
  store->reset();
  // A clean close trims the zeros off; every write is there, and the spare left serves the first
  // log of the next open.
  auto again = Store::Open(dir.Sub("db"), options);
  REQUIRE(again.ok());
  CHECK((*again)->logs_over_zeros() == 1);
  for (uint64_t id = 1; id <= 4; ++id) CHECK(Read(**again, id) == "v" + std::to_string(id));
}

TEST_CASE("a log over a spare whose rename cannot be synced is not written: the store fails instead") {
  // Written all the same (as the log made as usual, which opens the same file), a power cut could
  // leave its records under the spare's name, which the next log would be written over as zeros.
  TempDir dir;
  auto fs = std::make_shared<FailingRenameSyncFs>(rocksdb::FileSystem::Default());
  auto env = rocksdb::NewCompositeEnv(fs);
  StoreOptions options;
  options.env = env.get();
  options.wal_spare_bytes = kSpare;
  auto store = Store::Open(dir.Sub("db"), options);
  REQUIRE(store.ok());
  REQUIRE(WriteEvent(**store, 1).ok());
  REQUIRE((*store)->WaitForWalSpareForTest());
  fs->armed = true;
  // The flush switches to a new log, over the spare: its rename's sync fails.
  Status flushed = (*store)->CompactAll();
  Status written = WriteEvent(**store, 2);
  CHECK_FALSE((flushed.ok() && written.ok()));
  CHECK((*store)->logs_over_zeros() == 0);
  CHECK_FALSE(fs->armed);  // the spare was taken
}

TEST_CASE("a log that ends in zeros, as a crash leaves one written over a spare, recovers every write") {
  TempDir dir;
  const std::string path = dir.Sub("db");
  {
    StoreOptions options;
    options.wal_spare_bytes = kSpare;
    auto store = Store::Open(path, options);
    REQUIRE(store.ok());
    REQUIRE((*store)->WaitForWalSpareForTest());
    REQUIRE(WriteEvent(**store, 1).ok());
    REQUIRE((*store)->CompactAll().ok());
    REQUIRE((*store)->logs_over_zeros() == 1);
    for (uint64_t id = 2; id <= 50; ++id) REQUIRE(WriteEvent(**store, id).ok());
  }
  // A clean close cut the zeros off the live log (its writes are replayed from it at the next
  // open); a crash would have left them. Put them back.
  auto logs = Logs(path);
  REQUIRE_FALSE(logs.empty());
  const std::string live = path + "/" + logs.rbegin()->first;
  REQUIRE(logs.rbegin()->second > 0);
  REQUIRE(logs.rbegin()->second < kSpare);
  std::filesystem::resize_file(live, kSpare);
  auto store = Store::Open(path);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  for (uint64_t id = 1; id <= 50; ++id) CHECK(Read(**store, id) == "v" + std::to_string(id));
  REQUIRE(WriteEvent(**store, 51).ok());  // and the store goes on
}

}  // namespace
}  // namespace whistle::storage
