// Store: whistle's state in one RocksDB database with one column family per kind of data.
//
// Durability contract: Write() returns OK only after the batch is in the write-ahead log and the
// log is fsynced, so anything acknowledged after a successful Write survives kill -9 and a power
// cut. If a Write ever fails, the store is poisoned: every later Write returns UNAVAILABLE with
// the first error (sticky), because RocksDB may hold part of a batch in memory that never reached
// disk and the engine's in-memory state has moved past the disk. Recovery is a restart.
//
// Threading: every method is safe from any thread. Writes are applied in the order their calls
// enter RocksDB, so whoever needs an order makes them from one thread (the engine's
// storage::BatchWriter does). Reads may see a batch as soon as its log is synced, before its
// Write returns, and always after.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "whistle/histogram.h"
#include "whistle/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class Iterator;
class WriteBatch;
}  // namespace rocksdb

namespace whistle::storage {

// On disk: the names (CfName) are frozen; the enum order is not persisted.
enum class Cf : int { kEvents, kHistory, kLog, kTimers, kIdempotency, kIndexes, kMeta };
inline constexpr int kCfCount = 7;
std::string_view CfName(Cf cf);

struct StoreOptions {
  // Environment for all file I/O; tests pass one wrapping a fault-injecting FileSystem
  // (storage/fault_injection.h). nullptr = the default Env. Not owned; must outlive the Store.
  rocksdb::Env* env = nullptr;
  // Size of the shared block cache for reads.
  size_t block_cache_bytes = 64 << 20;
  // The write-ahead log kept for recovery, at most (RocksDB's max_total_wal_size). Every column
  // family's unflushed writes pin the log files they are in, so a family whose memtable fills
  // slowly (meta: a few hundred bytes a batch) would otherwise keep every log since its last
  // flush, and a restart replays them all (1.2 GB after a simulated month). Past this size the
  // families holding the oldest log are flushed, so a restart replays at most about this much.
  // Replaying costs what writing did, about 1 s per 30 MiB on two cores: with 32 MiB a restart
  // after a crash under load, a million open events, took 3.6-4.3 s with the files in the page
  // cache and 3.9-4.3 s without (128 MiB: 7.3-8.3 s warm), for 6-13% of the lifecycle throughput
  // on that store (docs/BENCHMARKS.md, "Scale").
  uint64_t max_wal_bytes = 32 << 20;
  // All column families' memtables together, at most (RocksDB's db_write_buffer_size). Each family
  // may otherwise hold two 64 MiB memtables: under load on a large store the dispatcher grew from
  // 695 MiB to a peak of 1,028 MiB, past the 1 GiB a million open events must fit in.
  size_t memtable_bytes = 256 << 20;
  // Opens with compactions paused (Store::PauseCompactions), for the dispatcher, whose engine
  // resumes them once its state is loaded. Pausing after Open is too late for a compaction that
  // the log's replay already started: one such restart took 5.7 s instead of 3.4-3.7 s.
  // (Load resumes them even when it fails, once it has started reading the open events.)
  bool open_with_compactions_paused = false;
  // false: Open refuses (NOT_FOUND) a path that holds no store, instead of making an empty one (for
  // maintenance on a store that must already exist: tools/compact_main.cc).
  bool create_if_missing = true;
  // > 0: each write-ahead log is written over a spare file of this many zeros made ahead by a
  // thread, when one is ready (not for a new store's first log; storage/wal_spare_fs.h), so the
  // fsync of a write has no metadata to commit. About the log bound (max_wal_bytes) and a little
  // more: a log longer than its spare grows as usual. 0: logs are made as RocksDB makes them.
  uint64_t wal_spare_bytes = 0;
  // RocksDB's flush and compaction threads run at SCHED_IDLE, so that they take a core only when
  // nothing else wants it: on two cores, each flush of every memtable (at each max_wal_bytes of
  // log) held up the requests of the next 150-300 ms, more for want of a core than of the disk
  // (docs/BENCHMARKS.md, "Flushes and the tail"). Process-wide (every store in the process shares
  // Env::Default's threads) and for good: RocksDB only ever lowers a pool's priority. The price:
  // when the cores are kept busy (by other work, or by this process's own threads), flushes and
  // compactions wait, and RocksDB slows or stops the writes once level 0 or the memtables fill.
  bool idle_background_threads = false;
  // TEST ONLY (a bug planted for whistle-crashcheck, --test-plant-bug=ack-before-sync): Write
  // returns before its batch is fsynced, breaking the durability contract above. Such writes
  // survive kill -9 (the OS has the bytes) but not a power cut. Never set outside that test.
  bool test_ack_before_sync = false;
};

class Store;
class IdempotencyExpiryFilter;  // store.cc
class WalSpareFs;               // storage/wal_spare_fs.h

// A set of changes applied atomically by Store::Write, bound to the store that made its handles.
// Not thread-safe.
class WriteBatch {
 public:
  explicit WriteBatch(const Store& store);
  ~WriteBatch();
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);
  // Deletes every key in [begin, end): one range tombstone, however many keys it covers.
  void DeleteRange(Cf cf, std::string_view begin, std::string_view end);
  void Clear();
  size_t count() const;
  size_t byte_size() const;

 private:
  friend class Store;
  const Store& store_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

// An ordered cursor over one column family. Not thread-safe; keep it on one thread.
class Cursor {
 public:
  explicit Cursor(std::unique_ptr<rocksdb::Iterator> it);
  ~Cursor();
  void Seek(std::string_view key);
  void SeekToFirst();
  void SeekToLast();
  // The last key at or before `key`.
  void SeekForPrev(std::string_view key);
  bool Valid() const;
  void Next();
  void Prev();
  // REQUIRES: Valid(). Views stay valid until the cursor moves.
  std::string_view key() const;
  std::string_view value() const;
  // The first I/O or corruption error met while iterating, if any.
  Status status() const;

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class Store {
 public:
  // Opens (creating if missing) the database at `path` with all column families. Recovery uses
  // RocksDB's default kPointInTimeRecovery: a torn tail of the log is dropped, nothing before it.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies `batch` atomically and durably (WAL + fsync). See the durability contract above.
  Status Write(WriteBatch& batch);
  // OK until a Write has failed; then that first failure.
  Status health() const;
  // How long each Write took (log append, fsync, memtable), in microseconds; its count is the
  // number of synced writes. Readable from any thread (metrics).
  const Histogram& write_micros() const { return write_micros_; }

  // The value at `key`, or nullopt when absent. I/O errors come back as UNAVAILABLE.
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key) const;
  // readahead_bytes > 0: for one long forward scan, each disk read fetches this much ahead
  // (RocksDB's readahead_size) and what is read does not fill the block cache.
  std::unique_ptr<Cursor> NewCursor(Cf cf, size_t readahead_bytes = 0) const;
  // A cursor over one event's history: Seek(HistoryPrefix(id)), and it is valid only while the key
  // starts with that prefix. It skips the table files whose prefix filter says they hold none of
  // the event's records (files written before the filter existed are read).
  std::unique_ptr<Cursor> NewHistoryCursor() const;

  // A consistent, openable copy of the database in `dir` (which must not exist yet), made with
  // hard links where possible. Usable as a backup while the engine keeps running.
  Status Checkpoint(const std::string& dir) const;

  // Stops RocksDB from starting compactions until ResumeCompactions (those running finish), for a
  // phase that reads a lot and needs both cores: the engine's start-up. A restart after a crash
  // under load otherwise compacts what the load left while the million open events are read
  // (state 4.2-4.9 s instead of 3.1-3.4 s; docs/BENCHMARKS.md). Writes go on: flushes still run,
  // and RocksDB applies no level-0 write stall while compactions are off.
  // Each call that changes something rewrites RocksDB's OPTIONS file (one per column family);
  // pausing a paused store or resuming a running one does nothing. Meant for start-up, from one
  // thread; compactions_paused() says what was last asked for (a failed pause still says true,
  // and Resume turns every family on).
  Status PauseCompactions();
  Status ResumeCompactions();
  bool compactions_paused() const { return compactions_paused_; }
  // Rewrites every table file of every family down to the last level, with this version's table
  // options (filters, block sizes: store.cc), so that a store written by an older version gets them
  // now rather than as compactions reach its files. Maintenance, offline (tools/compact_main.cc):
  // it costs about what writing the whole store did.
  Status CompactAll();
  // Write-ahead logs written over a spare of zeros so far (StoreOptions::wal_spare_bytes).
  uint64_t logs_over_zeros() const;
  // TEST ONLY: blocks until a spare log is ready; false if there will be none.
  bool WaitForWalSpareForTest() const;
  // TEST ONLY: writes every family's memtable out as a table file, and waits for it.
  Status FlushForTest() const;
  // A RocksDB property of one family, as RocksDB prints it (e.g. "rocksdb.num-files-at-level0").
  Result<std::string> Property(Cf cf, const std::string& name) const;

  // Compactions from now on drop the idempotency entries dead at `now_ms` (storage/idempotency.h).
  // The engine gives the time of its newest durable record: a restarted engine's time is never
  // earlier, so nothing is dropped that it would still take for alive. A smaller value than the
  // last is ignored; until the first call (0) nothing is dropped. Safe from any thread.
  void SetExpiryHorizon(int64_t now_ms);
  int64_t expiry_horizon() const;
  // TEST ONLY: back to 0, for a store emptied to be used again by an engine whose time starts
  // earlier (tests/fuzz). Never on a store that holds entries an engine may still look up.
  void ResetExpiryHorizonForTest();

 private:
  friend class WriteBatch;
  Store() = default;
  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<int>(cf)]; }

  // The idempotency family's compaction filter; RocksDB holds a pointer to it, so it outlives db_.
  std::unique_ptr<IdempotencyExpiryFilter> expiry_filter_;
  // With StoreOptions::wal_spare_bytes: the file system and the Env RocksDB writes through. They
  // outlive db_.
  std::shared_ptr<WalSpareFs> wal_spare_fs_;
  std::unique_ptr<rocksdb::Env> wal_spare_env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // by Cf; owned, destroyed before db_
  mutable std::mutex sticky_mu_;
  Status sticky_;  // guarded by sticky_mu_
  bool sync_writes_ = true;  // false only under StoreOptions::test_ack_before_sync
  std::atomic<bool> compactions_paused_{false};
  Histogram write_micros_;
};

}  // namespace whistle::storage
