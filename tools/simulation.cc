#include "tools/simulation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "dispatcher/lifecycle.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/stats.h"
#include "storage/batch_writer.h"
#include "tools/describe.h"
#include "whistle/check.h"

namespace whistle {
namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

// Share of a day's reports by local hour: quiet at night, busy through office hours.
constexpr double kHourWeight[24] = {0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.8, 1.6,
                                    1.3, 1.5, 1.7, 1.7, 1.6, 1.4, 1.2, 1.0, 0.9, 0.7, 0.5, 0.4};
constexpr double kHourWeightSum = [] {
  double sum = 0;
  for (double w : kHourWeight) sum += w;
  return sum;
}();

double Millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

template <typename... Args>
void Line(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  out += fmt::format(format, std::forward<Args>(args)...);
  out += '\n';
}

}  // namespace

Simulation::Simulation(Engine& engine, ManualClock& clock, SimulationOptions options)
    : engine_(engine), clock_(clock), options_(options), rng_(options.seed) {}

namespace {

// The principals the simulated city acts as: one agent per department, the hotline for citizens.
pb::Actor AgentActor(const std::string& department) {
  pb::Actor actor;
  actor.set_role(pb::ROLE_AGENT);
  actor.set_principal(department);
  actor.set_department(department);
  return actor;
}

pb::Actor HotlineActor() {
  pb::Actor actor;
  actor.set_role(pb::ROLE_HOTLINE);
  actor.set_principal("hotline-12345");
  return actor;
}

}  // namespace

double Simulation::Uniform() { return rng_.Uniform(); }

uint64_t Simulation::Poisson(double mean) {
  if (mean > 30) {  // normal approximation; exact enough for arrival counts
    double u1 = std::max(Uniform(), 1e-12), u2 = Uniform();
    double n = std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    return static_cast<uint64_t>(std::max(0.0, std::round(mean + n * std::sqrt(mean))));
  }
  double limit = std::exp(-mean), p = 1;
  uint64_t k = 0;
  while ((p *= Uniform()) > limit) ++k;
  return k;
}

void Simulation::Schedule(int64_t at_ms, pb::Request request, pb::Actor actor) {
  actions_.push_back({at_ms, action_seq_++, Command{std::move(actor), std::move(request)}});
  std::push_heap(actions_.begin(), actions_.end(), std::greater<>());
}

void Simulation::AddReports(int64_t from_ms, int64_t to_ms, std::vector<Command>* batch) {
  const City& city = engine_.city();
  int offset = city.settings().utc_offset_minutes();
  int hour = static_cast<int>(((from_ms / kMinute + offset) / 60) % 24);
  double per_ms = options_.reports_per_day * kHourWeight[hour] / kHourWeightSum / kHour;
  uint64_t n = Poisson(per_ms * static_cast<double>(to_ms - from_ms));
  const auto& categories = city.config().categories();
  for (uint64_t i = 0; i < n; ++i) {
    std::string grid, category;
    if (!recent_.empty() && Uniform() < options_.repeat_share) {
      std::tie(grid, category) = recent_[static_cast<size_t>(Uniform() * recent_.size())];
    } else {
      grid = city.grids()[static_cast<size_t>(Uniform() * city.grid_count())]->code();
      category = categories[static_cast<int>(Uniform() * categories.size())].code();
      recent_.emplace_back(grid, category);
      if (recent_.size() > 200) recent_.erase(recent_.begin());
    }
    bool hotline = Uniform() < 0.3;
    pb::Actor actor = HotlineActor();
    if (!hotline) {
      actor.set_role(pb::ROLE_REPORTER);
      actor.set_principal("grid-app");
    }
    pb::Request request;
    request.set_request_id(fmt::format("sim-{}-{}-{}", options_.seed, from_ms, i));
    pb::Report* r = request.mutable_submit()->mutable_report();
    r->set_category(category);
    r->set_grid(grid);
    r->set_source(hotline ? pb::SOURCE_HOTLINE : pb::SOURCE_GRID_APP);
    r->set_reporter(hotline ? fmt::format("12345-{}", report_.reports + i) : fmt::format("grid-worker-{}", grid));
    r->set_description(fmt::format("simulated {} report", category));
    batch->push_back(Command{std::move(actor), std::move(request)});
  }
  report_.reports += n;
}

void Simulation::React(const pb::Record& r) {
  int64_t now = r.at_ms();
  uint64_t id = r.event_id();
  auto random_of = [&](const auto& list) { return list[static_cast<int>(Uniform() * list.size())]; };
  switch (r.body_case()) {
    case pb::Record::kSubmitted:
      ++report_.events_created;
      break;
    case pb::Record::kReportLinked:
      if (r.report_linked().link().event_id() == 0) ++report_.linked_duplicates;
      break;
    case pb::Record::kDispatched: {
      const pb::Dispatched& d = r.dispatched();
      dispatch_[id] = d;
      if (d.candidates().empty()) break;
      std::string department = random_of(d.candidates());
      double u = Uniform();
      int64_t window = d.claim_deadline_ms() - now;
      pb::Request q;
      if (u < options_.return_share && d.level() != pb::LEVEL_CITY) {
        q.mutable_return_task()->set_event_id(id);
        q.mutable_return_task()->set_department(department);
        q.mutable_return_task()->set_reason("not within our remit");
        Schedule(now + static_cast<int64_t>(Uniform() * window * 0.5), std::move(q), AgentActor(department));
      } else if (u < options_.return_share + options_.claim_in_time_share || d.level() == pb::LEVEL_CITY) {
        // The city always takes it in the end, late if need be.
        q.mutable_claim()->set_event_id(id);
        q.mutable_claim()->set_department(department);
        q.mutable_claim()->set_agent(department + "-duty");
        double share = u < options_.return_share + options_.claim_in_time_share ? 0.05 + 0.9 * Uniform() : 1.2;
        Schedule(now + static_cast<int64_t>(share * window), std::move(q), AgentActor(department));
      }
      break;
    }
    case pb::Record::kClaimed: {
      auto it = dispatch_.find(id);
      if (it == dispatch_.end()) break;
      const std::string& department = r.claimed().department();
      uint64_t claim = r.claimed().claim_number();
      int64_t window = std::max<int64_t>(it->second.resolve_deadline_ms() - now, kMinute);
      pb::Request progress;
      progress.mutable_progress()->set_event_id(id);
      progress.mutable_progress()->set_claim_number(claim);
      progress.mutable_progress()->set_note("on site");
      Schedule(now + std::min<int64_t>(window / 10, 2 * kHour), std::move(progress), AgentActor(department));
      double u = Uniform();
      pb::Request next;
      if (u < options_.whistle_share && it->second.level() != pb::LEVEL_CITY) {
        next.mutable_whistle()->set_event_id(id);
        next.mutable_whistle()->set_department(department);
        next.mutable_whistle()->set_claim_number(claim);
        next.mutable_whistle()->set_reason("needs a higher level");
        Schedule(now + window / 5, std::move(next), AgentActor(department));
      } else if (u < options_.whistle_share + options_.resolve_in_time_share) {
        next.mutable_resolve()->set_event_id(id);
        next.mutable_resolve()->set_claim_number(claim);
        next.mutable_resolve()->set_note("handled on site");
        Schedule(now + static_cast<int64_t>((0.15 + 0.8 * Uniform()) * window), std::move(next), AgentActor(department));
      }
      break;
    }
    case pb::Record::kResolved:
      if (Uniform() < options_.feedback_share) {
        pb::Request f;
        f.mutable_feedback()->set_event_id(id);
        bool satisfied = Uniform() < options_.satisfied_share;
        f.mutable_feedback()->set_satisfied(satisfied);
        f.mutable_feedback()->set_score(satisfied ? 4 + (Uniform() < 0.5) : 1 + static_cast<int>(Uniform() * 2));
        Schedule(now + static_cast<int64_t>(Uniform() * 24 * kHour), std::move(f), HotlineActor());
      }
      break;
    case pb::Record::kEscalated:
      ++report_.escalations_to[r.escalated().to_level()];
      break;
    case pb::Record::kMarkedOverdue:
      ++report_.overdue;
      break;
    case pb::Record::kClosed:
    case pb::Record::kCancelled:
    case pb::Record::kMergedInto:
      dispatch_.erase(id);
      break;
    default:
      break;
  }
}

SimulationReport Simulation::Run() {
  auto wall_start = std::chrono::steady_clock::now();
  uint64_t first_new_id = engine_.state().next_event_id();
  report_.start_ms = options_.start_ms;
  int64_t end = options_.start_ms + options_.duration_ms;
  // The daemon's pipelined commit (dispatcher/engine.h): each tick's batch is written on the
  // writer's thread while the next tick is decided. The agents react to a batch's records as soon
  // as it is decided, which is what they would do once it is written: the next tick is a minute of
  // simulated time later either way, so the city is the same, record for record.
  std::optional<SealedBatch> in_flight;  // before the writer, which may be writing its batch
  storage::BatchWriter writer(engine_.store());
  auto finish_in_flight = [&] {
    auto wait_start = std::chrono::steady_clock::now();
    Status written = in_flight->write ? writer.Wait() : Status::Ok();
    report_.write_wait_ms.push_back(Millis(std::chrono::steady_clock::now() - wait_start));
    Status s = engine_.Complete(*in_flight, written);
    in_flight.reset();
    return s.ok();
  };
  for (int64_t t = options_.start_ms; t < end; t += options_.tick_ms) {
    int64_t tick_end = std::min(t + options_.tick_ms, end);
    clock_.Set(tick_end);
    std::vector<Command> batch;
    while (!actions_.empty() && actions_.front().at_ms <= tick_end) {
      std::pop_heap(actions_.begin(), actions_.end(), std::greater<>());
      batch.push_back(std::move(actions_.back().command));
      actions_.pop_back();
    }
    AddReports(t, tick_end, &batch);
    auto decide_start = std::chrono::steady_clock::now();
    auto replies = engine_.Decide(batch);
    SealedBatch sealed = engine_.Seal();
    report_.decide_ms.push_back(Millis(std::chrono::steady_clock::now() - decide_start));
    ++report_.batches;
    report_.commands += batch.size();
    for (const auto& reply : replies) {
      if (reply.code() != pb::STATUS_OK) ++report_.rejected[pb::StatusCode_Name(reply.code())];
    }
    for (const auto& record : *sealed.records) React(record);
    // The writer takes one batch at a time: the one before this must be written first.
    if (in_flight && !finish_in_flight()) {
      (void)engine_.Complete(sealed, engine_.health());  // never written: the engine is stopped
      break;  // the store failed: report what happened so far
    }
    if (sealed.write) writer.Start(sealed.write.get());
    in_flight = std::move(sealed);
  }
  if (in_flight) finish_in_flight();
  report_.end_ms = std::min(end, clock_.NowMs());

  std::vector<std::pair<uint32_t, uint64_t>> stories;
  for (uint64_t id = first_new_id; id < engine_.state().next_event_id(); ++id) {
    auto e = engine_.state().FindEvent(id);
    if (!e.ok() || *e == nullptr) continue;
    ++report_.final_states[(*e)->state()];
    stories.emplace_back((*e)->history_size(), id);
  }
  std::sort(stories.rbegin(), stories.rend());
  for (size_t i = 0; i < std::min<size_t>(3, stories.size()); ++i) report_.sample_events.push_back(stories[i].second);
  report_.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return report_;
}

std::string FormatReport(const SimulationReport& report, const Engine& engine) {
  const City& city = engine.city();
  int offset = city.settings().utc_offset_minutes();
  std::string out;

  Line(out, "whistle simulation: {} from {} to {}", city.config().name(), LocalTime(report.start_ms, offset),
       LocalTime(report.end_ms, offset));
  Line(out, "  reports {} -> new events {}, repeats linked to open events {}", report.reports,
       report.events_created, report.linked_duplicates);
  std::vector<std::string> states;
  for (auto [state, n] : report.final_states) {
    states.push_back(fmt::format("{} {}", StateName(static_cast<pb::EventState>(state)), n));
  }
  Line(out, "  where this run's events are now: {}", fmt::join(states, ", "));
  Line(out, "  escalations: to street {}, to county {}, to city {}; overdue at city level {}",
       report.escalations_to.count(pb::LEVEL_STREET) ? report.escalations_to.at(pb::LEVEL_STREET) : 0,
       report.escalations_to.count(pb::LEVEL_COUNTY) ? report.escalations_to.at(pb::LEVEL_COUNTY) : 0,
       report.escalations_to.count(pb::LEVEL_CITY) ? report.escalations_to.at(pb::LEVEL_CITY) : 0,
       report.overdue);
  std::vector<std::string> rejected;
  for (const auto& [code, n] : report.rejected) rejected.push_back(fmt::format("{} {}", code, n));
  Line(out, "  commands {} in {} batches; refused because the event had moved on: {}", report.commands,
       report.batches, rejected.empty() ? "none" : fmt::format("{}", fmt::join(rejected, ", ")));

  std::string month = MonthOf(report.end_ms - 1, offset);
  out += '\n';
  out += RatesHeader(month);
  for (pb::Level level : kLadder) {
    // In memory, never archived: no month after it was counted into. No read that could fail.
    auto c = engine.state().Counters(month, LevelScope(level));
    WHISTLE_CHECK(c.ok(), "counters of %s: %s", month.c_str(), c.status().ToString().c_str());
    out += RatesRow(level, c->has_value() ? RatesOf(**c) : pb::Rates());
  }

  out += '\n';
  Line(out, "  {:.2f} s of wall time", report.wall_seconds);
  auto line = [&out](std::string_view what, std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    Line(out, "  {} p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms", what, Percentile(ms, 0.5),
         Percentile(ms, 0.99), Percentile(ms, 1));
  };
  line("a tick's batch decided (engine thread):", report.decide_ms);
  line("then waiting for the batch before it to be written:", report.write_wait_ms);
  HistogramSnapshot writes = engine.store().write_micros().Snapshot();
  Line(out, "  synced writes (writer thread, this process): {}, p50 {:.2f} ms, p99 {:.2f} ms, "
       "max {:.2f} ms", writes.count(), writes.Percentile(0.5) / 1e3,
       writes.Percentile(0.99) / 1e3, writes.max() / 1e3);

  for (uint64_t id : report.sample_events) {
    out += '\n';
    Line(out, "  the story of event {}:", id);
    auto found = engine.state().FindEvent(id);
    if (!found.ok() || *found == nullptr) continue;
    Command get;
    get.request.mutable_get()->set_event_id(id);
    get.request.mutable_get()->set_with_history(true);
    auto history = GetProcessor().Answer(get, engine.state());
    if (!history.ok()) continue;
    if (history->event().older_history() > 0) {
      Line(out, "    ({} older records, then the newest:)", history->event().older_history());
    }
    for (const auto& r : history->event().history()) Line(out, "    {}", DescribeRecord(city, r));
  }
  return out;
}

}  // namespace whistle
