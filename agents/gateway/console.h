// The operations console's server side (指挥平台): who is logged in, what each open page is
// sent, and the JSON the page reads. The page itself is agents/gateway/console/ (embedded in the
// binary); its routes are console_routes.cc; docs/OPERATIONS.md describes it for operators.
//
//   dispatcher bus ──► ConsoleHub thread ──► every open page (server-sent events):
//                          │                   "record"  each record, as it is written
//                          └─ BoardQuery ────► "board"   the counts, when they changed (≤ 4/s);
//                                                        only the grids that changed
//                                                        ("grids_delta": true), but to a
//                                                        page just opened the whole board
//
// Logging in: a person asks the dispatcher for a ticket with their own key (whistlectl
// console-ticket) and pastes it; the gateway checks it with the dispatcher (WhoAmI carried on
// the ticket) and keeps a session, named by a random cookie. The ticket is checked again at
// least every 30 s while the session is used, so a revoked principal is logged out within that. Pages read through the console's
// own principal (role console); Supervise and SetMode are carried on the person's ticket, so
// the dispatcher authorizes them as that person and records them as theirs, via the console.
//
// Threading: ConsoleSessions and ConsoleHub are safe from any thread; the hub runs one thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "agents/client.h"
#include "dispatcher/city.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle::gateway {

// ----------------------------------------------------------------- JSON for the page
// The city's regions, grids (with polygons), categories and departments.
nlohmann::json CityJson(const City& city);
nlohmann::json BoardJson(const pb::BoardResult& board);
// An event in a list: id, category, grid, state, level, overdue, supervised, times, lead, text.
nlohmann::json EventBriefJson(const pb::Event& e);
// An event's page: the event, its pending deadlines, its timeline (the newest records: a Get's
// page) and how many older ones it leaves out (older_history).
nlohmann::json EventPageJson(const pb::EventView& view);
// One record: seq, at_ms, event_id, kind (the body's field name), actor, body (protobuf JSON);
// with the notification's level, state and grid when it has them.
nlohmann::json RecordJson(const pb::Notification& n);
nlohmann::json RanksJson(const pb::RanksResult& ranks);
nlohmann::json PrincipalJson(const pb::Principal& p);

// ----------------------------------------------------------------- sessions
struct ConsoleSession {
  std::string ticket;
  pb::Principal principal;
  std::chrono::system_clock::time_point expires;
  std::chrono::steady_clock::time_point checked;  // when the dispatcher last accepted the ticket
};

// A principal keeps at most this many sessions: a login past them ends its session nearest to
// expiry (and the caller closes that session's pages), so logging in again and again cannot fill
// the gateway's memory.
inline constexpr size_t kMaxSessionsPerPrincipal = 8;

class ConsoleSessions {
 public:
  explicit ConsoleSessions(std::chrono::hours max_length);
  // A new session for a checked ticket; returns its id (256 random bits, hex). The principal's
  // sessions it ends to stay within kMaxSessionsPerPrincipal are added to `ended`.
  std::string Open(std::string ticket, pb::Principal principal, std::vector<std::string>* ended);
  // The session, if it exists and has not expired.
  std::optional<ConsoleSession> Find(const std::string& id);
  // The dispatcher accepted the session's ticket again just now.
  void Checked(const std::string& id);
  void Close(const std::string& id);
  size_t size();

 private:
  std::chrono::hours max_length_;
  std::mutex mu_;
  std::map<std::string, ConsoleSession> sessions_;
};

// The expiry written in a dispatcher ticket (dispatcher/tickets.h), or nullopt when it has none.
std::optional<int64_t> TicketExpiryMs(std::string_view ticket);

// ----------------------------------------------------------------- live pages
// One open page's queue of server-sent events.
class ConsoleStream {
 public:
  ConsoleStream(std::string session, std::string principal)
      : session_(std::move(session)), principal_(std::move(principal)) {}
  const std::string& session() const { return session_; }
  const std::string& principal() const { return principal_; }
  // Queues one event; a page that fell 1,000 events behind is closed (its browser reconnects and
  // starts again from a fresh board).
  void Push(const std::string& event);
  // Waits up to `wait` for events; returns them (empty: none came). nullopt: closed.
  std::optional<std::string> Take(std::chrono::milliseconds wait);
  void Close();
  bool closed();

 private:
  static constexpr size_t kMaxQueued = 1000;
  const std::string session_;
  const std::string principal_;  // the session's principal's name
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queued_;
  bool closed_ = false;
};

class ConsoleHub {
 public:
  // Follows the bus from now on, as the console's principal (`credentials`).
  ConsoleHub(zmq::context_t& context, std::string bus_endpoint, std::string front_endpoint,
             ClientCredentials credentials, size_t max_streams);
  ~ConsoleHub();  // Stop()

  // A new page's stream for a session of `principal`, already holding the latest board and the
  // recent records. UNAVAILABLE when max_streams pages are open, or when the principal has its
  // share open already (a quarter of max_streams, at least one): one login's pages cannot take
  // every place from the rest.
  Result<std::shared_ptr<ConsoleStream>> Open(const std::string& session, const std::string& principal);
  // Ends the streams of a session (its logout).
  void CloseSession(const std::string& session);
  void Stop();
  size_t streams();
  uint64_t records_pushed() const { return records_pushed_.load(); }
  // Boards got from the dispatcher: whole ones, and those of only the grids changed since the last.
  uint64_t boards_whole() const { return boards_whole_.load(); }
  uint64_t boards_of_changes() const { return boards_of_changes_.load(); }

 private:
  void Run();
  void Broadcast(const std::string& event);
  // Asks for the board (the grids changed since the last one, or `whole`) and sends the pages what
  // changed; the board's last_seq, or nullopt when the dispatcher did not answer.
  std::optional<uint64_t> RefreshBoard(Client& client, bool whole = false);

  zmq::context_t& context_;
  std::string bus_endpoint_;
  std::string front_endpoint_;
  ClientCredentials credentials_;
  size_t max_streams_;

  std::mutex mu_;
  std::vector<std::shared_ptr<ConsoleStream>> streams_;
  uint64_t board_seq_ = 0;  // the last board's last_seq and grids_epoch (the hub's thread only)
  uint64_t board_epoch_ = 0;
  std::optional<pb::BoardResult> board_;  // the last board but its grids
  std::map<std::string, std::array<uint32_t, 3>> last_grids_;  // open, overdue, supervised
  std::string board_event_;           // the whole board as a "board" event; "": to be made again
  std::string board_counts_;          // the last delta's counts, to send one only when they changed
  std::deque<std::string> recent_;    // the latest "record" events, for pages opened later
  std::atomic<uint64_t> records_pushed_{0};
  std::atomic<uint64_t> boards_whole_{0};
  std::atomic<uint64_t> boards_of_changes_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace whistle::gateway
