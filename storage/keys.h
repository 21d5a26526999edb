// Key encoding for whistle's column families.
//
// On disk: the column family names and every key layout below are frozen; do not change them.
// (The one exception so far, the indexes' layout 1 -> 2, came with a rebuild on open:
// EngineState::Load. Layout 3 added a tag, the reporter index, written for every event on open.)
// Integers are big-endian so that RocksDB's bytewise order is numeric order.
//
//   events       id(8)                      -> pb::Event
//   history      id(8) event_seq(4)         -> pb::Record
//   log          seq(8)                     -> pb::Record      (the change feed)
//   timers       due_ms(8) id(8)            -> ""              (due_ms > 0)
//   idempotency  principal 0x1f request id  -> pb::IdempotencyEntry
//   indexes      tag(1) name 0x00 bucket(1) id(8) -> ""        (tags and buckets below)
//                0x00 "layout"              -> the index layout (kIndexesLayoutKey)
//   meta         ASCII name                 -> value           (see dispatcher/engine_state.h)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace whistle::storage {

void PutFixed64BE(std::string* dst, uint64_t v);
void PutFixed32BE(std::string* dst, uint32_t v);
// REQUIRES: p points at >= 8 (or 4) readable bytes.
uint64_t DecodeFixed64BE(const char* p);
uint32_t DecodeFixed32BE(const char* p);

std::string EventKey(uint64_t id);
std::string HistoryKey(uint64_t id, uint32_t event_seq);
std::string HistoryPrefix(uint64_t id);
// The length of HistoryPrefix: the history family's prefix extractor (storage/store.cc). On disk:
// frozen with the layout.
inline constexpr size_t kHistoryPrefixBytes = 8;
std::string LogKey(uint64_t seq);
std::string TimerKey(int64_t due_ms, uint64_t id);
// REQUIRES: key.size() == 16
void DecodeTimerKey(std::string_view key, int64_t* due_ms, uint64_t* id);

// Secondary index tags. On disk: frozen.
enum class IndexTag : char {
  kDepartment = 'D',  // departments offered, leading or assisting
  kRegion = 'R',      // every region containing the event's grid
  kLevel = 'L',       // current handling level (name = decimal level number)
  kReporter = 'P',    // every principal that reported the event (layout 3), bucket kAll
};
// Which part of an index an event is in. Layout 2 keys an index by bucket, not by the event's
// state as layout 1 did (state(1) = the EventState number): an event then changes its index keys
// only when it closes (and when it climbs or gains a department), not at every claim, progress
// and resolve (the lifecycle bench ran 42% faster: docs/BENCHMARKS.md).
// Open sorts first, so a listing without a state filter starts with what is still open.
enum class IndexBucket : char {
  kOpen = 'o',      // waiting for someone: dispatched, claimed, in progress, resolved
  kTerminal = 't',  // closed, cancelled or merged
  // The reporter index's one bucket: a reporter's list is newest first whatever the state, and a
  // key that never moves costs one write per report instead of three.
  kAll = 'a',
};
// The indexes' own copy of their layout (3 on), beside the mark in meta. It sorts before every
// tag's keys, so an older version's rebuild of the indexes, which deletes them from the first key
// on before it writes its own, takes it away in its first write: a rebuild cut short by a crash
// leaves a store whose meta still says the newer layout, and no copy here.
inline constexpr std::string_view kIndexesLayoutKey{"\0layout", 7};
// tag name 0x00 bucket id
std::string IndexKey(IndexTag tag, std::string_view name, IndexBucket bucket, uint64_t id);
// tag name 0x00: every key of that name
std::string IndexPrefix(IndexTag tag, std::string_view name);
// tag name 0x00 bucket: every key of that name in the bucket
std::string IndexPrefix(IndexTag tag, std::string_view name, IndexBucket bucket);
// The event id at the end of an index key. REQUIRES: key.size() >= 8.
uint64_t IndexKeyId(std::string_view key);

// principal 0x1f request_id: request ids are scoped by principal, so two clients that both say
// "req-1" do not collide.
std::string IdempotencyKey(std::string_view principal, std::string_view request_id);

}  // namespace whistle::storage
