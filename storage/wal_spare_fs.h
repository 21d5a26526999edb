// WalSpareFs: a rocksdb::FileSystem wrapper under which RocksDB writes each new write-ahead log
// over zeros already on disk, so that the fsync of every acknowledged batch has no file metadata
// to commit.
//
// Why: on ext4 an fdatasync that must record metadata (a larger size, or a reserved extent first
// written, which is how RocksDB's preallocated logs grow) waits for a journal commit too. Written
// over blocks written before, it does not. RocksDB's own remedy, recycle_log_file_num, is off
// under the kPointInTimeRecovery the store uses (RocksDB 7.8's SanitizeOptions). Measured:
// docs/BENCHMARKS.md, "The write-ahead log's fsync".
//
// How: a thread writes a spare file of zeros (`spare_bytes`, synced) beside the store, named
// kSpareName. When RocksDB creates a log (NNNNNN.log) and the spare is ready, the spare is renamed
// to the log's name and handed over opened without truncation (ReuseWritableFile), and the thread
// makes the next one. A spare the last run left serves the first log after an open. With no spare
// ready (the first log of a new store; or the logs come faster than the thread writes zeros) the
// log is made as usual. A log longer than the spare simply grows.
//
// Why it is safe. RocksDB's log reader skips blocks of zeros (a preallocated log ends in them after
// a crash) and replays any valid record after them: the logs are in RocksDB's plain format, with
// no log number in a record, so a record of an older log left past a log's end would be replayed
// as this one's. So the file behind the spare's name must be all zeros, always, power cuts
// included:
//   - a spare is written as kSpareName + ".tmp", its zeros synced, and only then renamed to
//     kSpareName (a .tmp a crash leaves is overwritten by the next spare);
//   - a log takes the spare by a rename that is made durable (the directory fsynced) before the
//     file is handed to RocksDB, so no record is written into a file the spare's name may still
//     name after a cut; when that sync fails, the log is not made at all (RocksDB's write fails,
//     and the store with it), and no spare is made again;
//   - the bytes past a log's end are the spare's zeros, never an older log's.
//
// One store (one directory) per wrapper. Thread-safe: RocksDB calls from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <rocksdb/file_system.h>

namespace whistle::storage {

// RocksDB names its write-ahead logs NNNNNN.log (its info log is LOG, and LOG.old.*).
bool IsWriteAheadLog(const std::string& path);

class WalSpareFs : public rocksdb::FileSystemWrapper {
 public:
  static constexpr char kSpareName[] = "whistle-wal-spare";

  // REQUIRES: spare_bytes > 0.
  WalSpareFs(const std::shared_ptr<rocksdb::FileSystem>& base, uint64_t spare_bytes);
  ~WalSpareFs() override;  // stops the thread; a spare on disk stays until the next one replaces it
  WalSpareFs(const WalSpareFs&) = delete;
  WalSpareFs& operator=(const WalSpareFs&) = delete;

  static const char* kClassName() { return "WhistleWalSpareFs"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;

  // Logs handed out over zeros so far.
  uint64_t logs_over_zeros() const;
  // Blocks until a spare is ready, or the thread gave up on one (false). For tests.
  bool WaitForSpare();

 private:
  void WriteSpares();
  rocksdb::IOStatus SyncDirectory(const std::string& dir, rocksdb::IODebugContext* dbg);
  // Writes and syncs `spare_bytes_` of zeros at `path`; false (with errno's story on stderr) if
  // it could not.
  bool WriteZeros(const std::string& path);

  const uint64_t spare_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string dir_;     // the store's directory, from its first log; "" before
  std::string spare_;   // dir_ + "/" + kSpareName
  bool wanted_ = false;  // a spare is to be written
  bool ready_ = false;   // a spare is on disk, whole
  bool failed_ = false;  // the last attempt failed: no more tries (logs are made as usual)
  std::atomic<bool> stop_{false};  // also read between the spare's chunks, without the mutex
  uint64_t logs_over_zeros_ = 0;
  std::thread writer_;
};

}  // namespace whistle::storage
