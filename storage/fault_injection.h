// FaultInjectionFs: a rocksdb::FileSystem wrapper that fails writes or syncs on demand, for tests
// and the crash checker. It wraps the real file system (no mock): everything else reaches the disk.
//
//   auto fs = std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
//   auto env = rocksdb::NewCompositeEnv(fs);
//   Store::Open(path, {.env = env.get()});
//   fs->set_fail_writes(true);  // nothing more reaches the files: a Write fails, leaving no trace
//   fs->set_fail_syncs(true);   // bytes reach the files but fsync fails: a Write fails, yet its
//                               // batch may be recovered after a restart (outcome unknown)
//   fs->set_stall_syncs(true);  // a stalled disk: every fsync waits until set_stall_syncs(false)
//
// Thread-safe: the switches are atomic or locked; RocksDB may call from background threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include <rocksdb/file_system.h>

namespace whistle::storage {

class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFs(const std::shared_ptr<rocksdb::FileSystem>& base);

  static const char* kClassName() { return "WhistleFaultInjectionFs"; }
  const char* Name() const override { return kClassName(); }

  // While true, Append, Sync and Fsync on files opened for writing fail with an I/O error.
  void set_fail_writes(bool fail) { fail_writes_.store(fail); }
  // While true, Sync and Fsync fail; Append still writes.
  void set_fail_syncs(bool fail) { fail_syncs_.store(fail); }
  bool fail_writes() const { return fail_writes_.load(); }
  bool fail_syncs() const { return fail_syncs_.load() || fail_writes_.load(); }
  // While true, Sync and Fsync wait; false lets every waiting one go on.
  void set_stall_syncs(bool stall);
  // How many Sync or Fsync calls are waiting now.
  int stalled_syncs() const;
  // Waits while syncs are stalled (called by every Sync and Fsync).
  void WaitWhileStalled() const;

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  // A log written over a spare (storage/wal_spare_fs.h) fails and stalls as any other file.
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old_f,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;

 private:
  // `file`, made by the target with status `s`, wrapped to fail as told.
  rocksdb::IOStatus Faulty(rocksdb::IOStatus s, std::unique_ptr<rocksdb::FSWritableFile> file,
                           std::unique_ptr<rocksdb::FSWritableFile>* r);
  std::atomic<bool> fail_writes_{false};
  std::atomic<bool> fail_syncs_{false};
  mutable std::mutex stall_mu_;
  mutable std::condition_variable stall_cv_;
  bool stall_syncs_ = false;  // guarded by stall_mu_
  mutable int stalled_ = 0;   // guarded by stall_mu_
};

}  // namespace whistle::storage
