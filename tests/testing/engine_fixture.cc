#include "tests/testing/engine_fixture.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace whistle::testing {

KeyValues Dump(const storage::Store& store, storage::Cf cf) {
  KeyValues out;
  auto cursor = store.NewCursor(cf);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    out.emplace_back(std::string(cursor->key()), std::string(cursor->value()));
  }
  REQUIRE(cursor->status().ok());
  return out;
}

std::vector<std::string> Keys(const storage::Store& store, storage::Cf cf) {
  std::vector<std::string> keys;
  for (auto& kv : Dump(store, cf)) keys.push_back(std::move(kv.first));
  return keys;
}

int64_t IdempotencyExpiry(const storage::Store& store, std::string_view key) {
  auto value = store.Get(storage::Cf::kIdempotency, key);
  REQUIRE(value.ok());
  REQUIRE(value->has_value());
  pb::IdempotencyEntry entry;
  REQUIRE(entry.ParseFromString(**value));
  return entry.expires_at_ms();
}

std::vector<KeyValues> DumpAll(const storage::Store& store) {
  std::vector<KeyValues> all;
  for (int cf = 0; cf < storage::kCfCount; ++cf) all.push_back(Dump(store, static_cast<storage::Cf>(cf)));
  return all;
}

pb::Actor TestActor(pb::Role role, const std::string& principal, const std::string& department) {
  pb::Actor a;
  a.set_role(role);
  a.set_principal(principal);
  a.set_department(department);
  return a;
}

EngineFixture::EngineFixture(pb::CityConfig config) {
  auto city = City::Build(std::move(config));
  REQUIRE_MESSAGE(city.ok(), city.status().ToString());
  city_ = *city;
  Open();
}

EngineFixture::~EngineFixture() {
  engine_.reset();
  store_.reset();
}

void EngineFixture::Open() {
  auto store = storage::Store::Open(db_path());
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  store_ = std::move(store).value();
  auto engine = Engine::Open(*store_, city_, clock, options);
  REQUIRE_MESSAGE(engine.ok(), engine.status().ToString());
  engine_ = std::move(engine).value();
}

void EngineFixture::Restart() {
  engine_.reset();
  store_.reset();
  Open();
}

pb::Response EngineFixture::Run(pb::Request request, const pb::Actor& actor) {
  // Submit must carry a retry key; tests that do not care get a fresh one.
  if (request.has_submit() && request.request_id().empty()) {
    request.set_request_id(fmt::format("fixture-{}", ++requests_));
  }
  return engine_->Execute(Command{actor, std::move(request)});
}

pb::Response EngineFixture::Submit(const std::string& category, const std::string& grid,
                                   const std::string& reporter, const std::string& request_id) {
  pb::Request r;
  r.set_request_id(request_id);
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category(category);
  report->set_grid(grid);
  report->set_reporter(reporter);
  report->set_description("water leaking from a pipe");
  report->set_source(pb::SOURCE_GRID_APP);
  return Run(std::move(r), TestActor(pb::ROLE_REPORTER, reporter));
}

pb::Response EngineFixture::Claim(uint64_t id, const std::string& department, bool assist) {
  pb::Request r;
  r.mutable_claim()->set_event_id(id);
  r.mutable_claim()->set_department(department);
  r.mutable_claim()->set_agent(department + "-agent");
  r.mutable_claim()->set_assist(assist);
  return Run(std::move(r), TestActor(pb::ROLE_AGENT, department + "-agent", department));
}

pb::Response EngineFixture::Release(uint64_t id, uint64_t claim) {
  pb::Request r;
  r.mutable_release()->set_event_id(id);
  r.mutable_release()->set_claim_number(claim);
  r.mutable_release()->set_reason("shift over");
  return Run(std::move(r));
}

pb::Response EngineFixture::Progress(uint64_t id, uint64_t claim, const std::string& note) {
  pb::Request r;
  r.mutable_progress()->set_event_id(id);
  r.mutable_progress()->set_claim_number(claim);
  r.mutable_progress()->set_note(note);
  return Run(std::move(r));
}

pb::Response EngineFixture::Resolve(uint64_t id, uint64_t claim, const std::string& note) {
  pb::Request r;
  r.mutable_resolve()->set_event_id(id);
  r.mutable_resolve()->set_claim_number(claim);
  r.mutable_resolve()->set_note(note);
  return Run(std::move(r));
}

pb::Response EngineFixture::Return(uint64_t id, const std::string& department, uint64_t claim,
                                   const std::string& reason) {
  pb::Request r;
  r.mutable_return_task()->set_event_id(id);
  r.mutable_return_task()->set_department(department);
  r.mutable_return_task()->set_claim_number(claim);
  r.mutable_return_task()->set_reason(reason);
  return Run(std::move(r));
}

pb::Response EngineFixture::Whistle(uint64_t id, const std::string& department, uint64_t claim,
                                    const std::string& reason) {
  pb::Request r;
  r.mutable_whistle()->set_event_id(id);
  r.mutable_whistle()->set_department(department);
  r.mutable_whistle()->set_claim_number(claim);
  r.mutable_whistle()->set_reason(reason);
  return Run(std::move(r));
}

pb::Response EngineFixture::Supervise(uint64_t id, const std::string& note) {
  pb::Request r;
  r.mutable_supervise()->set_event_id(id);
  r.mutable_supervise()->set_note(note);
  return Run(std::move(r));
}

pb::Response EngineFixture::Feedback(uint64_t id, bool satisfied, int score) {
  pb::Request r;
  r.mutable_feedback()->set_event_id(id);
  r.mutable_feedback()->set_satisfied(satisfied);
  r.mutable_feedback()->set_score(score);
  return Run(std::move(r));
}

pb::Response EngineFixture::Reopen(uint64_t id, const std::string& reason) {
  pb::Request r;
  r.mutable_reopen()->set_event_id(id);
  r.mutable_reopen()->set_reason(reason);
  return Run(std::move(r));
}

pb::Response EngineFixture::Merge(uint64_t id, uint64_t into) {
  pb::Request r;
  r.mutable_merge()->set_event_id(id);
  r.mutable_merge()->set_into_event_id(into);
  return Run(std::move(r));
}

pb::Response EngineFixture::Cancel(uint64_t id, const std::string& reason) {
  pb::Request r;
  r.mutable_cancel()->set_event_id(id);
  r.mutable_cancel()->set_reason(reason);
  return Run(std::move(r));
}

pb::Response EngineFixture::SetMode(const std::string& region, pb::Mode mode) {
  pb::Request r;
  r.mutable_set_mode()->set_region(region);
  r.mutable_set_mode()->set_mode(mode);
  return Run(std::move(r), TestActor(pb::ROLE_ADMIN));
}

pb::Response EngineFixture::Get(uint64_t id, bool with_history) {
  pb::Request r;
  r.mutable_get()->set_event_id(id);
  r.mutable_get()->set_with_history(with_history);
  return Run(std::move(r));
}

uint64_t EngineFixture::SubmitOk(const std::string& category, const std::string& grid,
                                 const std::string& reporter) {
  pb::Response r = Submit(category, grid, reporter);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  return r.event().event().id();
}

uint64_t EngineFixture::ClaimOk(uint64_t id, const std::string& department) {
  pb::Response r = Claim(id, department);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  return r.event().event().claim_number();
}

pb::Event EngineFixture::EventOf(uint64_t id) {
  pb::Response r = Get(id);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  return r.event().event();
}

std::vector<pb::Record> EngineFixture::HistoryOf(uint64_t id) {
  pb::Request get;
  get.mutable_get()->set_event_id(id);
  get.mutable_get()->set_with_history(true);
  std::vector<pb::Record> history;
  for (;;) {  // a page at a time, newest first
    pb::Response r = Run(get);
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    history.insert(history.begin(), r.event().history().begin(), r.event().history().end());
    if (r.event().older_history() == 0) return history;
    get.mutable_get()->set_history_before(r.event().older_history());
  }
}

std::string EngineFixture::Snapshot(uint64_t id) {
  pb::Response r = Get(id, true);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  return r.event().SerializeAsString();
}

}  // namespace whistle::testing
