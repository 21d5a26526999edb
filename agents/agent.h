// Agent: a department's duty desk (or many departments' at once).
//
// It follows the log in sequence order (Subscriber: no record is missed or seen twice, even
// across drops and restarts), and reacts to what concerns its departments:
//   offered a task (Dispatched)  -> claim it after a delay, or return it, or let it lapse
//   won a claim (Claimed)        -> report progress, then resolve, whistle, or let it lapse
// With a key, the dispatcher gives it only the records of events within its departments'
// jurisdiction (the bus refuses an agent; its Subscriber reads the log through the front door).
// The behaviour (delays as shares of the deadline window, shares of returns, whistles and lapses)
// is configurable so that a simulated city really climbs its ladder. Delays are drawn in the
// dispatcher's (possibly scaled) time and waited in real time divided by `time_scale`.
// Not thread-safe: one Agent per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "agents/client.h"
#include "whistle/random.h"

namespace whistle {

struct AgentBehaviour {
  double lapse_share = 0.1;       // offers left to reach the claim deadline
  double return_share = 0.03;     // offers returned as "not ours" (never at city level)
  double whistle_share = 0.03;    // claims escalated by the holder (never at city level)
  double unresolved_share = 0.05; // claims left to reach the resolve deadline
  bool claim_only = false;        // claim at once and do nothing more (claim races)
  bool eager = false;             // act at once: claim, report progress and resolve without delay
  double time_scale = 1;          // dispatcher time runs this many times faster than real time
  uint64_t seed = 1;
  ClientCredentials credentials;  // the desk's key: a principal acting for its departments
};

// What Agent::Start saw of each event its lists showed: the length of the event's history then.
// Start reads the log's end before it lists, so a change made between the two comes both ways: in
// a list, acted on at once, and on the feed after. The feed's records the lists already showed
// (event_seq below that length) are not acted on again.
class SeenAtStart {
 public:
  // Notes an event a list showed; false when one already did (an event offered to two of the
  // agent's departments is in both lists), keeping the first sighting, which Start acted on.
  bool Note(uint64_t event_id, uint32_t history_size) { return history_size_.emplace(event_id, history_size).second; }
  // True for a record a list already showed; an event is forgotten once the feed is past it.
  bool Shown(const pb::Record& record);

 private:
  std::map<uint64_t, uint32_t> history_size_;
};

struct AgentCounts {
  uint64_t offers = 0, claims_won = 0, claims_lost = 0, returns = 0, whistles = 0, resolves = 0;
  uint64_t refused = 0;  // other rejections: the event moved on before the action landed
  std::map<std::string, uint64_t> lost_to;  // ALREADY_CLAIMED messages name the winner
};

class Agent {
 public:
  Agent(zmq::context_t& context, const std::string& front, const std::string& bus, std::string name,
        std::set<std::string> departments, AgentBehaviour behaviour);

  // Takes the snapshot: tasks offered to its departments before it started, and tasks it (by
  // name) claimed before a restart (List); then follows the log from the newest record on.
  // Call once before RunUntil.
  Status Start();
  // Runs until `until` (steady clock) or until `done` returns true, checked between records.
  Status RunUntil(std::chrono::steady_clock::time_point until,
                  const std::function<bool(const AgentCounts&)>& done = nullptr);
  const AgentCounts& counts() const { return counts_; }

 private:
  struct Action {
    std::chrono::steady_clock::time_point at;
    uint64_t order;
    pb::Request request;
    bool operator>(const Action& o) const { return at != o.at ? at > o.at : order > o.order; }
  };

  double Uniform();
  std::chrono::steady_clock::time_point After(int64_t simulated_ms) const;
  void Schedule(std::chrono::steady_clock::time_point at, pb::Request request);
  void React(const pb::Record& record);
  void Perform(const pb::Request& request);

  std::string name_;
  std::set<std::string> departments_;
  AgentBehaviour behaviour_;
  Client client_;
  zmq::context_t& context_;
  std::string bus_;
  std::optional<Subscriber> subscriber_;
  SplitMix64 rng_;
  uint64_t order_ = 0;
  std::priority_queue<Action, std::vector<Action>, std::greater<>> actions_;
  std::map<uint64_t, pb::Dispatched> dispatch_;  // current dispatch of events offered to us
  SeenAtStart seen_at_start_;
  AgentCounts counts_;
};

}  // namespace whistle
