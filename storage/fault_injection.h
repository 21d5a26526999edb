// FaultInjectionFs: a rocksdb::FileSystem wrapper that fails syncs on demand, for tests and the
// crash checker. It wraps the real file system (no mock): everything else reaches the disk.
//
//   auto fs = std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
//   auto env = rocksdb::NewCompositeEnv(fs);
//   Store::Open(path, {.env = env.get()});
//   fs->set_fail_syncs(true);   // the next synced Write fails with an I/O error
//
// Thread-safe: the switch is atomic; RocksDB may call from background threads.
#pragma once

#include <atomic>
#include <memory>

#include <rocksdb/file_system.h>

namespace whistle::storage {

class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFs(const std::shared_ptr<rocksdb::FileSystem>& base);

  static const char* kClassName() { return "WhistleFaultInjectionFs"; }
  const char* Name() const override { return kClassName(); }

  // While true, Sync/Fsync/Append on files opened for writing fail with an I/O error.
  void set_fail_syncs(bool fail) { fail_syncs_.store(fail); }
  bool fail_syncs() const { return fail_syncs_.load(); }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;

 private:
  std::atomic<bool> fail_syncs_{false};
};

}  // namespace whistle::storage
