// GatewayStore: the gateway's own RocksDB database (GatewayConfig.data_dir): the hotline orders it
// follows, the outbox of callbacks still to deliver, and how far it has read the dispatcher's
// change feed.
//
//   subscriber thread ── Apply(records) ──► one WriteBatch: orders + outbox + cursor ──► disk
//                                                                                         │
//   sender thread per client ◄── Pending(client) ◄───────────────────────────────────────┘
//                            ── POST ──► 2xx ──► Delivered(callback): synced delete
//
// Exactly once, as seen by a receiver that drops repeats of (order_no, change_id): Apply writes a
// batch's callbacks and the new cursor in ONE write, so after a crash the subscriber resumes after
// cursor() and a record is turned into callbacks either entirely or not at all. A callback leaves
// the outbox only after its receiver answered 2xx; a crash between the answer and Delivered sends
// it again, with the same change_id. Batches that change nothing (no order, no callback) are
// written without fsync: if a crash loses them, replaying the same records from the older cursor
// yields nothing again, because the orders they were applied to are unchanged.
//
// If a write fails the store is poisoned like storage::Store: every later Apply and Delivered
// returns UNAVAILABLE with the first error, because RocksDB may hold part of the failed batch in
// memory. Recovery is a restart.
//
// Threading: Apply from one thread at a time (the subscriber's; calls are serialised anyway).
// Pending, Delivered, OrdersFor, cursor and PendingCount are safe from any thread.
//
// On disk: the column family names and key layouts below are frozen; integers are big-endian so
// that bytewise order is numeric order.
//   orders  event_id(8) client 0x00 order_no        -> pb::TrackedOrder
//   outbox  client 0x00 change_id(8) order_no       -> pb::OrderCallback
//   meta    "cursor"                                -> last applied record seq(8)
//           "cursor_mark"                           -> its RecordMark: seq(8) at_ms(8) event_id(8)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "whistle/event.pb.h"
#include "whistle/gateway.pb.h"
#include "whistle/record_mark.h"
#include "whistle/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace whistle::gateway {

// Key encodings (see above). Exposed for tests.
std::string OrderKey(uint64_t event_id, std::string_view client, std::string_view order_no);
std::string OrderPrefix(uint64_t event_id);
std::string OutboxKey(std::string_view client, uint64_t change_id, std::string_view order_no);
std::string OutboxPrefix(std::string_view client);

struct GatewayStoreOptions {
  // Environment for all file I/O; tests pass one wrapping storage::FaultInjectionFs.
  // nullptr = the default Env. Not owned; must outlive the store.
  rocksdb::Env* env = nullptr;
};

class GatewayStore {
 public:
  // Opens (creating if missing) the database at `path`. UNAVAILABLE names what failed.
  static Result<std::unique_ptr<GatewayStore>> Open(const std::string& path,
                                                    const GatewayStoreOptions& options = {});
  ~GatewayStore();
  GatewayStore(const GatewayStore&) = delete;
  GatewayStore& operator=(const GatewayStore&) = delete;

  // Sequence number of the last record applied (0 before any): follow the feed after it.
  uint64_t cursor() const { return cursor_.load(); }
  // That record's mark, to check that the dispatcher still has it (Subscriber); none before any
  // record, or in a store written before marks were kept. Waits for an Apply in progress.
  std::optional<RecordMark> cursor_mark() const;

  // Runs TrackOrders (order_tracker.h) over `records`, the orders of `hotline_principal` (the
  // gateway's own), and writes the tracked orders, the callbacks and the new cursor in one write.
  // Records with seq <= cursor() are skipped, so applying a batch twice adds nothing. A batch
  // whose sequence numbers do not strictly ascend (Subscriber's never do) gets BAD_REQUEST and
  // writes nothing.
  Status Apply(std::span<const pb::Record> records, std::string_view hotline_principal);

  // The orders tracked for an event, ordered by (client, order_no).
  Result<std::vector<pb::TrackedOrder>> OrdersFor(uint64_t event_id) const;

  // Up to `max` undelivered callbacks of `client`, in change_id order (then order_no).
  Result<std::vector<pb::OrderCallback>> Pending(std::string_view client, size_t max) const;
  // Removes a delivered callback from the outbox (synced). Removing one that is gone is OK.
  Status Delivered(const pb::OrderCallback& callback);
  // Undelivered callbacks of `client`, or of every client when `client` is empty.
  Result<size_t> PendingCount(std::string_view client = {}) const;

  // OK until a write has failed; then that first failure.
  Status health() const;

 private:
  GatewayStore() = default;
  // Writes `batch`; poisons the store on failure.
  Status Write(rocksdb::WriteBatch& batch, bool sync);

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* orders_ = nullptr;  // owned, destroyed before db_
  rocksdb::ColumnFamilyHandle* outbox_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::atomic<uint64_t> cursor_{0};
  std::optional<RecordMark> cursor_mark_;  // guarded by apply_mu_
  mutable std::mutex apply_mu_;  // serialises Apply: it reads orders, then writes them
  mutable std::mutex sticky_mu_;
  Status sticky_;  // guarded by sticky_mu_
};

}  // namespace whistle::gateway
