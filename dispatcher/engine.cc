#include "dispatcher/engine.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "dispatcher/appliers.h"
#include "dispatcher/authorization.h"
#include "dispatcher/dispatch_planner.h"
#include "dispatcher/privacy.h"
#include "dispatcher/rejections.h"
#include "storage/idempotency.h"
#include "storage/keys.h"
#include "whistle/check.h"
#include "whistle/hash.h"

namespace whistle {
namespace {

// What makes two requests "the same" for idempotency: the principal and the command itself.
uint64_t Fingerprint(const Command& command) {
  pb::Request payload = command.request;
  payload.clear_request_id();
  payload.clear_correlation_id();
  // A ticket is the person's credential, not part of what they asked: a console that logs in again
  // and retries sends the same command with another (the actor, who it names, is in the key).
  payload.clear_acting_ticket();
  // Unknown fields are dropped and serialization is deterministic, so the same request gives the
  // same bytes however the client's library ordered them.
  payload.DiscardUnknownFields();
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  payload.SerializeToCodedStream(&out);
  out.Trim();
  return Fnv1a64(bytes, Fnv1a64(command.actor.principal() + '\0'));
}

const std::shared_ptr<const std::vector<pb::Record>>& NoRecords() {
  static const auto* none =
      new std::shared_ptr<const std::vector<pb::Record>>(std::make_shared<const std::vector<pb::Record>>());
  return *none;
}

}  // namespace

pb::Response ErrorResponse(const Status& status, uint64_t correlation_id) {
  pb::Response r;
  r.set_correlation_id(correlation_id);
  r.set_code(status.code());
  r.set_message(status.message());
  return r;
}

Result<std::unique_ptr<Engine>> Engine::Open(storage::Store& store, std::shared_ptr<const City> city,
                                             const Clock& clock, EngineOptions options) {
  WHISTLE_CHECK(options.idempotency_retention_ms > 0, "idempotency retention must be positive");
  WHISTLE_CHECK(options.max_replans_per_batch > 0, "re-plans per batch must be positive");
  std::unique_ptr<Engine> engine(new Engine(store, std::move(city), clock, options));
  if (Status s = engine->state_.Load(options.start_note); !s.ok()) return s;
  std::vector<ReplanTarget> left = engine->state_.TakeReplansFoundAtLoad();
  // PLANTED BUG (test only, --test-plant-bug=replan-not-resumed): the re-plans are forgotten.
  if (options.test_plant_bug == PlantedBug::kReplanNotResumed) left.clear();
  // PLANTED BUG (test only, --test-plant-bug=duplicates-forgotten): the duplicate index is lost.
  if (options.test_plant_bug == PlantedBug::kDuplicatesForgotten) engine->state_.ForgetDuplicateIndexForTest();
  if (!left.empty()) {
    pb::Actor replanner;
    replanner.set_role(pb::ROLE_SYSTEM);
    replanner.set_principal("replan");
    engine->replan_jobs_.emplace_back(std::move(left), std::move(replanner));
  }
  store.SetExpiryHorizon(engine->state_.last_record_ms());  // the newest record on disk
  return engine;
}

Engine::Engine(storage::Store& store, std::shared_ptr<const City> city, const Clock& clock,
               EngineOptions options)
    : city_(std::move(city)),
      store_(store),
      clock_(clock),
      options_(options),
      state_(store, *city_),
      registry_(options.test_plant_bug == PlantedBug::kClaimWithoutStateCheck),
      committed_records_(NoRecords()) {
  state_.set_counter_fold_bytes(options.counter_fold_bytes);
}

std::vector<pb::Response> Engine::Decide(std::span<const Command> commands) {
  std::vector<pb::Response> replies;
  replies.reserve(commands.size());
  if (!health_.ok()) {
    for (const auto& c : commands) replies.push_back(ErrorResponse(health_, c.request.correlation_id()));
    return replies;
  }
  const int64_t now_ms = NowMs();
  ReplanSome(now_ms);
  std::vector<int64_t> lags = FireTimers(now_ms);
  staged_timer_lags_ms_.insert(staged_timer_lags_ms_.end(), lags.begin(), lags.end());
  for (const auto& c : commands) replies.push_back(Handle(c, now_ms));
  return replies;
}

SealedBatch Engine::Seal() {
  SealedBatch batch;
  batch.records = NoRecords();
  batch.timer_lags_ms = std::move(staged_timer_lags_ms_);
  staged_timer_lags_ms_.clear();
  batch.replans = std::exchange(replans_staged_, 0);
  if (!health_.ok()) return batch;  // a stopped engine staged nothing
  EngineState::SealedBatch sealed = state_.Seal();
  batch.write = std::move(sealed.write);
  batch.records = std::move(sealed.records);
  batch.last_seq = sealed.last_seq;
  return batch;
}

Status Engine::Complete(SealedBatch& batch, const Status& written) {
  committed_records_ = NoRecords();  // nothing of this batch is published unless it is written
  // A batch decided on an earlier one that failed is refused with it, whatever its own write did:
  // its replies may tell of that batch's effects.
  Status s = health_.ok() ? written : health_;
  if (!s.ok()) {
    health_ = s;
    batch.timer_lags_ms.clear();
    batch.records = NoRecords();
    return s;
  }
  state_.Release(batch.last_seq);  // checks that batches complete in the order they were sealed
  committed_records_ = batch.records;
  // Durable now: a restarted engine's time is never earlier than its newest record.
  if (!batch.records->empty()) store_.SetExpiryHorizon(batch.records->back().at_ms());
  return Status::Ok();
}

bool Engine::WaitsForWrites(const Command& command) const {
  const QueryProcessor* q = registry_.query(command.request.command_case());
  return q != nullptr && q->NeedsEveryBatchWritten(command, state_);
}

bool Engine::IsCommand(const pb::Request& request) const {
  return registry_.command(request.command_case()) != nullptr;
}

std::vector<pb::Response> Engine::Process(std::span<const Command> commands) {
  std::vector<pb::Response> replies = Decide(commands);
  SealedBatch batch = Seal();
  Status written = batch.write ? store_.Write(*batch.write) : Status::Ok();
  if (Status s = Complete(batch, written); !s.ok()) {
    for (size_t i = 0; i < replies.size(); ++i) replies[i] = ErrorResponse(s, commands[i].request.correlation_id());
  }
  timer_lags_last_batch_ms_ = std::move(batch.timer_lags_ms);
  return replies;
}

pb::Response Engine::Execute(const Command& command) {
  return std::move(Process(std::span<const Command>(&command, 1)).front());
}

size_t Engine::FireDueTimers() {
  Process({});
  return timers_fired_last_batch();
}

bool Engine::HasDueTimers() const {
  if (!health_.ok()) return false;  // a stopped engine fires nothing
  auto next = state_.NextTimerDue();
  return next.has_value() && *next <= NowMs();
}

std::vector<int64_t> Engine::FireTimers(int64_t now_ms) {
  std::vector<int64_t> lags;
  std::vector<DueTimer> due = state_.TakeDueTimers(now_ms, options_.max_timers_per_batch);
  if (options_.test_plant_bug == PlantedBug::kTimerSeparateWrite && !due.empty()) {
    // PLANTED BUG (test only, --test-plant-bug=timer-separate-write): the taken timers are
    // deleted from disk at once, in a synced write of their own, "so that they can never fire
    // twice"; their escalations reach the disk only with the batch's write. A crash in between
    // (while this batch's commands run and its write syncs) leaves on disk events still waiting
    // on timers that are gone. A failed write poisons the store, so the batch's write fails too.
    storage::WriteBatch removal(store_);
    for (const DueTimer& t : due) removal.Delete(storage::Cf::kTimers, storage::TimerKey(t.due_ms, t.event_id));
    (void)store_.Write(removal);
  }
  for (const DueTimer& t : due) {
    // Its deadline may be one a SetMode has yet to re-plan: if the re-plan moves it, the timer no
    // longer applies (the new one is pushed, and fires when due).
    if (!replan_jobs_.empty()) ReplanIfListed(t.event_id, now_ms);
    auto decision = registry_.deadlines().Decide(t, state_, now_ms);
    // Reading a terminal event can fail on I/O; a due timer is only ever for an open event,
    // which is in memory, so this cannot fail.
    WHISTLE_CHECK(decision.ok(), "timer for event %llu: %s", static_cast<unsigned long long>(t.event_id),
                  decision.status().ToString().c_str());
    if (decision->records.empty()) continue;
    (void)Apply(std::move(decision).value());
    lags.push_back(now_ms - t.due_ms);
  }
  return lags;
}

Engine::ReplanJob::ReplanJob(std::vector<ReplanTarget> targets, pb::Actor by)
    : done(targets.size(), false), left(targets.size()), actor(std::move(by)) {
  WHISTLE_CHECK(targets.size() <= UINT32_MAX, "%zu events to re-plan in one job", targets.size());
  std::sort(targets.begin(), targets.end(),
            [](const ReplanTarget& a, const ReplanTarget& b) { return a.event_id < b.event_id; });
  ids.reserve(targets.size());
  for (const ReplanTarget& t : targets) ids.push_back(t.event_id);
  order.resize(targets.size());
  std::iota(order.begin(), order.end(), uint32_t{0});
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return targets[a] < targets[b]; });
  due.reserve(order.size());
  for (uint32_t i : order) due.push_back(targets[i].due_ms);
}

bool Engine::ReplanJob::SkipDone() {
  while (next < order.size() && done[order[next]]) ++next;
  return next < order.size();
}

size_t Engine::pending_replans() const {
  size_t n = 0;
  for (const ReplanJob& job : replan_jobs_) n += job.left;
  return n;
}

void Engine::ReplanSome(int64_t now_ms) {
  // The budget is the batch's, not the round's: the server decides many rounds into one write.
  while (replans_staged_ < options_.max_replans_per_batch) {
    // The soonest next deadline of all the lists (one a switch whose list is not worked through
    // yet: a few, unless switches come faster than the lists are worked through); the older
    // list on a tie.
    auto soonest = replan_jobs_.end();
    for (auto job = replan_jobs_.begin(); job != replan_jobs_.end(); ++job) {
      if (job->SkipDone() && (soonest == replan_jobs_.end() || job->due[job->next] < soonest->due[soonest->next])) {
        soonest = job;
      }
    }
    if (soonest == replan_jobs_.end()) break;
    ++replans_staged_;
    Take(soonest, soonest->order[soonest->next++], now_ms);
  }
}

void Engine::ReplanIfListed(uint64_t id, int64_t now_ms) {
  for (auto job = replan_jobs_.begin(); job != replan_jobs_.end(); ++job) {
    auto at = std::lower_bound(job->ids.begin(), job->ids.end(), id);
    if (at == job->ids.end() || *at != id) continue;
    const auto i = static_cast<size_t>(at - job->ids.begin());
    if (job->done[i]) continue;
    Take(job, i, now_ms);
    return;
  }
}

void Engine::Take(std::deque<ReplanJob>::iterator job, size_t i, int64_t now_ms) {
  job->done[i] = true;
  const uint64_t id = job->ids[i];
  if (--job->left > 0) return ReplanEvent(id, job->actor, now_ms);
  // A list with nothing left goes at once, so that HasPendingReplans asks for no empty round.
  const pb::Actor actor = std::move(job->actor);
  replan_jobs_.erase(job);
  ReplanEvent(id, actor, now_ms);
}

void Engine::ReplanEvent(uint64_t id, const pb::Actor& actor, int64_t now_ms) {
  if (!state_.IsOpenEvent(id)) return;  // closed since: nothing to re-plan, nothing to read
  auto event = state_.FindEvent(id);
  WHISTLE_CHECK(event.ok() && *event != nullptr, "open event %llu vanished",
                static_cast<unsigned long long>(id));
  const pb::Event& e = **event;
  if (!state_.NeedsReplan(e)) return;
  Decision d;
  *d.Add(id, now_ms, actor).mutable_deadlines_replanned() =
      Replan(*city_, e, state_.PlanningMode(e.report(), e.grid()));
  (void)Apply(std::move(d));
}

pb::Response Engine::Handle(const Command& command, int64_t now_ms) {
  const pb::Request& request = command.request;
  pb::Response reply;
  Status allowed = Authorize(command.actor, request, state_);
  if (allowed.ok() && !replan_jobs_.empty()) {
    for (uint64_t id : EventIds(request)) ReplanIfListed(id, now_ms);
  }
  if (!allowed.ok()) {
    reply = ErrorResponse(allowed);
  } else if (const QueryProcessor* q = registry_.query(request.command_case())) {
    WHISTLE_CHECK(state_.sealed_count() == 0 || !q->NeedsEveryBatchWritten(command, state_),
                  "a query that waits for writes decided while an earlier batch is not written");
    auto answer = q->Answer(command, state_);
    reply = answer.ok() ? std::move(answer).value() : ErrorResponse(answer.status());
  } else if (const CommandProcessor* p = registry_.command(request.command_case())) {
    reply = HandleCommand(*p, command, now_ms);
  } else if (request.has_metrics() || request.has_ticket()) {
    reply = ErrorResponse(BadRequest("metrics and tickets are the server's (server.h), not the engine's"));
  } else {
    reply = ErrorResponse(BadRequest("the request carries no command"));
  }
  if (!MaySeePersonalData(command.actor)) StripPersonalData(&reply);
  reply.set_correlation_id(request.correlation_id());
  return reply;
}

pb::Response Engine::HandleCommand(const CommandProcessor& processor, const Command& command,
                                   int64_t now_ms) {
  const std::string& request_id = command.request.request_id();
  // A report must be safe to retry: an UNAVAILABLE answer means "outcome unknown" (the batch
  // may have reached the disk before its sync failed), and only the request id makes the
  // retry harmless.
  if (request_id.empty() && command.request.has_submit()) {
    return ErrorResponse(BadRequest("submit needs a request_id, the key that makes retries safe"));
  }
  uint64_t fingerprint = 0;
  std::string idempotency_key = storage::IdempotencyKey(command.actor.principal(), request_id);
  if (!request_id.empty()) {
    if (request_id.size() > kMaxIdBytes) {
      return ErrorResponse(BadRequest(fmt::format("request_id is {} bytes; the limit is {}",
                                                  request_id.size(), kMaxIdBytes)));
    }
    fingerprint = Fingerprint(command);
    auto first = state_.FindIdempotency(idempotency_key);
    if (!first.ok()) return ErrorResponse(first.status());
    // An expired entry may still be on disk until a compaction drops it: it answers nothing.
    if (first->has_value() && !storage::IsExpired(**first, now_ms)) {
      if ((*first)->payload_hash() != fingerprint) {
        return ErrorResponse(IdempotencyMismatch(fmt::format(
            "request id '{}' was already used for a different request", request_id)));
      }
      pb::Response again;
      WHISTLE_CHECK(again.ParseFromString((*first)->response()), "stored response for '%s' is corrupt",
                    request_id.c_str());
      return again;
    }
  }

  auto decision = processor.Decide(command, state_, now_ms);
  if (!decision.ok()) return ErrorResponse(decision.status());
  std::vector<ReplanTarget> replans = std::move(decision->replans);
  pb::Response reply = Apply(std::move(decision).value());
  if (!replans.empty()) replan_jobs_.emplace_back(std::move(replans), command.actor);
  if (!request_id.empty()) {
    pb::IdempotencyEntry entry;
    entry.set_payload_hash(fingerprint);
    if (!command.request.has_submit()) entry.set_expires_at_ms(now_ms + options_.idempotency_retention_ms);
    reply.SerializeToString(entry.mutable_response());
    state_.PutIdempotency(idempotency_key, std::move(entry));
  }
  return reply;
}

pb::Response Engine::Apply(Decision decision) {
  for (pb::Record& r : decision.records) {
    ApplyRecord(r, state_);
    state_.LogRecord(std::move(r));
  }
  state_.FinishCommand();

  if (decision.reply) return std::move(*decision.reply);
  pb::Response reply;
  if (decision.reply_event_id != 0) {
    auto event = state_.FindEvent(decision.reply_event_id);
    WHISTLE_CHECK(event.ok() && *event != nullptr, "event %llu vanished while applying",
                  static_cast<unsigned long long>(decision.reply_event_id));
    *reply.mutable_event()->mutable_event() = **event;
    reply.mutable_event()->set_linked_as_duplicate(decision.linked_as_duplicate);
    if (decision.linked_as_duplicate) {
      // The answer goes to a different reporter: it must not carry the first one's contact.
      StripPersonalData(reply.mutable_event()->mutable_event()->mutable_report());
    }
  }
  return reply;
}

}  // namespace whistle
