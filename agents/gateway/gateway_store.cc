#include "agents/gateway/gateway_store.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <set>

#include "agents/gateway/order_tracker.h"
#include "storage/keys.h"

namespace whistle::gateway {
namespace {

// On disk: frozen.
constexpr const char* kOrdersCf = "orders";
constexpr const char* kOutboxCf = "outbox";
constexpr const char* kMetaCf = "meta";
constexpr std::string_view kCursorKey = "cursor";
constexpr std::string_view kCursorMarkKey = "cursor_mark";
constexpr size_t kCursorMarkBytes = 8 + 8 + 8;

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Unavailable(fmt::format("gateway store: {}: {}", what, s.ToString()));
}

rocksdb::Slice ToSlice(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

// The first key after every key that starts with `prefix`; "" when there is none (a prefix of
// 0xff bytes only), meaning no bound.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty())
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// Calls fn(key, value) for every entry of `cf` starting with `prefix` until fn returns false.
template <typename Fn>
Status ScanPrefix(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf, const std::string& prefix,
                  Fn fn) {
  const std::string end = PrefixEnd(prefix);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions options;
  if (!end.empty()) options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(options, cf));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    if (!it->key().starts_with(prefix)) break;
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }
  return FromRocks(it->status(), "iterating");
}

}  // namespace

std::string OrderKey(uint64_t event_id, std::string_view client, std::string_view order_no) {
  std::string key = OrderPrefix(event_id);
  key.append(client).append(1, '\0').append(order_no);
  return key;
}

std::string OrderPrefix(uint64_t event_id) {
  std::string key;
  storage::PutFixed64BE(&key, event_id);
  return key;
}

std::string OutboxKey(std::string_view client, uint64_t change_id, std::string_view order_no) {
  std::string key = OutboxPrefix(client);
  storage::PutFixed64BE(&key, change_id);
  key.append(order_no);
  return key;
}

std::string OutboxPrefix(std::string_view client) {
  std::string key(client);
  key.push_back('\0');
  return key;
}

Result<std::unique_ptr<GatewayStore>> GatewayStore::Open(const std::string& path,
                                                         const GatewayStoreOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  if (options.env != nullptr) db_options.env = options.env;
  // Keep the default WAL recovery mode (kPointInTimeRecovery), as storage::Store does.

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const char* name : {kOrdersCf, kOutboxCf, kMetaCf}) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, fmt::format("opening '{}'", path));

  std::unique_ptr<GatewayStore> store(new GatewayStore());
  store->db_.reset(raw);
  store->orders_ = handles[1];
  store->outbox_ = handles[2];
  store->meta_ = handles[3];
  // The default column family is not used.
  s = store->db_->DestroyColumnFamilyHandle(handles[0]);
  if (!s.ok()) return FromRocks(s, "releasing the default column family");

  std::string value;
  s = store->db_->Get(rocksdb::ReadOptions(), store->meta_, ToSlice(kCursorKey), &value);
  if (s.ok()) {
    if (value.size() != 8) {
      return Internal(fmt::format("gateway store '{}': cursor of {} bytes", path, value.size()));
    }
    store->cursor_.store(storage::DecodeFixed64BE(value.data()));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading the cursor");
  }
  // The mark is written with the cursor; one that does not name the cursor's record (a store an
  // older gateway went on writing) is no mark.
  s = store->db_->Get(rocksdb::ReadOptions(), store->meta_, ToSlice(kCursorMarkKey), &value);
  if (s.ok() && value.size() == kCursorMarkBytes) {
    RecordMark mark;
    mark.seq = storage::DecodeFixed64BE(value.data());
    mark.at_ms = static_cast<int64_t>(storage::DecodeFixed64BE(value.data() + 8));
    mark.event_id = storage::DecodeFixed64BE(value.data() + 16);
    if (mark.seq == store->cursor_.load()) store->cursor_mark_ = mark;
  } else if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s, "reading the cursor's mark");
  }
  return store;
}

GatewayStore::~GatewayStore() {
  if (!db_) return;
  for (auto* h : {orders_, outbox_, meta_}) {
    if (h != nullptr) (void)db_->DestroyColumnFamilyHandle(h);  // closing anyway
  }
  (void)db_->Close();
}

Status GatewayStore::health() const {
  std::lock_guard lock(sticky_mu_);
  return sticky_;
}

Status GatewayStore::Write(rocksdb::WriteBatch& batch, bool sync) {
  if (Status s = health(); !s.ok()) return s;
  rocksdb::WriteOptions options;
  options.sync = sync;
  auto s = db_->Write(options, &batch);
  if (s.ok()) return Status::Ok();
  std::lock_guard lock(sticky_mu_);
  if (sticky_.ok()) {
    sticky_ = Unavailable(fmt::format(
        "gateway store write failed, refusing all writes until restart: {}", s.ToString()));
  }
  return sticky_;
}

Status GatewayStore::Apply(std::span<const pb::Record> records, std::string_view hotline_principal) {
  std::lock_guard lock(apply_mu_);
  if (Status s = health(); !s.ok()) return s;
  for (size_t i = 1; i < records.size(); ++i) {
    if (records[i].seq() <= records[i - 1].seq()) {
      return BadRequest(fmt::format("records out of order: seq {} after {}", records[i].seq(),
                                    records[i - 1].seq()));
    }
  }

  // The orders of each event this batch touches, as the records change them.
  struct EventOrders {
    std::vector<pb::TrackedOrder> orders;
    std::vector<std::string> stored_keys;  // as on disk before the batch
    bool dirty = false;
  };
  std::map<uint64_t, EventOrders> events;
  rocksdb::WriteBatch batch;
  const uint64_t start = cursor_.load();
  uint64_t cursor = start;
  RecordMark mark;
  bool changed = false;

  for (const pb::Record& record : records) {
    if (record.seq() <= cursor) continue;
    cursor = record.seq();
    mark = RecordMark::Of(record);
    if (record.event_id() == 0) continue;
    auto it = events.find(record.event_id());
    if (it == events.end()) {
      auto loaded = OrdersFor(record.event_id());
      if (!loaded.ok()) return loaded.status();
      EventOrders e;
      e.orders = std::move(loaded).value();
      for (const auto& o : e.orders) {
        e.stored_keys.push_back(OrderKey(record.event_id(), o.client(), o.order_no()));
      }
      it = events.emplace(record.event_id(), std::move(e)).first;
    }
    EventOrders& e = it->second;
    OrderChanges changes = TrackOrders(record, e.orders, hotline_principal);
    if (changes.empty()) continue;
    changed = true;
    auto find = [&e](const pb::TrackedOrder& o) {
      return std::find_if(e.orders.begin(), e.orders.end(), [&o](const pb::TrackedOrder& x) {
        return x.client() == o.client() && x.order_no() == o.order_no();
      });
    };
    for (pb::TrackedOrder& o : changes.upserts) {
      e.dirty = true;
      if (auto at = find(o); at != e.orders.end()) {
        *at = std::move(o);
      } else {
        e.orders.push_back(std::move(o));
      }
    }
    for (const pb::TrackedOrder& o : changes.stopped) {
      e.dirty = true;
      if (auto at = find(o); at != e.orders.end()) e.orders.erase(at);
    }
    for (const pb::OrderCallback& cb : changes.callbacks) {
      auto s = batch.Put(outbox_, OutboxKey(cb.client(), cb.change_id(), cb.order_no()),
                         cb.SerializeAsString());
      if (!s.ok()) return FromRocks(s, "staging a callback");
    }
  }
  if (cursor == start) return Status::Ok();  // nothing new

  for (const auto& [event_id, e] : events) {
    if (!e.dirty) continue;
    std::set<std::string> live;
    for (const pb::TrackedOrder& o : e.orders) {
      std::string key = OrderKey(event_id, o.client(), o.order_no());
      auto s = batch.Put(orders_, key, o.SerializeAsString());
      if (!s.ok()) return FromRocks(s, "staging an order");
      live.insert(std::move(key));
    }
    for (const std::string& key : e.stored_keys) {
      if (live.count(key) != 0) continue;
      auto s = batch.Delete(orders_, key);
      if (!s.ok()) return FromRocks(s, "staging an order's removal");
    }
  }
  std::string value;
  storage::PutFixed64BE(&value, cursor);
  auto s = batch.Put(meta_, ToSlice(kCursorKey), value);
  if (!s.ok()) return FromRocks(s, "staging the cursor");
  std::string mark_value;
  storage::PutFixed64BE(&mark_value, mark.seq);
  storage::PutFixed64BE(&mark_value, static_cast<uint64_t>(mark.at_ms));
  storage::PutFixed64BE(&mark_value, mark.event_id);
  s = batch.Put(meta_, ToSlice(kCursorMarkKey), mark_value);
  if (!s.ok()) return FromRocks(s, "staging the cursor's mark");

  // Only a batch that changed orders or queued callbacks must survive a crash; see the header.
  if (Status w = Write(batch, /*sync=*/changed); !w.ok()) return w;
  cursor_.store(cursor);
  cursor_mark_ = mark;
  return Status::Ok();
}

std::optional<RecordMark> GatewayStore::cursor_mark() const {
  std::lock_guard lock(apply_mu_);
  return cursor_mark_;
}

Result<std::vector<pb::TrackedOrder>> GatewayStore::OrdersFor(uint64_t event_id) const {
  std::vector<pb::TrackedOrder> orders;
  Status bad;
  Status s = ScanPrefix(
      *db_, orders_, OrderPrefix(event_id), [&](std::string_view key, std::string_view value) {
        if (!orders.emplace_back().ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          bad =
              Internal(fmt::format("gateway store: corrupt order at key of "
                                   "{} bytes for event {}",
                                   key.size(), event_id));
          return false;
        }
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return orders;
}

Result<std::vector<pb::OrderCallback>> GatewayStore::Pending(std::string_view client,
                                                             size_t max) const {
  std::vector<pb::OrderCallback> out;
  if (max == 0) return out;
  Status bad;
  Status s = ScanPrefix(
      *db_, outbox_, OutboxPrefix(client), [&](std::string_view, std::string_view value) {
        if (!out.emplace_back().ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          bad = Internal("gateway store: corrupt callback in the outbox");
          return false;
        }
        return out.size() < max;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

Status GatewayStore::Delivered(const pb::OrderCallback& callback) {
  rocksdb::WriteBatch batch;
  auto s = batch.Delete(outbox_,
                        OutboxKey(callback.client(), callback.change_id(), callback.order_no()));
  if (!s.ok()) return FromRocks(s, "staging a delivered callback");
  return Write(batch, /*sync=*/true);
}

Result<size_t> GatewayStore::PendingCount(std::string_view client) const {
  size_t n = 0;
  auto count = [&n](std::string_view, std::string_view) {
    ++n;
    return true;
  };
  Status s = client.empty() ? ScanPrefix(*db_, outbox_, std::string(), count)
                            : ScanPrefix(*db_, outbox_, OutboxPrefix(client), count);
  if (!s.ok()) return s;
  return n;
}

}  // namespace whistle::gateway
