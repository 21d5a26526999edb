#include "tools/crashcheck_workload.h"

#include <algorithm>
#include <chrono>
#include <random>

#include <fmt/format.h>

namespace whistle::crashcheck {
namespace {

constexpr char kCity[] = "370600", kCounty[] = "370602", kStreet[] = "370602001";
constexpr char kCommunity1[] = "370602001001", kCommunity2[] = "370602001002";
const char* const kGrids[] = {"370602001001-01", "370602001001-02", "370602001002-01"};

void AddRegion(pb::CityConfig* c, const std::string& code, pb::Level level, const std::string& parent) {
  pb::Region* r = c->add_regions();
  r->set_code(code);
  r->set_name(code);
  r->set_level(level);
  r->set_parent(parent);
}

void AddDepartment(pb::CityConfig* c, const std::string& id, pb::Level level,
                   const std::string& jurisdiction, const std::vector<std::string>& categories) {
  pb::Department* d = c->add_departments();
  d->set_id(id);
  d->set_name(id);
  d->set_level(level);
  d->set_jurisdiction(jurisdiction);
  for (const auto& cat : categories) d->add_categories(cat);
}

// The agents: (name, department). Two names for c1-committee and for s-office race each other;
// the water unit races its committee for water reports; every level has someone.
struct AgentSpec {
  const char* name;
  const char* department;
};
constexpr AgentSpec kAgents[] = {
    {"desk-a", "c1-committee"}, {"desk-b", "c1-committee"}, {"unit", "c1-water-unit"},
    {"desk-c2", "c2-committee"}, {"street-1", "s-office"},    {"street-2", "s-office"},
    {"county", "k-bureau"},      {"city", "city-bureau"},     {"police", "city-police"},
};

}  // namespace

pb::CityConfig CrashCheckCity() {
  pb::CityConfig c;
  c.set_city_code(kCity);
  c.set_name("crashcheck city");
  c.set_version(1);
  AddRegion(&c, kCity, pb::LEVEL_CITY, "");
  AddRegion(&c, kCounty, pb::LEVEL_COUNTY, kCity);
  AddRegion(&c, kStreet, pb::LEVEL_STREET, kCounty);
  AddRegion(&c, kCommunity1, pb::LEVEL_COMMUNITY, kStreet);
  AddRegion(&c, kCommunity2, pb::LEVEL_COMMUNITY, kStreet);
  AddRegion(&c, kGrids[0], pb::LEVEL_GRID, kCommunity1);
  AddRegion(&c, kGrids[1], pb::LEVEL_GRID, kCommunity1);
  AddRegion(&c, kGrids[2], pb::LEVEL_GRID, kCommunity2);
  for (const char* code : {"water", "noise", "outage"}) {
    pb::Category* cat = c.add_categories();
    cat->set_code(code);
    cat->set_name(code);
    cat->set_name_en(code);
    cat->set_severity(pb::SEVERITY_MEDIUM);
  }
  // Outages (a burst of reports of one problem, repeats of its open event) go to the committees
  // and every level above them, as the reports of both other categories do.
  const std::vector<std::string> both = {"water", "noise", "outage"};
  AddDepartment(&c, "c1-committee", pb::LEVEL_COMMUNITY, kCommunity1, both);
  AddDepartment(&c, "c1-water-unit", pb::LEVEL_COMMUNITY, kCommunity1, {"water"});
  AddDepartment(&c, "c2-committee", pb::LEVEL_COMMUNITY, kCommunity2, both);
  AddDepartment(&c, "s-office", pb::LEVEL_STREET, kStreet, both);
  AddDepartment(&c, "k-bureau", pb::LEVEL_COUNTY, kCounty, both);
  AddDepartment(&c, "city-bureau", pb::LEVEL_CITY, kCity, both);
  AddDepartment(&c, "city-police", pb::LEVEL_CITY, kCity, {"noise"});
  // Simulated seconds; at kTimeScale 200 a claim deadline is 0.3 s of real time and a resolve
  // deadline 0.75 s (0.2 and 0.5 s in emergency mode), so agents (who wait up to 0.35 s before
  // claiming) miss some of each.
  for (const std::string& cat : both) {
    for (pb::Level level : {pb::LEVEL_COMMUNITY, pb::LEVEL_STREET, pb::LEVEL_COUNTY, pb::LEVEL_CITY}) {
      for (pb::Mode mode : {pb::MODE_NORMAL, pb::MODE_EMERGENCY}) {
        const bool emergency = mode == pb::MODE_EMERGENCY;
        pb::SlaPolicy* p = c.add_sla();
        p->set_category(cat);
        p->set_level(level);
        p->set_mode(mode);
        p->set_claim_seconds(emergency ? 40 : 60);
        p->set_resolve_seconds(emergency ? 100 : 150);
      }
    }
  }
  pb::EngineSettings* settings = c.mutable_settings();
  // Repeats are linked within an hour and 1 m: the outage reports, without a position, are linked
  // to the open outage of their grid; the others, each at a random point of a 1 km square, next
  // to never.
  settings->set_duplicate_window_seconds(3600);
  settings->set_duplicate_distance_meters(1);
  settings->set_auto_close_seconds(120);
  settings->set_utc_offset_minutes(480);
  settings->set_max_page_size(100);
  return c;
}

// ------------------------------------------------------------------------------------ Recorder

size_t Recorder::Begin(Op op) {
  std::lock_guard lock(mu_);
  ops_.push_back(std::move(op));
  return ops_.size() - 1;
}

void Recorder::Answer(size_t index, Outcome outcome, pb::StatusCode code, uint64_t event_id,
                      uint64_t claim_number, bool linked) {
  std::lock_guard lock(mu_);
  Op& op = ops_[index];
  op.outcome = outcome;
  op.code = code;
  op.linked = linked;
  if (event_id != 0) op.event_id = event_id;
  if (claim_number != 0) op.claim_number = claim_number;
  // Under the lock, so a snapshot's cutoff never sees a tick whose operation it misses.
  if (outcome != Outcome::kUnknown) op.ack_tick = ++tick_;
}

void Recorder::Published(pb::Record record) {
  std::lock_guard lock(mu_);
  published_[record.seq()] = std::move(record);
}

void Recorder::Problem(std::string what) {
  std::lock_guard lock(mu_);
  problems_.push_back(std::move(what));
}

History Recorder::Snapshot() const {
  std::lock_guard lock(mu_);
  History h;
  h.ack_cutoff = tick_.load();
  h.ops = ops_;
  return h;
}

std::map<uint64_t, pb::Record> Recorder::PublishedAfter(uint64_t after_seq) const {
  std::lock_guard lock(mu_);
  return {published_.upper_bound(after_seq), published_.end()};
}

std::vector<std::string> Recorder::problems() const {
  std::lock_guard lock(mu_);
  return problems_;
}

size_t Recorder::op_count() const {
  std::lock_guard lock(mu_);
  return ops_.size();
}

// ------------------------------------------------------------------------------------ Workload

Workload::Workload(zmq::context_t& context, Recorder& recorder, WorkloadOptions options)
    : context_(context), recorder_(recorder), options_(std::move(options)) {}

Workload::~Workload() { Stop(); }

void Workload::Start() {
  stop_ = false;
  for (int i = 0; i < options_.reporters; ++i) threads_.emplace_back([this, i] { Reporter(i); });
  uint64_t n = 0;
  for (const AgentSpec& a : kAgents) {
    threads_.emplace_back([this, a, seed = options_.seed * 1000 + ++n] { Agent(a.name, a.department, seed); });
  }
  if (options_.mode_pause_ms > 0) threads_.emplace_back([this] { Commander(options_.seed * 104729); });
  if (options_.whistle_pause_ms > 0) threads_.emplace_back([this] { Supervisor(options_.seed * 130363); });
  threads_.emplace_back([this] { Follow(); });
}

void Workload::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Workload::Sleep(int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 20)));
  }
}

std::optional<pb::Response> Workload::Send(Client& client, const pb::Request& request) {
  // Once stopping, the dispatcher is up: give a request in hand 10 s more to be answered.
  std::optional<std::chrono::steady_clock::time_point> give_up;
  while (true) {
    auto answer = client.Call(request);
    if (answer.ok() && answer->code() != pb::STATUS_UNAVAILABLE) return std::move(answer).value();
    if (stop_ && !give_up) give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    if (give_up && std::chrono::steady_clock::now() > *give_up) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<pb::Response> Workload::List(Client& client, pb::Request request) {
  auto answer = Send(client, request);
  for (int page = 1; page < 10 && answer && answer->code() == pb::STATUS_OK &&
                     answer->list().events_size() == 0 && !answer->list().next_cursor().empty();
       ++page) {
    request.mutable_list()->set_cursor(answer->list().next_cursor());
    answer = Send(client, request);
  }
  return answer;
}

namespace {

ClientOptions QuickClient() {
  ClientOptions o;
  o.timeout = std::chrono::milliseconds(400);
  o.attempts = 1;  // Workload::Send retries with the same request id
  o.busy_pause = std::chrono::milliseconds(20);
  return o;
}

Outcome OutcomeOf(const std::optional<pb::Response>& r) {
  if (!r) return Outcome::kUnknown;
  return r->code() == pb::STATUS_OK ? Outcome::kOk : Outcome::kRejected;
}

}  // namespace

std::optional<pb::Response> Workload::SendRecorded(Client& client, Op op, const pb::Request& request) {
  const size_t index = recorder_.Begin(std::move(op));
  auto answer = Send(client, request);
  recorder_.Answer(index, OutcomeOf(answer), answer ? answer->code() : pb::STATUS_UNAVAILABLE, 0, 0);
  return answer;
}

void Workload::Reporter(int index) {
  Client client(context_, options_.front, QuickClient());
  std::mt19937_64 rng(options_.seed * 7919 + static_cast<uint64_t>(index));
  const std::string name = fmt::format("reporter-{}", index);
  std::vector<uint64_t> mine;  // the events of this reporter's latest acknowledged Submits
  while (!stop_) {
    if (!mine.empty() && rng() % 100 < 25) {
      FollowUp(client, rng, name, mine);
      Sleep(options_.report_pause_ms / 2 + static_cast<int>(rng() % static_cast<uint64_t>(options_.report_pause_ms)));
      continue;
    }
    pb::Request r;
    r.set_request_id(Client::NewRequestId());
    pb::Report* report = r.mutable_submit()->mutable_report();
    if (rng() % 100 < 15) {
      // One more report of the outage in the first grid: a repeat of its open event, if it has
      // one (so that some events have more repeats than they keep: kLinkedWindow).
      report->set_category("outage");
      report->set_grid(kGrids[0]);
    } else {
      report->set_category(rng() % 2 ? "water" : "noise");
      report->set_grid(kGrids[rng() % 3]);
      std::uniform_real_distribution<double> offset(0, 0.01);
      report->mutable_position()->set_lon(121.40 + offset(rng));
      report->mutable_position()->set_lat(37.50 + offset(rng));
    }
    report->set_urgent(rng() % 10 == 0);  // planned in emergency mode wherever it is
    report->set_reporter(name);
    report->set_description("crashcheck report");
    Op submit;
    submit.kind = OpKind::kSubmit;
    submit.client = name;
    submit.request_id = r.request_id();
    submit.category = report->category();
    submit.grid = report->grid();
    size_t op = recorder_.Begin(std::move(submit));
    auto answer = Send(client, r);
    const bool ok = answer && answer->code() == pb::STATUS_OK;
    recorder_.Answer(op, OutcomeOf(answer), answer ? answer->code() : pb::STATUS_UNAVAILABLE,
                     ok ? answer->event().event().id() : 0, 0, ok && answer->event().linked_as_duplicate());
    if (ok) {
      mine.push_back(answer->event().event().id());
      if (mine.size() > 64) mine.erase(mine.begin());
    }
    Sleep(options_.report_pause_ms / 2 + static_cast<int>(rng() % static_cast<uint64_t>(options_.report_pause_ms)));
  }
}

void Workload::FollowUp(Client& client, std::mt19937_64& rng, const std::string& name,
                        const std::vector<uint64_t>& mine) {
  uint64_t id = 0;
  pb::EventState state = pb::STATE_UNSPECIFIED;
  if (rng() % 2 == 0) {
    pb::Request get;
    get.mutable_get()->set_event_id(mine[rng() % mine.size()]);
    auto seen = Send(client, get);
    if (!seen || seen->code() != pb::STATUS_OK) return;
    id = seen->event().event().id();
    state = seen->event().event().state();
  } else {
    // Most of a reporter's own events climb to city level unclaimed: the hotline's view of
    // the city's resolved (or closed) events finds more to rate.
    pb::Request list;
    list.mutable_list()->set_city(true);
    list.mutable_list()->add_states(rng() % 3 == 0 ? pb::STATE_RESOLVED : pb::STATE_CLOSED);
    list.mutable_list()->set_page_size(20);
    auto found = List(client, list);
    if (!found || found->code() != pb::STATUS_OK || found->list().events_size() == 0) return;
    const pb::Event& e = found->list().events(static_cast<int>(rng() % static_cast<uint64_t>(found->list().events_size())));
    id = e.id();
    state = e.state();
  }
  pb::Request r;
  r.set_request_id(Client::NewRequestId());
  Op op;
  op.client = name;
  op.request_id = r.request_id();
  op.event_id = id;
  if (state == pb::STATE_RESOLVED && rng() % 100 >= 15) {
    // Rated while the quiet period runs; not satisfied, the level takes it again.
    op.kind = OpKind::kFeedback;
    op.satisfied = rng() % 100 < 60;
    pb::FeedbackCommand* f = r.mutable_feedback();
    f->set_event_id(id);
    f->set_satisfied(op.satisfied);
    f->set_score(op.satisfied ? 4 + static_cast<int>(rng() % 2) : 1 + static_cast<int>(rng() % 2));
    f->set_comment(r.request_id());
  } else if (state == pb::STATE_RESOLVED || (state == pb::STATE_CLOSED && rng() % 100 < 30)) {
    op.kind = OpKind::kReopen;  // not fixed after all, or the problem came back
    r.mutable_reopen()->set_event_id(id);
    r.mutable_reopen()->set_reason(r.request_id());
  } else {
    return;
  }
  (void)SendRecorded(client, std::move(op), r);
}

void Workload::Agent(std::string name, std::string department, uint64_t seed) {
  Client client(context_, options_.front, QuickClient());
  std::mt19937_64 rng(seed);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  const std::string who = "agent " + name;
  // One command: recorded, sent until answered, its answer recorded. Returns the answer.
  auto act = [&](OpKind kind, pb::Request r, uint64_t event_id, uint64_t claim_number) {
    r.set_request_id(Client::NewRequestId());
    switch (kind) {
      case OpKind::kProgress: r.mutable_progress()->set_note(r.request_id()); break;
      case OpKind::kResolve: r.mutable_resolve()->set_note(r.request_id()); break;
      case OpKind::kRelease: r.mutable_release()->set_reason(r.request_id()); break;
      case OpKind::kReturn: r.mutable_return_task()->set_reason(r.request_id()); break;
      case OpKind::kWhistle: r.mutable_whistle()->set_reason(r.request_id()); break;
      default: break;
    }
    Op sent;
    sent.kind = kind;
    sent.client = who;
    sent.request_id = r.request_id();
    sent.event_id = event_id;
    sent.department = department;
    sent.agent = name;
    sent.claim_number = claim_number;
    if (kind == OpKind::kWhistle) sent.seen_level = r.whistle().seen_level();
    size_t op = recorder_.Begin(std::move(sent));
    auto answer = Send(client, r);
    bool ok = answer && answer->code() == pb::STATUS_OK;
    recorder_.Answer(op, OutcomeOf(answer), answer ? answer->code() : pb::STATUS_UNAVAILABLE, 0,
                     ok && kind == OpKind::kClaim ? answer->event().event().claim_number() : 0);
    return answer;
  };

  while (!stop_) {
    pb::Request list;
    list.mutable_list()->set_department(department);
    // Now and then the events someone holds instead, on purpose: the dispatcher must refuse their
    // claims. Without these, a claim that takes over a held event (the planted
    // claim-without-state-check) needs two agents to pick the same offered event within the
    // pause below, which on a loaded machine did not happen in 10 cycles once in a few runs.
    // (A turn in three here: some become assists below, and the claims on held events stay at
    // about one turn in five or more.)
    const bool held = chance(30);
    if (held) {
      list.mutable_list()->add_states(pb::STATE_CLAIMED);
      list.mutable_list()->add_states(pb::STATE_IN_PROGRESS);
    } else {
      list.mutable_list()->add_states(pb::STATE_DISPATCHED);
    }
    list.mutable_list()->set_page_size(20);
    auto offered = List(client, list);
    if (!offered || offered->code() != pb::STATUS_OK || offered->list().events_size() == 0) {
      Sleep(30);
      continue;
    }
    const auto& events = offered->list().events();
    const pb::Event& picked = events[static_cast<int>(rng() % static_cast<uint64_t>(events.size()))];
    const uint64_t id = picked.id();
    const pb::Level seen = picked.level();
    Sleep(static_cast<int>(rng() % 350));  // sometimes past the claim deadline (0.3 s)
    if (stop_) break;
    if (!held && chance(8)) {
      // Not ours: the rest of the level is offered it, or it climbs once all have said so (at
      // city level, the last candidate's return is refused).
      pb::Request give_back;
      give_back.mutable_return_task()->set_event_id(id);
      give_back.mutable_return_task()->set_department(department);
      (void)act(OpKind::kReturn, give_back, id, 0);
      continue;
    }
    // Join the holder as an assisting department (协办), as a rule one another department leads:
    // refused if it assists already, or if the claim ended meanwhile. Now and then one its own
    // department leads (another desk of it), which must be refused.
    if (held && chance(picked.lead() != department ? 40 : 4)) {
      pb::Request join;
      join.mutable_claim()->set_event_id(id);
      join.mutable_claim()->set_department(department);
      join.mutable_claim()->set_agent(name);
      join.mutable_claim()->set_assist(true);
      (void)act(OpKind::kAssist, join, id, 0);
      continue;
    }
    pb::Request claim;
    claim.mutable_claim()->set_event_id(id);
    claim.mutable_claim()->set_department(department);
    claim.mutable_claim()->set_agent(name);
    auto won = act(OpKind::kClaim, claim, id, 0);
    if (!won || won->code() != pb::STATUS_OK) continue;
    uint64_t number = won->event().event().claim_number();

    Sleep(static_cast<int>(rng() % 250));
    // A claim given back (退单), or whistled up as too big for this level; refused (the last
    // candidate at city level, any whistle there, or the claim climbed away meanwhile), the agent
    // carries on with its claim.
    if (chance(5)) {
      pb::Request give_back;
      give_back.mutable_return_task()->set_event_id(id);
      give_back.mutable_return_task()->set_department(department);
      give_back.mutable_return_task()->set_claim_number(number);
      auto answer = act(OpKind::kReturn, give_back, id, number);
      if (answer && answer->code() == pb::STATUS_OK) continue;
    } else if (chance(4)) {
      pb::Request up;
      up.mutable_whistle()->set_event_id(id);
      up.mutable_whistle()->set_department(department);
      up.mutable_whistle()->set_claim_number(number);
      if (chance(75)) up.mutable_whistle()->set_seen_level(seen);
      auto answer = act(OpKind::kWhistle, up, id, number);
      if (answer && answer->code() == pb::STATUS_OK) continue;
    }
    pb::Request progress;
    progress.mutable_progress()->set_event_id(id);
    // Now and then an old claim number, on purpose: the dispatcher must refuse it.
    uint64_t quoted = number > 1 && chance(10) ? number - 1 : number;
    progress.mutable_progress()->set_claim_number(quoted);
    (void)act(OpKind::kProgress, progress, id, quoted);
    Sleep(static_cast<int>(rng() % 350));  // sometimes past the resolve deadline
    if (chance(10)) {
      pb::Request release;
      release.mutable_release()->set_event_id(id);
      release.mutable_release()->set_claim_number(number);
      (void)act(OpKind::kRelease, release, id, number);
      continue;
    }
    pb::Request resolve;
    resolve.mutable_resolve()->set_event_id(id);
    resolve.mutable_resolve()->set_claim_number(number);
    (void)act(OpKind::kResolve, resolve, id, number);
  }
}

void Workload::Commander(uint64_t seed) {
  Client client(context_, options_.front, QuickClient());
  std::mt19937_64 rng(seed);
  const pb::CityConfig city = CrashCheckCity();
  std::map<std::string, std::string> parents;
  for (const pb::Region& region : city.regions()) parents[region.code()] = region.parent();
  const char* const above[] = {kStreet, kCounty, kCity};
  // The modes this commander set (it is the only one): a region's mode in force is the nearest
  // set at or above it. A switch whose answer was lost may have been applied or not, which only
  // makes the next choice a no-op now and then.
  std::map<std::string, pb::Mode> set_at;
  auto in_force = [&](std::string region) {
    for (; !region.empty(); region = parents.at(region)) {
      if (auto it = set_at.find(region); it != set_at.end()) return it->second;
    }
    return pb::MODE_NORMAL;
  };
  const int pause = options_.mode_pause_ms;
  while (!stop_) {
    Sleep(pause / 2 + static_cast<int>(rng() % static_cast<uint64_t>(pause)));
    if (stop_) break;
    pb::Request r;
    r.set_request_id(Client::NewRequestId());
    pb::SetModeCommand* set = r.mutable_set_mode();
    set->set_region(rng() % 2 ? (rng() % 2 ? kCommunity1 : kCommunity2) : above[rng() % std::size(above)]);
    set->set_mode(in_force(set->region()) == pb::MODE_EMERGENCY ? pb::MODE_NORMAL : pb::MODE_EMERGENCY);
    set_at[set->region()] = set->mode();
    Op op;
    op.kind = OpKind::kSetMode;
    op.client = "commander";
    op.request_id = r.request_id();
    op.region = set->region();
    op.mode = set->mode();
    auto answer = SendRecorded(client, std::move(op), r);
    if (answer && answer->code() == pb::STATUS_OK && answer->mode().replanned_events() > 0) {
      recorder_.ReplanningSwitch();
    }
  }
}

void Workload::Supervisor(uint64_t seed) {
  Client client(context_, options_.front, QuickClient());
  std::mt19937_64 rng(seed);
  const pb::Level below_city[] = {pb::LEVEL_COMMUNITY, pb::LEVEL_STREET, pb::LEVEL_COUNTY};
  const int pause = options_.whistle_pause_ms;
  while (!stop_) {
    Sleep(pause / 2 + static_cast<int>(rng() % static_cast<uint64_t>(pause)));
    if (stop_) break;
    // One turn in four at city level, where a whistle is refused: there it merges, cancels or
    // marks for supervision, and merges the event with the most repeats linked to it (an outage
    // that climbed there; the next report of it, out of the duplicate window, made another),
    // carrying them along.
    const bool city = rng() % 4 == 0;
    pb::Request list;
    list.mutable_list()->set_level(city ? pb::LEVEL_CITY : below_city[rng() % std::size(below_city)]);
    for (pb::EventState s : {pb::STATE_DISPATCHED, pb::STATE_CLAIMED, pb::STATE_IN_PROGRESS}) {
      list.mutable_list()->add_states(s);
    }
    list.mutable_list()->set_page_size(20);
    auto open = List(client, list);
    if (!open || open->code() != pb::STATUS_OK || open->list().events_size() == 0) continue;
    const auto& events = open->list().events();
    auto fewer_links = [](const pb::Event& a, const pb::Event& b) {
      return a.linked_count() < b.linked_count();
    };
    const pb::Event& picked =
        city ? *std::max_element(events.begin(), events.end(), fewer_links)
             : events[static_cast<int>(rng() % static_cast<uint64_t>(events.size()))];
    // Long enough, now and then, for a deadline to climb it first (0.3 s of real time).
    Sleep(static_cast<int>(rng() % 400));
    if (stop_) break;
    pb::Request r;
    r.set_request_id(Client::NewRequestId());
    Op op;
    op.client = "supervisor";
    op.request_id = r.request_id();
    op.event_id = picked.id();
    const int choice = static_cast<int>(rng() % 100);
    // A report of the same grid and category, still open, that this one repeats.
    auto repeated = std::find_if(events.begin(), events.end(), [&](const pb::Event& e) {
      return e.id() != picked.id() && e.grid() == picked.grid() &&
             e.report().category() == picked.report().category();
    });
    if (choice < 10) {  // not a case for the city after all (a prank, a private dispute)
      op.kind = OpKind::kCancel;
      r.mutable_cancel()->set_event_id(picked.id());
      r.mutable_cancel()->set_reason(r.request_id());
    } else if (choice < (city ? 70 : 30) && repeated != events.end()) {
      op.kind = OpKind::kMerge;
      op.into_event_id = repeated->id();
      r.mutable_merge()->set_event_id(picked.id());
      r.mutable_merge()->set_into_event_id(repeated->id());
    } else if (choice >= 88) {  // 督办: the event marked for supervision, at any level
      op.kind = OpKind::kSupervise;
      r.mutable_supervise()->set_event_id(picked.id());
      r.mutable_supervise()->set_note(r.request_id());
    }
    if (op.kind == OpKind::kCancel || op.kind == OpKind::kMerge || op.kind == OpKind::kSupervise) {
      (void)SendRecorded(client, std::move(op), r);
      continue;
    }
    if (city) continue;
    pb::WhistleCommand* whistle = r.mutable_whistle();
    whistle->set_event_id(picked.id());
    whistle->set_reason(r.request_id());
    if (rng() % 5 != 0) whistle->set_seen_level(picked.level());
    op.kind = OpKind::kWhistle;
    op.seen_level = whistle->seen_level();
    (void)SendRecorded(client, std::move(op), r);
  }
}

void Workload::Follow() {
  uint64_t after = 0;
  std::optional<RecordMark> mark;  // of record `after`: a dispatcher that lost it is a finding
  while (!stop_) {
    Subscriber subscriber(context_, options_.bus, options_.front, after, ClientOptions{}, mark);
    while (!stop_) {
      auto next = subscriber.Next(std::chrono::milliseconds(200));
      if (!next.ok()) {
        // UNAVAILABLE: the dispatcher is down; anything else (a gap in the log) is a finding.
        if (next.status().code() != pb::STATUS_UNAVAILABLE) {
          recorder_.Problem(fmt::format("subscriber: {}", next.status().ToString()));
        }
        break;
      }
      if (!next->has_value()) continue;
      recorder_.Published(std::move(**next));
    }
    if (subscriber.last_seq() > after) {
      after = subscriber.last_seq();
      mark = subscriber.last_mark();
    }
  }
}

}  // namespace whistle::crashcheck
