#include "tools/bench.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <zmq.hpp>

#include "agents/client.h"
#include "whistle/random.h"

namespace whistle {
namespace {

using Clock = std::chrono::steady_clock;
// The kernel send buffer of each client socket (bench.h).
constexpr int kSendBufferBytes = 128 * 1024;
// Lifecycle: the socket of the department agent (claim, progress, resolve); submits and
// feedback go on socket 0, the reporter's. On one connection an agent's claim would queue behind
// the reporters' submits, which no agent app does.
constexpr size_t kAgentSocket = 1;
// An open loop behind its schedule reads the answers waiting after this many sends.
constexpr int kReadEvery = 64;
// A flow due before the end is still sent this late; later it counts as not sent.
constexpr auto kScheduleSlack = std::chrono::milliseconds(10);

int CommandsPerFlow(const BenchOptions& o) {
  switch (o.mix) {
    case BenchMix::kSubmit: return 1;
    case BenchMix::kLifecycle: return 5;
    case BenchMix::kClaimRace: return 1 + o.race_agents;
    case BenchMix::kQueries: return 1;
  }
  return 1;
}

zmq::socket_t Connect(zmq::context_t& context, const BenchOptions& o) {
  zmq::socket_t s(context, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::sndbuf, kSendBufferBytes);
  ApplyCredentials(s, o.credentials);
  s.connect(o.front);
  return s;
}

// Waits until one of `sockets` has an answer to read or `until` comes, and marks the readable
// ones in `items` (as zmq::poll does). zmq::poll counts in milliseconds, so an open-loop client
// whose next send is less than one away would spin and take a core from the dispatcher it
// measures; this sleeps on the sockets' file descriptors (ZMQ_FD) with ppoll's nanoseconds.
// ZMQ_FD only says that something may have changed: ZMQ_EVENTS is the truth, before and after.
void WaitForAnswerUntil(std::vector<zmq::socket_t>& sockets, std::vector<zmq::pollitem_t>& items,
                        Clock::time_point until) {
  auto mark = [&]() {
    bool any = false;
    for (size_t i = 0; i < sockets.size(); ++i) {
      items[i].revents = (sockets[i].get(zmq::sockopt::events) & ZMQ_POLLIN) ? ZMQ_POLLIN : 0;
      any = any || items[i].revents != 0;
    }
    return any;
  };
  if (mark()) return;
  std::vector<pollfd> fds;
  for (auto& s : sockets) fds.push_back({s.get(zmq::sockopt::fd), POLLIN, 0});
  auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - Clock::now());
  if (left.count() > 0) {
    timespec timeout{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
    (void)ppoll(fds.data(), fds.size(), &timeout, nullptr);  // EINTR: mark() below decides
  }
  mark();
}

void Send(zmq::socket_t& socket, const pb::Request& request) {
  std::string bytes = request.SerializeAsString();
  socket.send(zmq::buffer(bytes), zmq::send_flags::none);
}

// One request and its answer on a fresh socket (metrics, seeding).
Result<pb::Response> CallOnce(zmq::context_t& context, const BenchOptions& o, pb::Request request) {
  zmq::socket_t s = Connect(context, o);
  request.set_correlation_id(1);
  Send(s, request);
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(10000));
  if (!(item.revents & ZMQ_POLLIN)) return Unavailable(fmt::format("no answer from {}", o.front));
  zmq::message_t reply;
  (void)s.recv(reply, zmq::recv_flags::none);
  pb::Response r;
  if (!r.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) return Internal("unreadable answer");
  if (r.code() != pb::STATUS_OK) return Status(r.code(), r.message());
  return r;
}

Result<pb::MetricsResult> FetchMetrics(zmq::context_t& context, const BenchOptions& o) {
  pb::Request r;
  r.mutable_metrics();
  auto answer = CallOnce(context, o, r);
  if (!answer.ok()) return Status(answer.status().code(), "metrics: " + answer.status().message());
  return answer->metrics();
}

// Events the queries mix reads: submitted before the timed run.
struct Seeded {
  std::vector<uint64_t> events;
  std::vector<std::string> departments;
};

pb::Request NewSubmit(const BenchOptions& o, SplitMix64& rng, const std::string& request_id) {
  pb::Request r;
  r.set_request_id(request_id);
  const City& city = *o.city;
  const auto& categories = city.config().categories();
  if (o.hot > 0) {
    pb::Report* repeat = r.mutable_submit()->mutable_report();
    repeat->set_category(categories[0].code());
    repeat->set_grid(city.grids()[static_cast<size_t>(rng.Uniform() * o.hot)]->code());
    repeat->set_source(pb::SOURCE_HOTLINE);
    repeat->set_reporter("bench");
    repeat->set_description("whistle-bench: the same problem again");
    return r;
  }
  const pb::Region* grid = city.grids()[static_cast<size_t>(rng.Uniform() * city.grid_count())];
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category(categories[static_cast<int>(rng.Uniform() * categories.size())].code());
  report->set_grid(grid->code());
  // A random point of the grid (from its bounding box, kept when the city places it there).
  double min_lon = 180, max_lon = -180, min_lat = 90, max_lat = -90;
  for (const pb::Point& v : grid->polygon().vertices()) {
    min_lon = std::min(min_lon, v.lon()), max_lon = std::max(max_lon, v.lon());
    min_lat = std::min(min_lat, v.lat()), max_lat = std::max(max_lat, v.lat());
  }
  for (int attempt = 0; attempt < 20; ++attempt) {
    pb::Point p;
    p.set_lon(min_lon + rng.Uniform() * (max_lon - min_lon));
    p.set_lat(min_lat + rng.Uniform() * (max_lat - min_lat));
    if (city.LocateGrid(p) == grid) {
      *report->mutable_position() = p;
      break;
    }
  }
  report->set_source(pb::SOURCE_GRID_APP);
  report->set_reporter("bench");
  report->set_description("whistle-bench");
  return r;
}

// --seed with the run's id in it: the same reports run after run would be linked, within the
// duplicate window, to the events the run before made (the queries mix's Gets then read ever
// longer histories, and a claim race finds its event claimed already; docs/BENCHMARKS.md, "Scale").
uint64_t RunSeed(const BenchOptions& o) { return o.seed ^ std::hash<std::string>{}(o.run_id); }

Result<Seeded> Seed(zmq::context_t& context, const BenchOptions& o) {
  Seeded seeded;
  zmq::socket_t s = Connect(context, o);
  SplitMix64 rng(RunSeed(o) ^ 0x5eed);
  constexpr int kWindow = 64;
  int sent = 0, answered = 0;
  std::vector<std::string> departments;
  while (answered < o.query_events) {
    while (sent < o.query_events && sent - answered < kWindow) {
      pb::Request r = NewSubmit(o, rng, fmt::format("bench-{}-seed-{}", o.run_id, sent));
      r.set_correlation_id(static_cast<uint64_t>(++sent));
      Send(s, r);
    }
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(10000));
    if (!(item.revents & ZMQ_POLLIN)) return Unavailable("seeding: no answer within 10 s");
    zmq::message_t reply;
    (void)s.recv(reply, zmq::recv_flags::none);
    pb::Response r;
    if (!r.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) return Internal("seeding: unreadable answer");
    if (r.code() == pb::STATUS_BUSY) return Unavailable("seeding: the dispatcher is busy");
    if (r.code() != pb::STATUS_OK) return Status(r.code(), "seeding: " + r.message());
    ++answered;
    const pb::Event& e = r.event().event();
    seeded.events.push_back(e.id());
    for (const auto& d : e.candidates()) departments.push_back(d);
  }
  std::sort(departments.begin(), departments.end());
  departments.erase(std::unique(departments.begin(), departments.end()), departments.end());
  seeded.departments = std::move(departments);
  if (seeded.departments.empty()) return BadRequest("seeding: no event was offered to any department");
  return seeded;
}

// One client: its sockets, its flows in flight, what it measured.
class Worker {
 public:
  Worker(zmq::context_t& context, const BenchOptions& o, int index, const Seeded* seeded)
      : o_(o), index_(index), seeded_(seeded), rng_(RunSeed(o) * 1000003 + static_cast<uint64_t>(index)) {
    // Lifecycle: the reporter's connection and the department agent's, as in a city (kAgentSocket).
    int sockets = o.mix == BenchMix::kClaimRace ? 1 + o.race_agents : o.mix == BenchMix::kLifecycle ? 2 : 1;
    for (int i = 0; i < sockets; ++i) sockets_.push_back(Connect(context, o));
  }

  void Run(Clock::time_point start, Clock::time_point measure_from, Clock::time_point end) {
    measure_from_ = measure_from;
    end_ = end;
    // Nothing is sent before `start`: a closed-loop flow's first command is stamped `start`, and an
    // answer read before it gave a negative latency (read as 18,446,744,073,709 s with no warm-up).
    std::this_thread::sleep_until(start);
    const bool open = o_.rate > 0;
    const auto drain = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.drain_s));
    // Open loop: this client's share of the offered commands, as flows.
    const double flows_per_s = open ? o_.rate / o_.clients / CommandsPerFlow(o_) : 0;
    const auto interval = open ? std::chrono::duration<double>(1.0 / flows_per_s) : std::chrono::duration<double>(0);
    // Spread the clients' schedules so they do not all send at the same instant.
    Clock::time_point next = start + std::chrono::duration_cast<Clock::duration>(interval * (static_cast<double>(index_) / o_.clients));
    // The schedule's step, in the clock's own unit (at least one tick).
    const Clock::duration step = std::max(Clock::duration(1), std::chrono::duration_cast<Clock::duration>(interval));
    if (!open) {
      for (int i = 0; i < o_.window; ++i) StartFlow(NewSlot(), start);
    }
    std::vector<zmq::pollitem_t> items;
    for (auto& s : sockets_) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    for (;;) {
      Clock::time_point now = Clock::now();
      if (open) {
        // Behind schedule, this catches up, reading answers as it goes (they are stamped when
        // read: left in the socket they would age with the bench's own backlog); but nothing
        // new is offered once the load has ended, give or take this loop's timer slack.
        const Clock::time_point last_call = end + kScheduleSlack;
        for (int sent = 1; next <= now && next < end && Clock::now() < last_call; ++sent) {
          StartFlow(NewSlot(), next);
          next += step;
          if (sent % kReadEvery == 0) {
            zmq::poll(items.data(), items.size(), std::chrono::milliseconds(0));
            ReadWaiting(items);
          }
        }
        if (next < end && Clock::now() >= last_call) {
          not_sent_ += static_cast<uint64_t>((end - next + step - Clock::duration(1)) / step);  // the slots left
          next = end;
        }
        now = Clock::now();  // a long catch-up may have crossed the end: nothing below may act as before it
      }
      // After the end only answers are awaited (and silent requests asked again): a BUSY is an
      // answer, and a retry then would be load offered after the load ended.
      // A request answered BUSY after it was sent twice may yet be answered for its earlier copy
      // (still queued when the later one was shed): that answer is awaited too, up to the drain.
      if (now >= end && inflight_.empty() && !AwaitsEarlierCopy()) break;
      if (now >= end + drain) break;
      while (now < end && !busy_.empty() && busy_.begin()->first <= now) {
        InFlight again = std::move(busy_.begin()->second);
        busy_by_correlation_.erase(again.request.correlation_id());
        busy_.erase(busy_.begin());
        ResendAfterBusy(again);
      }
      HandleReceived();  // answers read while sending, before anything is resent for want of them
      ResendUnanswered(now);
      auto wait = std::chrono::milliseconds(100);
      auto until = [&](Clock::time_point t) {
        wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(t - now), std::chrono::milliseconds(0),
                          wait);
      };
      if (open && next < end) until(next);
      if (now < end && !busy_.empty()) until(busy_.begin()->first);
      // No wake-up for resends: most of sent_order_ is answered already, and at 10,000/s one of
      // its entries always falls due within the millisecond, which made this loop spin and take a
      // core from the dispatcher (p99 at 10,000/s went from 6 to 30 ms). A resend goes out within
      // the 100 ms this loop sleeps at most.
      if (!received_.empty()) wait = std::chrono::milliseconds(0);
      if (received_.empty() && open && next < end && next - now < std::chrono::milliseconds(1)) {
        WaitForAnswerUntil(sockets_, items, next);  // the next send is under a millisecond away
      } else {
        zmq::poll(items.data(), items.size(), wait);
      }
      ReadWaiting(items);
      HandleReceived();
    }
    unanswered_ += inflight_.size();
    busy_pending_ += busy_.size();
  }

  std::map<std::string, HistogramSnapshot> latency_us;
  std::map<std::string, uint64_t> codes;
  std::vector<std::string> acked_submits;  // request ids of Submits answered OK
  // With BenchOptions::trace. A deque: a vector's reallocation, megabytes copied on this thread,
  // would show in the very latencies it records.
  std::deque<TracedAnswer> trace;
  uint64_t commands = 0, flows = 0, races = 0, races_not_one_winner = 0, linked = 0;
  uint64_t unanswered() const { return unanswered_; }
  uint64_t busy_pending() const { return busy_pending_; }
  uint64_t resent() const { return resent_; }
  uint64_t late_answers() const { return late_answers_; }
  uint64_t not_sent() const { return not_sent_; }

 private:
  struct Flow {
    bool active = false;
    int step = 0;
    uint64_t event = 0;
    uint64_t claim = 0;
    std::string department;
    int waiting = 0;   // claim-race: claims not yet answered
    int winners = 0;
  };
  struct InFlight {
    size_t slot;
    size_t socket;
    Clock::time_point sent;  // or intended, for an open-loop flow's first command
    const char* kind;
    pb::Request request;     // kept to send again after BUSY or after no answer
    int busy_answers = 0;    // BUSY answers to it in a row
    Clock::time_point last_sent{};  // when it actually went out last
    int unanswered_copies = 1;  // sent, less answers read: after a BUSY, one may still come
  };

  // A finished flow's slot, or a new one. (A scan for a free slot made an open loop that had
  // fallen behind quadratic: thousands of flows in flight, none finishing while it caught up.)
  size_t NewSlot() {
    if (!free_slots_.empty()) {
      const size_t slot = free_slots_.back();
      free_slots_.pop_back();
      return slot;
    }
    flows_.emplace_back();
    return flows_.size() - 1;
  }

  void SendStep(size_t slot, size_t socket, const char* kind, pb::Request request, Clock::time_point sent) {
    uint64_t correlation = ++next_correlation_;
    request.set_correlation_id(correlation);
    if (request.request_id().empty() && !request.has_get() && !request.has_list() && !request.has_stats()) {
      request.set_request_id(fmt::format("bench-{}-{}-{}", o_.run_id, index_, correlation));
    }
    SendWhileReading(socket, request);
    const Clock::time_point now = Clock::now();
    inflight_.emplace(correlation, InFlight{slot, socket, sent, kind, std::move(request), 0, now});
    RememberSent(now, correlation);
  }

  void StartFlow(size_t slot, Clock::time_point intended) {
    Flow& f = flows_[slot];
    f = Flow{};
    f.active = true;
    if (o_.mix == BenchMix::kQueries) {
      pb::Request r;
      static const std::vector<std::string> kAllKinds = {"get", "list", "stats"};
      const std::vector<std::string>& kinds = o_.query_kinds.empty() ? kAllKinds : o_.query_kinds;
      const std::string& kind = kinds[query_turn_++ % kinds.size()];
      // A literal, not kind.c_str(): a traced answer keeps its kind past the options' life.
      const char* name = "stats";
      if (kind == "get") {
        name = "get";
        r.mutable_get()->set_event_id(o_.get_ids > 0 ? 1 + rng_.Next() % o_.get_ids : Pick(seeded_->events));
        r.mutable_get()->set_with_history(true);
      } else if (kind == "list") {
        name = "list";
        r.mutable_list()->set_department(Pick(seeded_->departments));
        r.mutable_list()->set_page_size(50);
      } else if (kind == "mine") {
        name = "mine";
        r.mutable_list()->set_mine(true);  // the bench's own reports, the seeded ones among them
        r.mutable_list()->set_page_size(50);
      } else {
        r.mutable_stats()->set_department(Pick(seeded_->departments));
        r.mutable_stats()->set_month(o_.month);
      }
      SendStep(slot, 0, name, std::move(r), intended);
      return;
    }
    SendStep(slot, 0, "submit", NewSubmit(o_, rng_, ""), intended);
  }

  template <typename T>
  T Pick(const std::vector<T>& from) {
    return from[static_cast<size_t>(rng_.Uniform() * from.size())];
  }

  void FinishFlow(Flow& f, Clock::time_point now) {
    f.active = false;
    if (now >= measure_from_ && now <= end_) ++flows;
    const size_t slot = static_cast<size_t>(&f - flows_.data());
    if (o_.rate == 0 && now < end_) {
      StartFlow(slot, now);  // closed loop: the next flow in the same slot
    } else {
      free_slots_.push_back(slot);
    }
  }

  // Sends without ever blocking on a full queue: while the dispatcher is behind, the answers that
  // arrive are read meanwhile (and handled later, by the main loop, at their arrival time). A
  // client that stopped reading while it waited to send would have its answers dropped by the
  // dispatcher once 1,000 are waiting (dispatcher/server.h).
  void SendWhileReading(size_t socket, const pb::Request& request) {
    const std::string bytes = request.SerializeAsString();
    while (!sockets_[socket].send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      std::vector<zmq::pollitem_t> items;
      for (auto& s : sockets_) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
      items[socket].events |= ZMQ_POLLOUT;
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(100));
      ReadWaiting(items);
    }
  }

  // Takes every answer waiting on the sockets `items` found readable, stamped with the time now.
  void ReadWaiting(const std::vector<zmq::pollitem_t>& items) {
    const Clock::time_point now = Clock::now();
    for (size_t i = 0; i < items.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq::message_t reply;
      while (sockets_[i].recv(reply, zmq::recv_flags::dontwait)) received_.emplace_back(std::move(reply), now);
    }
  }

  // Handles the answers read so far, oldest first. Handling one may send (a flow's next step).
  void HandleReceived() {
    while (!received_.empty()) {
      auto [reply, at] = std::move(received_.front());
      received_.pop_front();
      OnReply(reply, at);
    }
  }

  void OnReply(const zmq::message_t& bytes, Clock::time_point now) {
    pb::Response r;
    if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      ++codes["unreadable answer"];
      return;
    }
    InFlight sent;
    if (auto it = inflight_.find(r.correlation_id()); it != inflight_.end()) {
      sent = std::move(it->second);
      inflight_.erase(it);
    } else if (auto b = busy_by_correlation_.find(r.correlation_id());
               b != busy_by_correlation_.end() && r.code() != pb::STATUS_BUSY) {
      // Answered BUSY for one copy while an earlier copy was still queued, and that copy's answer
      // came after: it is the request's answer (a stored submit's OK must not be lost).
      sent = std::move(b->second->second);
      busy_.erase(b->second);
      busy_by_correlation_.erase(b);
    } else {  // another copy of a request answered already
      ++late_answers_;
      return;
    }
    --sent.unanswered_copies;
    if (r.code() == pb::STATUS_BUSY && o_.busy_pause_ms >= 0) {
      // Shed: the same request again after the pause, its clock still running.
      ++codes[fmt::format("{} {}", sent.kind, pb::StatusCode_Name(r.code()))];
      const auto pause = BusyBackoff(std::chrono::milliseconds(o_.busy_pause_ms), ++sent.busy_answers, rng_.Next());
      const uint64_t correlation = sent.request.correlation_id();
      busy_by_correlation_[correlation] = busy_.emplace(now + pause, std::move(sent));
      return;
    }
    if (now >= measure_from_ && now <= end_) ++commands;
    if (sent.sent >= measure_from_) {
      using std::chrono::microseconds;
      const int64_t latency = std::chrono::duration_cast<microseconds>(now - sent.sent).count();
      latency_us[sent.kind].Add(static_cast<uint64_t>(latency));
      if (o_.trace) {
        const int64_t sent_us = std::chrono::duration_cast<microseconds>(sent.sent - measure_from_).count();
        trace.push_back({sent_us, latency, sent.kind});
      }
    }
    ++codes[fmt::format("{} {}", sent.kind, pb::StatusCode_Name(r.code()))];
    if (r.code() == pb::STATUS_OK && sent.request.has_submit()) acked_submits.push_back(sent.request.request_id());
    Flow& f = flows_[sent.slot];
    Advance(f, sent.slot, r, now);
  }

  // Sends `sent` again, the same request, and stamps when.
  void SendAgain(InFlight& sent) {
    SendWhileReading(sent.socket, sent.request);
    ++sent.unanswered_copies;
    sent.last_sent = Clock::now();
    RememberSent(sent.last_sent, sent.request.correlation_id());
  }

  void ResendAfterBusy(InFlight& sent) {
    SendAgain(sent);
    uint64_t correlation = sent.request.correlation_id();
    inflight_.emplace(correlation, std::move(sent));
  }

  bool AwaitsEarlierCopy() const {
    return std::any_of(busy_.begin(), busy_.end(), [](const auto& b) { return b.second.unanswered_copies > 0; });
  }

  // For ResendUnanswered; nothing to remember when resending is off (the queue would only grow).
  void RememberSent(Clock::time_point at, uint64_t correlation) {
    if (o_.resend_after_ms >= 0) sent_order_.emplace_back(at, correlation);
  }

  // Sends again every request that has waited resend_after_ms since it last went out. Entries of
  // sent_order_ whose request was answered, or sent again since, are dropped as they come up.
  void ResendUnanswered(Clock::time_point now) {
    if (o_.resend_after_ms < 0) return;
    const auto after = std::chrono::milliseconds(o_.resend_after_ms);
    while (!sent_order_.empty() && sent_order_.front().first + after <= now) {
      auto [at, correlation] = sent_order_.front();
      sent_order_.pop_front();
      auto it = inflight_.find(correlation);
      if (it == inflight_.end() || it->second.last_sent != at) continue;
      // SendWhileReading only reads answers (HandleReceived handles them), so `it` stays valid.
      SendAgain(it->second);
      ++resent_;
    }
  }

  void Advance(Flow& f, size_t slot, const pb::Response& r, Clock::time_point now) {
    const bool ok = r.code() == pb::STATUS_OK;
    if (f.step == 0 && ok && r.event().linked_as_duplicate()) {
      ++linked;
      if (o_.mix != BenchMix::kSubmit) return FinishFlow(f, now);  // not ours to work or race for
    }
    if (o_.mix == BenchMix::kSubmit || o_.mix == BenchMix::kQueries) return FinishFlow(f, now);
    if (o_.mix == BenchMix::kClaimRace) {
      if (f.step == 0) {
        if (!ok || r.event().event().candidates().empty()) return FinishFlow(f, now);
        f.step = 1;
        f.event = r.event().event().id();
        f.department = r.event().event().candidates(0);
        f.waiting = o_.race_agents;
        for (int a = 0; a < o_.race_agents; ++a) {
          pb::Request claim;
          claim.mutable_claim()->set_event_id(f.event);
          claim.mutable_claim()->set_department(f.department);
          claim.mutable_claim()->set_agent(fmt::format("agent-{}-{}", index_, a));
          SendStep(slot, static_cast<size_t>(1 + a), "claim", std::move(claim), now);
        }
        return;
      }
      if (ok) ++f.winners;
      if (--f.waiting > 0) return;
      ++races;
      if (f.winners != 1) ++races_not_one_winner;
      return FinishFlow(f, now);
    }
    // Lifecycle: submit -> claim -> progress -> resolve -> feedback.
    if (!ok) return FinishFlow(f, now);
    const pb::Event& e = r.event().event();
    pb::Request next;
    const char* kind = nullptr;
    size_t socket = kAgentSocket;  // the agent claims, reports progress and resolves
    switch (f.step) {
      case 0:
        if (e.candidates().empty()) return FinishFlow(f, now);
        f.event = e.id();
        f.department = e.candidates(0);
        next.mutable_claim()->set_event_id(f.event);
        next.mutable_claim()->set_department(f.department);
        next.mutable_claim()->set_agent(fmt::format("agent-{}", index_));
        kind = "claim";
        break;
      case 1:
        f.claim = e.claim_number();
        next.mutable_progress()->set_event_id(f.event);
        next.mutable_progress()->set_claim_number(f.claim);
        next.mutable_progress()->set_note("on site");
        kind = "progress";
        break;
      case 2:
        next.mutable_resolve()->set_event_id(f.event);
        next.mutable_resolve()->set_claim_number(f.claim);
        next.mutable_resolve()->set_note("fixed");
        kind = "resolve";
        break;
      case 3:
        next.mutable_feedback()->set_event_id(f.event);
        next.mutable_feedback()->set_satisfied(true);
        next.mutable_feedback()->set_score(5);
        kind = "feedback";
        socket = 0;  // the reporter rates the result
        break;
      default:
        return FinishFlow(f, now);
    }
    ++f.step;
    SendStep(slot, socket, kind, std::move(next), now);
  }

  const BenchOptions& o_;
  int index_;
  const Seeded* seeded_;
  SplitMix64 rng_;
  std::vector<zmq::socket_t> sockets_;
  std::vector<Flow> flows_;
  std::vector<size_t> free_slots_;  // of flows_, finished
  std::unordered_map<uint64_t, InFlight> inflight_;
  uint64_t next_correlation_ = 0;
  uint64_t query_turn_ = 0;
  uint64_t unanswered_ = 0, busy_pending_ = 0, resent_ = 0, late_answers_ = 0, not_sent_ = 0;
  std::deque<std::pair<Clock::time_point, uint64_t>> sent_order_;  // (last sent, correlation), oldest first
  std::multimap<Clock::time_point, InFlight> busy_;  // to send again after BUSY, by when
  std::unordered_map<uint64_t, std::multimap<Clock::time_point, InFlight>::iterator> busy_by_correlation_;
  std::deque<std::pair<zmq::message_t, Clock::time_point>> received_;  // read, not yet handled
  Clock::time_point measure_from_, end_;
};

std::string Ms(uint64_t micros) { return fmt::format("{:.3f}", static_cast<double>(micros) / 1000.0); }

}  // namespace

Result<std::vector<std::string>> ParseQueryKinds(std::string_view list) {
  std::vector<std::string> kinds;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string kind(list.substr(0, comma));
    if (kind != "get" && kind != "list" && kind != "stats" && kind != "mine") {
      return BadRequest(fmt::format("query kind '{}' is not get, list, stats or mine", kind));
    }
    kinds.push_back(std::move(kind));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return kinds;
}

Result<BenchMix> ParseBenchMix(std::string_view name) {
  for (BenchMix m : {BenchMix::kSubmit, BenchMix::kLifecycle, BenchMix::kClaimRace, BenchMix::kQueries}) {
    if (BenchMixName(m) == name) return m;
  }
  return BadRequest(fmt::format("unknown mix '{}': submit, lifecycle, claim-race or queries", name));
}

std::string_view BenchMixName(BenchMix mix) {
  switch (mix) {
    case BenchMix::kSubmit: return "submit";
    case BenchMix::kLifecycle: return "lifecycle";
    case BenchMix::kClaimRace: return "claim-race";
    case BenchMix::kQueries: return "queries";
  }
  return "?";
}

double BenchResult::CommandsPerSyncedWrite() const {
  uint64_t writes = after.synced_writes() - before.synced_writes();
  uint64_t requests = after.commands() - before.commands();
  return writes == 0 ? 0 : static_cast<double>(requests) / static_cast<double>(writes);
}

BenchResult::CpuPerRequest BenchResult::CpuMicrosPerRequest() const {
  if (after.commands() <= before.commands() || after.cpu_micros() == 0) return {};
  const auto requests = static_cast<double>(after.commands() - before.commands());
  auto per = [&](uint64_t b, uint64_t a) { return a > b ? static_cast<double>(a - b) / requests : 0.0; };
  return {per(before.cpu_micros(), after.cpu_micros()), per(before.engine_cpu_micros(), after.engine_cpu_micros()),
          per(before.writer_cpu_micros(), after.writer_cpu_micros())};
}

Result<BenchResult> RunBench(const BenchOptions& options) {
  BenchOptions o = options;
  if (o.run_id.empty()) {
    o.run_id = fmt::format("{:x}", std::chrono::system_clock::now().time_since_epoch().count());
  }
  if (o.city == nullptr || o.city->grid_count() == 0) return BadRequest("no city to report in");
  if (o.clients < 1 || o.window < 1 || o.race_agents < 1) return BadRequest("clients, window and race agents must be >= 1");
  zmq::context_t context(2);
  BenchResult result;
  // Checked first: the bench is useless without the dispatcher's counters.
  if (auto m = FetchMetrics(context, o); !m.ok()) return m.status();
  Seeded seeded;
  if (o.mix == BenchMix::kQueries) {
    auto s = Seed(context, o);
    if (!s.ok()) return s.status();
    seeded = std::move(s).value();
  }

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.clients; ++i) workers.push_back(std::make_unique<Worker>(context, o, i, &seeded));
  Clock::time_point start = Clock::now() + std::chrono::milliseconds(200);  // every socket connected
  Clock::time_point measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_s));
  Clock::time_point end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w, start, measure_from, end] { w->Run(start, measure_from, end); });
  }
  std::this_thread::sleep_until(measure_from);
  // The trace's zero on the system clock, read now rather than after the run: a clock stepped
  // meanwhile would shift the whole trace against RocksDB's log.
  const int64_t measured_from_unix_us =
      std::chrono::duration_cast<std::chrono::microseconds>(
          (std::chrono::system_clock::now() + (measure_from - Clock::now())).time_since_epoch())
          .count();
  auto before = FetchMetrics(context, o);
  std::this_thread::sleep_until(end);
  auto after = FetchMetrics(context, o);
  for (auto& t : threads) t.join();
  if (!before.ok()) return before.status();
  if (!after.ok()) return after.status();
  result.before = std::move(before).value();
  result.after = std::move(after).value();
  result.seconds = o.duration_s;
  result.load_ended = end;
  result.measured_from_unix_us = measured_from_unix_us;
  for (auto& w : workers) {
    result.commands += w->commands;
    result.flows += w->flows;
    result.races += w->races;
    result.races_not_one_winner += w->races_not_one_winner;
    result.linked += w->linked;
    result.unanswered += w->unanswered();
    result.busy_pending += w->busy_pending();
    result.resent += w->resent();
    result.late_answers += w->late_answers();
    result.not_sent += w->not_sent();
    for (auto& [kind, h] : w->latency_us) {
      result.latency_us[kind].Merge(h);
      result.all_latency_us.Merge(h);
    }
    for (auto& [code, n] : w->codes) result.codes[code] += n;
    for (auto& id : w->acked_submits) result.acked_submits.push_back(std::move(id));
    result.trace.insert(result.trace.end(), w->trace.begin(), w->trace.end());
  }
  std::sort(result.trace.begin(), result.trace.end(),
            [](const TracedAnswer& a, const TracedAnswer& b) { return a.sent_us < b.sent_us; });
  return result;
}

std::string FormatBench(const BenchOptions& o, const BenchResult& r) {
  std::string out = fmt::format(
      "mix {}, {} clients, {}, {:.0f} s measured after {:.0f} s warm-up\n", BenchMixName(o.mix),
      o.clients, o.rate > 0 ? fmt::format("open loop at {:.0f} commands/s offered", o.rate)
                            : fmt::format("closed loop, {} in flight each", o.window),
      o.duration_s, o.warmup_s);
  out += fmt::format("throughput {:.0f} commands/s ({} commands, {} flows); {}\n", r.throughput(), r.commands,
                     r.flows, r.CommandsPerSyncedWrite() > 0
                                  ? fmt::format("{:.1f} requests per synced write", r.CommandsPerSyncedWrite())
                                  : std::string("no synced write"));
  out += fmt::format("{:<10} {:>9} {:>9} {:>9} {:>9} {:>9}   (ms, from the {} send time)\n", "latency",
                     "n", "p50", "p99", "p99.9", "max", o.rate > 0 ? "intended" : "actual");
  auto row = [&](const std::string& name, const HistogramSnapshot& h) {
    out += fmt::format("{:<10} {:>9} {:>9} {:>9} {:>9} {:>9}\n", name, h.count(), Ms(h.Percentile(0.5)),
                       Ms(h.Percentile(0.99)), Ms(h.Percentile(0.999)), Ms(h.max()));
  };
  row("all", r.all_latency_us);
  for (const auto& [kind, h] : r.latency_us) row(kind, h);
  out += "answers, warm-up included:\n";
  for (const auto& [code, n] : r.codes) out += fmt::format("  {:<40} {:>10}\n", code, n);
  if (r.linked > 0) out += fmt::format("  submits linked to an open event as duplicates: {}\n", r.linked);
  if (o.mix == BenchMix::kClaimRace) {
    out += fmt::format("claim races: {}, with other than exactly one winner: {}\n", r.races, r.races_not_one_winner);
  }
  if (r.unanswered > 0) out += fmt::format("UNANSWERED: {}\n", r.unanswered);
  if (r.busy_pending > 0) out += fmt::format("answered BUSY last, not retried after the end: {}\n", r.busy_pending);
  if (r.not_sent > 0) {
    out += fmt::format("NOT OFFERED: {} flows due before the end were never sent (the bench fell behind)\n", r.not_sent);
  }
  if (r.resent > 0) {
    out += fmt::format("sent again after {} ms without an answer: {} (answers to a copy already answered: {})\n",
                       o.resend_after_ms, r.resent, r.late_answers);
  }
  const pb::HistogramSummary& w = r.after.synced_write_micros();
  out += fmt::format("dispatcher (whole run): synced write p50 {} ms p99 {} ms; batch size p50 {} p99 {} max {}\n",
                     Ms(w.p50()), Ms(w.p99()), r.after.batch_size().p50(), r.after.batch_size().p99(),
                     r.after.batch_size().max());
  // The part of the latency above from a request's read off the dispatcher's socket to its answer
  // (not the wait in the socket before it, which is partly the dispatcher's own: wire.proto).
  const pb::HistogramSummary& a = r.after.answer_micros();
  out += fmt::format("dispatcher (whole run): answer time, read to answer, p50 {} ms p99 {} ms p99.9 {} ms max {} ms\n",
                     Ms(a.p50()), Ms(a.p99()), Ms(a.p999()), Ms(a.max()));
  if (const BenchResult::CpuPerRequest cpu = r.CpuMicrosPerRequest(); cpu.process_us > 0) {
    out += fmt::format("dispatcher (measured): CPU per request {:.1f} us, of which the engine thread {:.1f} us "
                       "and the writer thread {:.1f} us\n",
                       cpu.process_us, cpu.engine_us, cpu.writer_us);
  }
  return out;
}

std::string BenchJson(const BenchOptions& o, const BenchResult& r) {
  std::string kinds;
  for (const auto& [kind, h] : r.latency_us) {
    kinds += fmt::format(R"({}"{}":{{"n":{},"p50_ms":{},"p99_ms":{},"p999_ms":{},"max_ms":{}}})",
                         kinds.empty() ? "" : ",", kind, h.count(), Ms(h.Percentile(0.5)),
                         Ms(h.Percentile(0.99)), Ms(h.Percentile(0.999)), Ms(h.max()));
  }
  const HistogramSnapshot& a = r.all_latency_us;
  const BenchResult::CpuPerRequest cpu = r.CpuMicrosPerRequest();
  return fmt::format(
      R"({{"mix":"{}","clients":{},"window":{},"rate":{},"seconds":{},"commands":{},"throughput":{:.0f},)"
      R"("commands_per_synced_write":{:.2f},"p50_ms":{},"p99_ms":{},"p999_ms":{},"max_ms":{},)"
      R"("races":{},"races_not_one_winner":{},"linked":{},"unanswered":{},"busy_pending":{},"resent":{},)"
      R"("late_answers":{},"not_sent":{},"cpu_us_per_request":{:.2f},"engine_cpu_us_per_request":{:.2f},)"
      R"("writer_cpu_us_per_request":{:.2f},"by_kind":{{{}}}}})",
      BenchMixName(o.mix), o.clients, o.window, o.rate, o.duration_s, r.commands, r.throughput(),
      r.CommandsPerSyncedWrite(), Ms(a.Percentile(0.5)), Ms(a.Percentile(0.99)), Ms(a.Percentile(0.999)),
      Ms(a.max()), r.races, r.races_not_one_winner, r.linked, r.unanswered, r.busy_pending, r.resent,
      r.late_answers, r.not_sent, cpu.process_us, cpu.engine_us, cpu.writer_us, kinds);
}

}  // namespace whistle
