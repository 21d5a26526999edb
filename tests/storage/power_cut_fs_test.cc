#include "storage/power_cut_fs.h"

#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <rocksdb/env.h>

#include "storage/keys.h"
#include "storage/store.h"
#include "tests/testing/temp_dir.h"

namespace whistle::storage {
namespace {

using testing::TempDir;

// Runs `child` in a forked process (a power cut ends the process) and returns its exit status.
// The child reports its own failures as exit statuses other than kPowerCutExitCode.
template <typename F>
int InChild(F child) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    child();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// In a child: opens a store on a PowerCutFs, runs `before_writes` on it, writes `n` synced batches
// (event i -> "v<i>") and cuts the power.
template <typename F>
void WriteThroughPowerCutFs(const std::string& path, StoreOptions options, int n, F before_writes) {
  auto fs = std::make_shared<PowerCutFs>(rocksdb::FileSystem::Default());
  auto env = rocksdb::NewCompositeEnv(fs);
  options.env = env.get();
  auto store = Store::Open(path, options);
  if (!store.ok()) _exit(3);
  before_writes(*fs);
  for (int i = 1; i <= n; ++i) {
    WriteBatch batch(**store);
    batch.Put(Cf::kEvents, EventKey(static_cast<uint64_t>(i)), "v" + std::to_string(i));
    if (!(*store)->Write(batch).ok()) _exit(4);
  }
  fs->PowerCut();
}

std::optional<std::string> Read(const std::string& path, uint64_t id) {
  auto store = Store::Open(path, {});
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  auto v = (*store)->Get(Cf::kEvents, EventKey(id));
  REQUIRE(v.ok());
  return *v;
}

TEST_CASE("a power cut keeps every synced write") {
  TempDir dir;
  const std::string path = dir.Sub("db");
  CHECK(InChild([&] { WriteThroughPowerCutFs(path, {}, 5, [](PowerCutFs&) {}); }) == kPowerCutExitCode);
  for (uint64_t id = 1; id <= 5; ++id) CHECK(Read(path, id) == "v" + std::to_string(id));
}

TEST_CASE("a power cut loses writes that were never synced") {
  TempDir dir;
  const std::string path = dir.Sub("db");
  StoreOptions unsynced;
  unsynced.test_ack_before_sync = true;
  CHECK(InChild([&] { WriteThroughPowerCutFs(path, unsynced, 3, [](PowerCutFs&) {}); }) == kPowerCutExitCode);
  for (uint64_t id = 1; id <= 3; ++id) CHECK(Read(path, id) == std::nullopt);
}

// The bytes of `path`.
std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE("a power cut puts zeros back over what was written into a reused file and never synced") {
  for (size_t spare : {size_t{4096}, size_t{128}}) {  // the unsynced writes inside it, or past it
    CAPTURE(spare);
    TempDir dir;
    const std::string log = dir.Sub("000001.log");
    {
      std::ofstream(dir.Sub("spare"), std::ios::binary) << std::string(spare, '\0');
    }
    CHECK(InChild([&] {
            auto fs = std::make_shared<PowerCutFs>(rocksdb::FileSystem::Default());
            std::unique_ptr<rocksdb::FSWritableFile> file;
            if (!fs->ReuseWritableFile(log, dir.Sub("spare"), {}, &file, nullptr).ok()) _exit(3);
            if (!file->Append(std::string(100, 'a'), {}, nullptr).ok()) _exit(4);
            if (!file->Sync({}, nullptr).ok()) _exit(5);
            if (!file->Append(std::string(100, 'b'), {}, nullptr).ok()) _exit(6);
            if (fs->LengthsOf(log)->written != 200) _exit(7);
            fs->PowerCut();
          }) == kPowerCutExitCode);
    CHECK(Contents(log) == std::string(100, 'a') + std::string(spare - 100, '\0'));
  }
}

TEST_CASE("a cut armed after n write-ahead log syncs keeps exactly the first n writes") {
  for (int64_t n : {1, 2, 4}) {
    CAPTURE(n);
    TempDir dir;
    const std::string path = dir.Sub("db");
    // The cut comes inside the n-th Write, after its sync: writes n+1.. are never made.
    CHECK(InChild([&] { WriteThroughPowerCutFs(path, {}, 6, [n](PowerCutFs& fs) { fs.CutAfterWalSyncs(n); }); }) ==
          kPowerCutExitCode);
    for (uint64_t id = 1; id <= 6; ++id) {
      CAPTURE(id);
      if (static_cast<int64_t>(id) <= n) {
        CHECK(Read(path, id) == "v" + std::to_string(id));
      } else {
        CHECK(Read(path, id) == std::nullopt);
      }
    }
  }
}

TEST_CASE("an armed cut does not fire before its count") {
  TempDir dir;
  const std::string path = dir.Sub("db");
  // Armed for the 10th sync, all 4 writes are made and the closing explicit cut ends the child.
  CHECK(InChild([&] { WriteThroughPowerCutFs(path, {}, 4, [](PowerCutFs& fs) { fs.CutAfterWalSyncs(10); }); }) ==
        kPowerCutExitCode);
  CHECK(Read(path, 4) == "v4");
}

}  // namespace
}  // namespace whistle::storage
