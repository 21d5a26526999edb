#include "storage/store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "storage/idempotency.h"
#include "storage/keys.h"
#include "storage/wal_spare_fs.h"

namespace whistle::storage {
namespace {

constexpr std::string_view kCfNames[kCfCount] = {"events", "history",  "log", "timers",
                                                 "idempotency", "indexes", "meta"};

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Unavailable(fmt::format("{}: {}", what, s.ToString()));
}

// RocksDB counts every key comparison into a thread-local PerfContext unless the calling thread's
// perf level says not to, and the default counts. From a shared library that context is reached
// through __tls_get_addr and a TLS init function: with counting on, those took 8-13% of the
// writer thread, whose time is memtable inserts; 3% with it off (the level itself is still read
// from TLS at each comparison). Nothing here reads the counts. The level is per thread, so each
// call on the hot paths (Write, Get, NewCursor) sets it: a store of one thread-local. RocksDB's
// own flush and compaction threads keep counting.
void StopPerfCounting() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }

// How often, at most, a table file of the idempotency family goes unrewritten: a compaction drops
// the entries that have expired (storage/idempotency.h), but a file whose key range no new entry
// falls in (request ids that only grow, per principal) would otherwise never be compacted again.
// Rewriting the family every three days costs little (a family of 1 GiB: 4 KiB/s on average; after
// whistle-compact every file comes due at once, docs/OPERATIONS.md); an expired entry stays on
// disk at most this long past the horizon, unless a compaction comes sooner.
constexpr uint64_t kIdempotencyRewriteSeconds = 3 * 24 * 3600;

// The families read by point lookups (Store::Get), where most lookups miss the memtable: an
// idempotency key is new for every command, and an event read from the store is an old one.
bool ReadByKey(Cf cf) { return cf == Cf::kEvents || cf == Cf::kIdempotency; }

// How a family's table files are made. Their index blocks (an entry per data block) and filters
// are held in memory for every file, so they grow with the store: at 10 M events, 280 MiB of table
// readers, 175 MiB of it the idempotency family's (docs/BENCHMARKS.md, "Scale").
rocksdb::BlockBasedTableOptions TableOptionsFor(Cf cf, const std::shared_ptr<rocksdb::Cache>& block_cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = block_cache;  // one for all families
  // Bloom filters serve point lookups only: the scanned families have none. Theirs were 68 of the
  // 110 MiB of table readers on a store of 2.73 M events. RocksDB loads a file's filter only when
  // its family has a filter policy, so a store written before this saved the memory at its next
  // start; the bytes on disk go as its files are compacted.
  if (ReadByKey(cf)) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // History is read an event at a time (NewHistoryCursor): a filter of its events' ids (the
  // prefix, kHistoryPrefixBytes) lets a read skip every table file that holds none of the event's
  // records. Without it, a Get with history of an old event read a block in every level, 5,000
  // Gets/s at p99 11-13 ms on a store of 10 M events.
  if (cf == Cf::kHistory) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = false;  // prefixes only: one entry an event, not one a record
  }
  // Larger blocks, a smaller index, where reading a larger block costs little: idempotency is
  // looked up on every command and nearly always misses, which its filter decides without a block;
  // history is read an event at a time, the log in long scans. Events (read one by one) and the
  // indexes (pages) keep 4 KiB. Like the filters, this applies to files written from now on.
  if (cf == Cf::kIdempotency || cf == Cf::kHistory || cf == Cf::kLog) table.block_size = 16 << 10;
  return table;
}

// A family's options: `base` with its table options, history's prefix extractor, the memtable
// filters of the families that have table filters, and the idempotency family's expiry.
rocksdb::ColumnFamilyOptions FamilyOptions(Cf cf, const rocksdb::ColumnFamilyOptions& base,
                                           const std::shared_ptr<rocksdb::Cache>& block_cache,
                                           size_t memtable_bytes,
                                           const rocksdb::CompactionFilter* idempotency_filter) {
  rocksdb::ColumnFamilyOptions options = base;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(TableOptionsFor(cf, block_cache)));
  if (cf == Cf::kIdempotency) {
    options.compaction_filter = idempotency_filter;
    options.periodic_compaction_seconds = kIdempotencyRewriteSeconds;
  }
  if (cf == Cf::kHistory) {
    options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kHistoryPrefixBytes));
  }
  if (ReadByKey(cf) || cf == Cf::kHistory) {
    // A bloom filter over the memtable's whole keys (history: its prefixes), so that a miss does
    // not walk the skip list. Its bits (ratio x write_buffer_size) come out of the memtable
    // budget: 1.3 MiB a memtable, each capped at 1/128 of the budget so that a small budget
    // (tests) is not taken up by the filters (three families, each with a memtable or two) and
    // flushed at every write.
    options.memtable_whole_key_filtering = ReadByKey(cf);
    options.memtable_prefix_bloom_size_ratio =
        std::min(0.02, static_cast<double>(memtable_bytes) / 128 / static_cast<double>(base.write_buffer_size));
  }
  return options;
}

}  // namespace

// Drops the idempotency entries dead at the horizon the engine last set (Store::SetExpiryHorizon).
// RocksDB calls it from its compaction threads.
class IdempotencyExpiryFilter : public rocksdb::CompactionFilter {
 public:
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    const int64_t horizon = horizon_ms_.load(std::memory_order_relaxed);
    return horizon > 0 && IsExpiredValue(value.ToStringView(), horizon);
  }
  const char* Name() const override { return "whistle.IdempotencyExpiry"; }

  void Advance(int64_t now_ms) {
    int64_t seen = horizon_ms_.load(std::memory_order_relaxed);
    while (now_ms > seen && !horizon_ms_.compare_exchange_weak(seen, now_ms, std::memory_order_relaxed)) {
    }
  }
  int64_t horizon_ms() const { return horizon_ms_.load(std::memory_order_relaxed); }
  void Reset() { horizon_ms_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> horizon_ms_{0};
};

namespace {

std::unique_ptr<Cursor> MakeCursor(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, const rocksdb::ReadOptions& read) {
  StopPerfCounting();  // for the thread that makes the cursor, which is the one that moves it
  return std::make_unique<Cursor>(std::unique_ptr<rocksdb::Iterator>(db.NewIterator(read, cf)));
}

}  // namespace

std::string_view CfName(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

// --- WriteBatch ---

WriteBatch::WriteBatch(const Store& store)
    : store_(store), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
WriteBatch::~WriteBatch() = default;

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view value) {
  // A WriteBatch only fails on its own size limit, which we never set.
  auto s = batch_->Put(store_.handle(cf), rocksdb::Slice(key.data(), key.size()),
                       rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) throw std::logic_error("WriteBatch::Put: " + s.ToString());
}

void WriteBatch::Delete(Cf cf, std::string_view key) {
  auto s = batch_->Delete(store_.handle(cf), rocksdb::Slice(key.data(), key.size()));
  if (!s.ok()) throw std::logic_error("WriteBatch::Delete: " + s.ToString());
}

void WriteBatch::DeleteRange(Cf cf, std::string_view begin, std::string_view end) {
  auto s = batch_->DeleteRange(store_.handle(cf), rocksdb::Slice(begin.data(), begin.size()),
                               rocksdb::Slice(end.data(), end.size()));
  if (!s.ok()) throw std::logic_error("WriteBatch::DeleteRange: " + s.ToString());
}

void WriteBatch::Clear() { batch_->Clear(); }
size_t WriteBatch::count() const { return static_cast<size_t>(batch_->Count()); }
size_t WriteBatch::byte_size() const { return batch_->GetDataSize(); }

// --- Cursor ---

Cursor::Cursor(std::unique_ptr<rocksdb::Iterator> it) : it_(std::move(it)) {}
Cursor::~Cursor() = default;
void Cursor::Seek(std::string_view key) { it_->Seek(rocksdb::Slice(key.data(), key.size())); }
void Cursor::SeekToFirst() { it_->SeekToFirst(); }
void Cursor::SeekToLast() { it_->SeekToLast(); }
bool Cursor::Valid() const { return it_->Valid(); }
void Cursor::Next() { it_->Next(); }
void Cursor::SeekForPrev(std::string_view key) {
  it_->SeekForPrev(rocksdb::Slice(key.data(), key.size()));
}
void Cursor::Prev() { it_->Prev(); }
std::string_view Cursor::key() const { return it_->key().ToStringView(); }
std::string_view Cursor::value() const { return it_->value().ToStringView(); }
Status Cursor::status() const { return FromRocks(it_->status(), "iterating"); }

// --- Store ---

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  rocksdb::Options db_options;
  if (!options.create_if_missing && !std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
    return NotFound(fmt::format("no store at '{}'", path));
  }
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  if (options.env != nullptr) db_options.env = options.env;
  std::shared_ptr<WalSpareFs> wal_spare_fs;
  std::unique_ptr<rocksdb::Env> wal_spare_env;
  if (options.wal_spare_bytes > 0) {
    wal_spare_fs = std::make_shared<WalSpareFs>(db_options.env->GetFileSystem(), options.wal_spare_bytes);
    wal_spare_env = rocksdb::NewCompositeEnv(wal_spare_fs);
    db_options.env = wal_spare_env.get();
  }
  // Keep the default WAL recovery mode (kPointInTimeRecovery): see the header.
  db_options.IncreaseParallelism(2);
  if (options.idle_background_threads) {
    for (rocksdb::Env::Priority pool : {rocksdb::Env::HIGH, rocksdb::Env::LOW}) {
      auto s = db_options.env->LowerThreadPoolCPUPriority(pool, rocksdb::CpuPriority::kIdle);
      if (!s.ok()) return FromRocks(s, "lowering RocksDB's background threads to idle priority");
    }
  }
  db_options.max_total_wal_size = options.max_wal_bytes;
  db_options.db_write_buffer_size = options.memtable_bytes;

  const std::shared_ptr<rocksdb::Cache> block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::ColumnFamilyOptions base;
  base.disable_auto_compactions = options.open_with_compactions_paused;

  auto expiry_filter = std::make_unique<IdempotencyExpiryFilter>();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  // whistle writes nothing in the default family
  rocksdb::ColumnFamilyOptions unused_options =
      FamilyOptions(Cf::kMeta, base, block_cache, options.memtable_bytes, nullptr);
  unused_options.disable_auto_compactions = false;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, unused_options);
  for (int i = 0; i < kCfCount; ++i) {
    descriptors.emplace_back(std::string(kCfNames[i]), FamilyOptions(static_cast<Cf>(i), base, block_cache,
                                                                     options.memtable_bytes, expiry_filter.get()));
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, fmt::format("opening store at '{}'", path));

  std::unique_ptr<Store> store(new Store());
  store->expiry_filter_ = std::move(expiry_filter);
  store->wal_spare_fs_ = std::move(wal_spare_fs);
  store->wal_spare_env_ = std::move(wal_spare_env);
  store->db_.reset(raw);
  store->sync_writes_ = !options.test_ack_before_sync;
  store->compactions_paused_ = options.open_with_compactions_paused;
  // handles[0] is the default column family, which whistle does not use.
  store->handles_.assign(handles.begin() + 1, handles.end());
  s = store->db_->DestroyColumnFamilyHandle(handles[0]);
  if (!s.ok()) return FromRocks(s, "releasing the default column family");
  return store;
}

Store::~Store() {
  if (!db_) return;
  for (auto* h : handles_) {
    // Nothing useful can be done about a failure here; the DB is closing anyway.
    (void)db_->DestroyColumnFamilyHandle(h);
  }
  (void)db_->Close();
}

Status Store::Write(WriteBatch& batch) {
  if (Status s = health(); !s.ok()) return s;
  StopPerfCounting();
  rocksdb::WriteOptions options;
  options.sync = sync_writes_;
  auto start = std::chrono::steady_clock::now();
  auto s = db_->Write(options, batch.batch_.get());
  write_micros_.Record(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
  if (!s.ok()) {
    std::lock_guard lock(sticky_mu_);
    if (sticky_.ok()) {
      sticky_ = Unavailable(fmt::format("store write failed, refusing all writes until restart: {}", s.ToString()));
    }
    return sticky_;
  }
  return Status::Ok();
}

Status Store::health() const {
  std::lock_guard lock(sticky_mu_);
  return sticky_;
}

Result<std::optional<std::string>> Store::Get(Cf cf, std::string_view key) const {
  StopPerfCounting();
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), handle(cf), rocksdb::Slice(key.data(), key.size()),
                    &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, fmt::format("reading {}", CfName(cf)));
  return std::optional<std::string>(std::move(value));
}

std::unique_ptr<Cursor> Store::NewCursor(Cf cf, size_t readahead_bytes) const {
  rocksdb::ReadOptions read;
  read.total_order_seek = true;  // every key in order, past any prefix (history has an extractor)
  if (readahead_bytes > 0) {
    read.readahead_size = readahead_bytes;
    read.fill_cache = false;
  }
  return MakeCursor(*db_, handle(cf), read);
}

std::unique_ptr<Cursor> Store::NewHistoryCursor() const {
  rocksdb::ReadOptions read;
  read.prefix_same_as_start = true;
  return MakeCursor(*db_, handle(Cf::kHistory), read);
}

namespace {

Status SetAutoCompactions(rocksdb::DB& db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles, bool on) {
  for (auto* h : handles) {
    auto s = db.SetOptions(h, {{"disable_auto_compactions", on ? "false" : "true"}});
    if (!s.ok()) return FromRocks(s, fmt::format("turning compactions {} for {}", on ? "on" : "off", h->GetName()));
  }
  return Status::Ok();
}

}  // namespace

Status Store::PauseCompactions() {
  if (compactions_paused_) return Status::Ok();
  compactions_paused_ = true;  // even if only some families were paused: Resume turns them all on
  return SetAutoCompactions(*db_, handles_, false);
}

Status Store::ResumeCompactions() {
  if (!compactions_paused_) return Status::Ok();
  Status s = SetAutoCompactions(*db_, handles_, true);
  if (s.ok()) compactions_paused_ = false;
  return s;
}

Status Store::CompactAll() {
  rocksdb::CompactRangeOptions options;
  // Rewrite the last level's files too, but not those this compaction has just written there.
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (auto* h : handles_) {
    auto s = db_->CompactRange(options, h, nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, fmt::format("compacting {}", h->GetName()));
  }
  return Status::Ok();
}

Result<std::string> Store::Property(Cf cf, const std::string& name) const {
  std::string value;
  if (!db_->GetProperty(handle(cf), name, &value)) return BadRequest(fmt::format("no property '{}'", name));
  return value;
}

uint64_t Store::logs_over_zeros() const { return wal_spare_fs_ ? wal_spare_fs_->logs_over_zeros() : 0; }
bool Store::WaitForWalSpareForTest() const { return wal_spare_fs_ && wal_spare_fs_->WaitForSpare(); }

Status Store::FlushForTest() const { return FromRocks(db_->Flush(rocksdb::FlushOptions(), handles_), "flushing"); }

void Store::SetExpiryHorizon(int64_t now_ms) { expiry_filter_->Advance(now_ms); }
int64_t Store::expiry_horizon() const { return expiry_filter_->horizon_ms(); }
void Store::ResetExpiryHorizonForTest() { expiry_filter_->Reset(); }

Status Store::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocks(s, "creating checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // No flush: the caller (the engine thread) would wait for RocksDB's flush thread, which at idle
  // priority (StoreOptions::idle_background_threads) gets no CPU while the machine is busy, so a
  // checkpoint under load stopped the dispatcher until the load fell. The copy holds what is not
  // flushed in the live logs, copied whole (up to max_wal_bytes) at their size on disk: written
  // over a spare (wal_spare_fs.h), that is the spare's zeros past what they hold, which a replay
  // skips. A dispatcher opening the copy replays them, as after a crash. Consistent because the
  // engine writes nothing while a checkpoint is made (engine.h, Checkpoint).
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/std::numeric_limits<uint64_t>::max());
  return FromRocks(s, fmt::format("checkpoint to '{}'", dir));
}

}  // namespace whistle::storage
