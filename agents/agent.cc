#include "agents/agent.h"

#include <fmt/format.h>

#include <thread>

namespace whistle {

Agent::Agent(zmq::context_t& context, const std::string& front, const std::string& bus,
             std::string name, std::set<std::string> departments, AgentBehaviour behaviour)
    : name_(std::move(name)),
      departments_(std::move(departments)),
      behaviour_(behaviour),
      client_(context, front, ClientOptions{.credentials = behaviour.credentials}),
      context_(context),
      bus_(bus),
      rng_(behaviour.seed) {}

bool SeenAtStart::Shown(const pb::Record& record) {
  auto it = history_size_.find(record.event_id());
  if (it == history_size_.end()) return false;
  if (record.event_seq() < it->second) return true;
  history_size_.erase(it);  // from here on the feed is newer than any list was
  return false;
}

double Agent::Uniform() { return rng_.Uniform(); }

std::chrono::steady_clock::time_point Agent::After(int64_t simulated_ms) const {
  if (behaviour_.eager) return std::chrono::steady_clock::now();
  auto real = std::chrono::microseconds(static_cast<int64_t>(
      static_cast<double>(std::max<int64_t>(simulated_ms, 0)) * 1000 / behaviour_.time_scale));
  return std::chrono::steady_clock::now() + real;
}

void Agent::Schedule(std::chrono::steady_clock::time_point at, pb::Request request) {
  actions_.push({at, order_++, std::move(request)});
}

Status Agent::Start() {
  // Where the log stands now: follow it from here on.
  pb::Request tail;
  tail.mutable_log()->set_after_seq(UINT64_MAX);
  auto answer = client_.Call(tail);
  if (!answer.ok()) return answer.status();
  // With a key, a desk is refused on the bus and reads the log: as often in the city's time as at
  // the real pace, down to every 50 ms (20 reads a second, what a desk on a quiet bus used to
  // make), never less often than kLogPollInterval (the Subscriber holds it to that).
  const auto scaled = std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(kLogPollInterval.count()) / behaviour_.time_scale));
  const auto poll = std::max(std::chrono::milliseconds(50), scaled);
  subscriber_.emplace(context_, bus_, client_.endpoint(), answer->log().last_seq(),
                      ClientOptions{.credentials = behaviour_.credentials}, std::nullopt, poll);
  // What was offered before we came: treat it like any new offer, once per event (an event
  // offered to two of our departments is in both lists).
  // Work this agent claimed before a restart (same name) is carried on.
  for (const auto& department : departments_) {
    for (pb::EventState state : {pb::STATE_DISPATCHED, pb::STATE_CLAIMED, pb::STATE_IN_PROGRESS}) {
      pb::Request list;
      list.mutable_list()->set_department(department);
      list.mutable_list()->set_state(state);
      do {
        auto page = client_.Call(list);
        if (!page.ok()) return page.status();
        if (page->code() != pb::STATUS_OK) return Status(page->code(), page->message());
        for (const auto& e : page->list().events()) {
          if (!seen_at_start_.Note(e.id(), e.history_size())) continue;
          pb::Record offer;
          offer.set_event_id(e.id());
          offer.set_at_ms(e.dispatched_at_ms());
          pb::Dispatched* d = offer.mutable_dispatched();
          d->set_level(e.level());
          *d->mutable_candidates() = e.candidates();
          d->set_claim_deadline_ms(e.claim_deadline_ms());
          d->set_resolve_deadline_ms(e.resolve_deadline_ms());
          if (state == pb::STATE_DISPATCHED) {
            React(offer);
          } else if (e.claim_agent() == name_ && departments_.contains(e.lead())) {
            dispatch_[e.id()] = *d;
            pb::Record claimed;
            claimed.set_event_id(e.id());
            claimed.set_at_ms(e.claimed_at_ms());
            claimed.mutable_claimed()->set_department(e.lead());
            claimed.mutable_claimed()->set_agent(name_);
            claimed.mutable_claimed()->set_claim_number(e.claim_number());
            React(claimed);
          }
        }
        list.mutable_list()->set_cursor(page->list().next_cursor());
      } while (!list.list().cursor().empty());
    }
  }
  return Status::Ok();
}

void Agent::React(const pb::Record& r) {
  uint64_t id = r.event_id();
  if (r.has_dispatched()) {
    const pb::Dispatched& d = r.dispatched();
    std::vector<std::string> mine;
    for (const auto& c : d.candidates()) {
      if (departments_.contains(c)) mine.push_back(c);
    }
    if (mine.empty()) {
      dispatch_.erase(id);
      return;
    }
    dispatch_[id] = d;
    ++counts_.offers;
    const std::string& department = mine[static_cast<size_t>(Uniform() * mine.size())];
    int64_t window = d.claim_deadline_ms() - r.at_ms();
    pb::Request q;
    if (behaviour_.claim_only) {
      q.mutable_claim()->set_event_id(id);
      q.mutable_claim()->set_department(department);
      q.mutable_claim()->set_agent(name_);
      Schedule(std::chrono::steady_clock::now(), std::move(q));
      return;
    }
    double u = Uniform();
    if (u < behaviour_.lapse_share && d.level() != pb::LEVEL_CITY) return;
    if (u < behaviour_.lapse_share + behaviour_.return_share && d.level() != pb::LEVEL_CITY) {
      q.mutable_return_task()->set_event_id(id);
      q.mutable_return_task()->set_department(department);
      q.mutable_return_task()->set_reason("not within our remit");
      Schedule(After(static_cast<int64_t>(Uniform() * 0.5 * window)), std::move(q));
      return;
    }
    q.mutable_claim()->set_event_id(id);
    q.mutable_claim()->set_department(department);
    q.mutable_claim()->set_agent(name_);
    Schedule(After(static_cast<int64_t>((0.05 + 0.8 * Uniform()) * window)), std::move(q));
  } else if (r.has_claimed() && departments_.contains(r.claimed().department()) &&
             r.claimed().agent() == name_ && !behaviour_.claim_only) {
    auto it = dispatch_.find(id);
    if (it == dispatch_.end()) return;
    uint64_t claim = r.claimed().claim_number();
    const std::string& department = r.claimed().department();
    int64_t window = it->second.resolve_deadline_ms() - r.at_ms();
    pb::Request progress;
    progress.mutable_progress()->set_event_id(id);
    progress.mutable_progress()->set_claim_number(claim);
    progress.mutable_progress()->set_note("on site");
    Schedule(After(window / 10), std::move(progress));
    double u = Uniform();
    pb::Request next;
    if (u < behaviour_.unresolved_share) return;
    if (u < behaviour_.unresolved_share + behaviour_.whistle_share &&
        it->second.level() != pb::LEVEL_CITY) {
      next.mutable_whistle()->set_event_id(id);
      next.mutable_whistle()->set_department(department);
      next.mutable_whistle()->set_claim_number(claim);
      next.mutable_whistle()->set_reason("needs a higher level");
      Schedule(After(window / 5), std::move(next));
      return;
    }
    next.mutable_resolve()->set_event_id(id);
    next.mutable_resolve()->set_claim_number(claim);
    next.mutable_resolve()->set_note("handled on site");
    Schedule(After(static_cast<int64_t>((0.15 + 0.7 * Uniform()) * window)), std::move(next));
  } else if (r.has_closed() || r.has_cancelled() || r.has_merged_into()) {
    dispatch_.erase(id);
  }
}

void Agent::Perform(const pb::Request& request) {
  auto answer = client_.Call(request);
  if (!answer.ok()) {
    ++counts_.refused;
    return;
  }
  bool ok = answer->code() == pb::STATUS_OK;
  switch (request.command_case()) {
    case pb::Request::kClaim:
      if (ok) {
        ++counts_.claims_won;
      } else if (answer->code() == pb::STATUS_ALREADY_CLAIMED) {
        ++counts_.claims_lost;
        ++counts_.lost_to[answer->message()];
      } else {
        ++counts_.refused;
      }
      return;
    case pb::Request::kReturnTask:
      (ok ? counts_.returns : counts_.refused)++;
      return;
    case pb::Request::kWhistle:
      (ok ? counts_.whistles : counts_.refused)++;
      return;
    case pb::Request::kResolve:
      (ok ? counts_.resolves : counts_.refused)++;
      return;
    default:
      if (!ok) ++counts_.refused;
      return;
  }
}

Status Agent::RunUntil(std::chrono::steady_clock::time_point until,
                       const std::function<bool(const AgentCounts&)>& done) {
  if (!subscriber_) return Internal("Agent::Start was not called");
  while (std::chrono::steady_clock::now() < until && !(done && done(counts_))) {
    auto now = std::chrono::steady_clock::now();
    while (!actions_.empty() && actions_.top().at <= now) {
      pb::Request request = actions_.top().request;
      actions_.pop();
      Perform(request);
    }
    auto wait = std::chrono::milliseconds(50);
    if (!actions_.empty()) {
      wait = std::min(
          wait, std::chrono::duration_cast<std::chrono::milliseconds>(actions_.top().at - now));
    }
    auto next = subscriber_->Next(std::max(wait, std::chrono::milliseconds(0)));
    if (!next.ok()) return next.status();
    if (!next->has_value()) continue;
    const pb::Record& record = **next;
    if (seen_at_start_.Shown(record)) continue;
    React(record);
  }
  return Status::Ok();
}

}  // namespace whistle
