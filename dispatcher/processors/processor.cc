#include "dispatcher/processors/processor.h"

namespace whistle {

pb::Record& Decision::Add(uint64_t event_id, int64_t now_ms, const pb::Actor& actor) {
  pb::Record& r = records.emplace_back();
  r.set_event_id(event_id);
  r.set_at_ms(now_ms);
  *r.mutable_actor() = actor;
  return r;
}

}  // namespace whistle
