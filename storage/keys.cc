#include "storage/keys.h"

namespace whistle::storage {

void PutFixed64BE(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i, v >>= 8) buf[i] = static_cast<char>(v & 0xff);
  dst->append(buf, 8);
}

void PutFixed32BE(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 3; i >= 0; --i, v >>= 8) buf[i] = static_cast<char>(v & 0xff);
  dst->append(buf, 4);
}

uint64_t DecodeFixed64BE(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t DecodeFixed32BE(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string EventKey(uint64_t id) {
  std::string k;
  PutFixed64BE(&k, id);
  return k;
}

std::string HistoryKey(uint64_t id, uint32_t event_seq) {
  std::string k = HistoryPrefix(id);
  PutFixed32BE(&k, event_seq);
  return k;
}

std::string HistoryPrefix(uint64_t id) { return EventKey(id); }

std::string LogKey(uint64_t seq) { return EventKey(seq); }

std::string TimerKey(int64_t due_ms, uint64_t id) {
  std::string k;
  PutFixed64BE(&k, static_cast<uint64_t>(due_ms));
  PutFixed64BE(&k, id);
  return k;
}

void DecodeTimerKey(std::string_view key, int64_t* due_ms, uint64_t* id) {
  *due_ms = static_cast<int64_t>(DecodeFixed64BE(key.data()));
  *id = DecodeFixed64BE(key.data() + 8);
}

std::string IndexPrefix(IndexTag tag, std::string_view name) {
  std::string k;
  k.reserve(name.size() + 11);
  k.push_back(static_cast<char>(tag));
  k.append(name);
  k.push_back('\0');
  return k;
}

std::string IndexPrefix(IndexTag tag, std::string_view name, IndexBucket bucket) {
  std::string k = IndexPrefix(tag, name);
  k.push_back(static_cast<char>(bucket));
  return k;
}

std::string IndexKey(IndexTag tag, std::string_view name, IndexBucket bucket, uint64_t id) {
  std::string k = IndexPrefix(tag, name, bucket);
  PutFixed64BE(&k, id);
  return k;
}

uint64_t IndexKeyId(std::string_view key) { return DecodeFixed64BE(key.data() + key.size() - 8); }

std::string IdempotencyKey(std::string_view principal, std::string_view request_id) {
  std::string k;
  k.reserve(principal.size() + 1 + request_id.size());
  k.append(principal);
  k.push_back('\x1f');
  k.append(request_id);
  return k;
}

}  // namespace whistle::storage
