// PowerCutFs: a rocksdb::FileSystem wrapper that can simulate a power cut, for the crash checker
// (tools/crashcheck.h) and tests. TEST ONLY: the dispatcher installs it only under
// --test-power-cut-signal. It wraps the real file system (no mock): every byte reaches the disk
// as usual, and the wrapper only remembers, per file written through it, how many bytes were
// appended and how many of those an fsync (Sync/Fsync) made durable.
//
//   auto fs = std::make_shared<PowerCutFs>(rocksdb::FileSystem::Default());
//   auto env = rocksdb::NewCompositeEnv(fs);
//   Store::Open(path, {.env = env.get()});
//   ...
//   fs->PowerCut();  // never returns: files cut back to what was synced, then _exit
//
// PowerCut() takes the wrapper's mutex for good (so no Append proceeds during or after the cut,
// and no Sync completes: one still running when the power goes does not count, as its caller was
// never told it finished), truncates every file written
// through the wrapper to its synced length (unsynced bytes are lost; a file never synced becomes
// empty) and ends the process at once with _exit(kPowerCutExitCode): no destructor, no RocksDB
// shutdown, nothing flushed.
//
// What it does NOT model (a real power cut can be worse):
//   - directory entries: a file created, renamed or deleted without an fsync of its directory
//     keeps its new name (or stays deleted); a real cut may bring back the old entry;
//   - files reused (ReuseWritableFile: the write-ahead logs RocksDB writes over a spare of zeros,
//     storage/wal_spare_fs.h) are taken as zeros, durable, to their length at reuse: a cut puts
//     zeros back over what was written there and never synced, and cuts off what was written past
//     that length and never synced;
//   - files from an earlier process (or opened with ReopenWritableFile): their bytes on disk at
//     open are taken as durable, although a kill -9 that preceded may have left unsynced bytes in
//     the page cache that a later real cut would lose;
//   - torn or reordered writes inside the unsynced tail (it is dropped whole, at the synced
//     length), and sync_file_range (RangeSync) counts as no sync at all;
//   - files RocksDB writes without the FileSystem's writable files (its info LOG, the LOCK file).
//
// Thread-safe: RocksDB calls from its background threads; one mutex guards the bookkeeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <rocksdb/file_system.h>

namespace whistle::storage {

// The exit status of a process that PowerCut() ended (a caller tells a cut from a crash by it).
inline constexpr int kPowerCutExitCode = 86;

class PowerCutFs : public rocksdb::FileSystemWrapper {
 public:
  explicit PowerCutFs(const std::shared_ptr<rocksdb::FileSystem>& base);

  static const char* kClassName() { return "WhistlePowerCutFs"; }
  const char* Name() const override { return kClassName(); }

  // Cuts the power: see the header comment. Never returns.
  [[noreturn]] void PowerCut();

  // Arms a cut right after the n-th (n > 0) fsync of a write-ahead log from now completes: that
  // sync's bytes are durable, but its caller never learns it, and nothing written after it is.
  // What a power cut leaves on disk depends only on which syncs completed, so counting syncs
  // reaches each distinct outcome on purpose, where a cut at a random moment reaches them in
  // proportion to how long each lasts (and so rarely the short gap between two writes of one
  // step). The crash checker uses it to cut during recovery, at the first writes after a start.
  void CutAfterWalSyncs(int64_t n);
  // Called by a write-ahead log's file after each completed sync.
  void WalSynced();

  // Bytes of `path` an fsync made durable, and bytes appended, as this wrapper saw them; nullopt
  // for a file not written through it. For tests.
  struct Lengths {
    uint64_t synced;
    uint64_t written;
  };
  std::optional<Lengths> LengthsOf(const std::string& path) const;

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old_f,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // Per-file bookkeeping shared with the file objects. Guarded by the wrapper's mutex.
  struct FileLengths {
    uint64_t written = 0;
    uint64_t synced = 0;
    uint64_t zeros_to = 0;  // a reused file: its durable zeros end here (see the header)
  };
  std::mutex& mutex() { return mu_; }

 private:
  rocksdb::IOStatus Track(const std::string& f, uint64_t existing_bytes,
                          std::unique_ptr<rocksdb::FSWritableFile> file,
                          std::unique_ptr<rocksdb::FSWritableFile>* r);

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileLengths>> files_;  // by current path
  std::atomic<int64_t> cut_after_wal_syncs_{0};  // syncs left before an armed cut; 0: not armed
};

// TEST ONLY. Blocks `signo` in the calling thread and starts a thread that waits for it and then
// calls fs->PowerCut(). Call it before any other thread starts (before the store opens), so every
// thread inherits the blocked mask and only the waiting thread takes the signal.
void PowerCutOnSignal(std::shared_ptr<PowerCutFs> fs, int signo);

}  // namespace whistle::storage
