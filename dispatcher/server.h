// Server: the dispatcher on ZeroMQ. One engine thread (the caller of Run) owns the engine.
//
//   front door  ROUTER  request/reply: each message one pb::Request, answered by one pb::Response
//                       carrying the request's correlation id
//   bus         XPUB    [topic, pb::Notification] for every committed record, in sequence order
//                       (an XPUB only so that each subscription comes up with whose it is:
//                       "Cutting off a subscriber" below)
//
// Each turn of the loop: wait for requests or the next timer; drain what is waiting (bounded);
// decide it (one engine round); when the writer thread (storage::BatchWriter) is free, seal every
// round decided since its last write into ONE batch (one synced write) and hand it over. While that
// write syncs, the next turns decide the next rounds: the pipeline overlaps deciding with writing,
// never answering with writing. A batch of fewer than `min_requests_for_writer` (32) requests,
// timers fired and events re-planned together is written by the loop itself: too little to overlap,
// it would only pay for the hand-off. Once `max_batch` requests are staged, the loop waits for the
// write in flight instead of staging more (shedding meanwhile: see Overload). What the server
// answers itself from the engine's state (a refused principal or ticket, MetricsQuery, TicketQuery)
// waits for the write of its round too, and the ZAP handler is given the keys of a batch only once
// it is written. A round's replies are sent, and its records published, only after the write of its
// batch returned OK (Engine::Decide / Seal / Complete). A round with an authorized query that would
// read unwritten changes through a cursor (Engine::WaitsForWrites) first waits until everything
// decided before it is written.
// Bad frames (not a Request, too large) are answered BAD_REQUEST / TOO_LARGE at once and never
// reach the engine. Overload: a turn takes at most `max_batch` requests into its batch; when more
// are waiting, it reads up to `busy_window` of them too, answers the Submits among them BUSY at
// once (the client retries with the same request id) and keeps the rest in the batch: claims,
// progress, resolves and timers are never shed, and nothing is dropped silently. Requests staged
// for the busy writer count towards that `max_batch`, so the submits in one write stay under it.
// Work in progress first: while the last turn that read anything took a batch's worth of commands
// other than Submits, a turn admits no Submit at all (submit_admission.h). While a full
// batch is staged and the loop waits for the writer, it goes on reading: Submits get BUSY, the
// rest (up to `busy_window`) is held for the next turn. A Submit is shed from the wire bytes,
// without parsing it (request_peek.h): a client with an overloaded dispatcher learns so at once
// (a malformed one may hear BUSY first and BAD_REQUEST when it tries again).
// The server never waits for a client: the one engine thread serves everyone, so a client that
// stops reading its answers must not stop it (nor deadlock with a client that blocks sending
// while the server blocks answering it). When a client already has ZMQ_SNDHWM (1,000) answers
// waiting, a new one is dropped and counted (MetricsResult.dropped_replies); the client gets it
// by sending the request again with the same request id, as after any lost answer.
//
// Topics: "all" (every record), "d/<department>" (records of events the department is offered,
// leads or assists), "r/<region code>" (events in the region: grid, community, street, county,
// city), "e/<event id>". A subscriber that sees a gap in sequence numbers, or starts
// late, reads what it missed through the front door (LogQuery).
//
// Authentication: with a server key, both sockets are CURVE servers, with the ZAP domains
// "whistle" (front door) and "whistle-bus", and a ZapHandler (zap.h) lets in the active
// principals' keys; on the bus only those that read the whole log (authorization.h, "The log").
// MetricsResult counts the handshakes it refused on each socket. Each request acts as
// the principal named by its connection's User-Id, looked up again in the engine's table for
// every request, so a revoked key stops working at once, on connections already open too
// (UNAUTHENTICATED). Start() refuses to serve unless a client with an unknown key is refused on
// both sockets. Without a server key (--dev-no-auth) every request acts as "dev", role ROLE_DEV.
// Cutting off a subscriber: once a batch that revoked principals is written, and before it is
// answered or published, their bus connections are shut down (bus_peers.h), and so are those
// not yet known to be anyone's (in their handshake, or not subscribed); they reconnect, and the
// handshake refuses the revoked keys. (Without this a PUB socket would go on feeding a lost phone
// until its TCP connection dropped.) So with keys the bus must be tcp://.
// MetricsResult.bus_connections_cut counts the connections cut.
// Half-open connections: handshakes must finish within `handshake_ms`; TCP keepalive drops an
// idle peer whose host stopped answering after about idle + interval x count (10 + 5 x 4 = 30 s),
// and TCP_USER_TIMEOUT one with data unacknowledged for `unacknowledged_timeout_ms` (30 s).
// Not ZMTP heartbeats: libzmq 4.3.4 aborts the whole process (assertion !_io_error in
// stream_engine_base.cpp) when a heartbeat falls due on a connection whose peer left while its
// input was stopped, its queue into this socket full. Any client could do that by sending faster
// than the dispatcher reads and disconnecting; under overload every client does it by accident.
//
// Held log reads: a LogQuery with wait_ms that finds nothing its reader may read after after_seq
// (no record, or fewer than a page, all withheld: authorization.h, "The log") is not answered
// when its batch is written. The server holds it (held_reads.h) until a record its reader may
// read is written, and then decides it again, as if it had just come; or until its wait ends,
// and then decides it again and answers whatever that finds. So an idle follower costs one
// request a wait instead of one a poll interval (agents/client.h, Subscriber). Answered at once
// as usual: a read whose mark differs, or whose after_seq is past the log's end (a restored
// dispatcher: the follower must learn it now), or one past the limits: `max_held_log_reads` held
// in all, `max_held_log_reads_per_principal` for one principal. A read held is decided again with
// its actor as it was read: the engine checks again that the principal is not revoked, and
// StillActs that a console carrying a person's ticket is not, and that the ticket is still good.
// Woken reads are decided again `max_batch` a turn at most. At a stop, each read held is
// answered UNAVAILABLE: read again. The waits are the server's own, in the steady clock's time,
// not the engine's: a read waits the same whatever the engine's clock does (--time-scale).
//
// Metrics (metrics.h): MetricsQuery is answered here, at once, after the same authorization as
// every request; it is never part of a batch. So is TicketQuery (tickets.h), which needs the
// server's key.
// Console: a request from a console principal that carries an acting_ticket acts as the
// ticket's principal, checked on every request (a revoked principal's tickets stop at once).
//
// Threading: Run() on one thread; Stop() from any thread or a signal handler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

#include "dispatcher/bus_peers.h"
#include "dispatcher/engine.h"
#include "dispatcher/held_reads.h"
#include "dispatcher/metrics.h"
#include "dispatcher/submit_admission.h"
#include "dispatcher/tickets.h"
#include "dispatcher/zap.h"
#include "storage/batch_writer.h"
#include "whistle/curve_keys.h"
#include "whistle/status.h"

namespace whistle {

struct ServerOptions {
  std::string front_endpoint = "tcp://127.0.0.1:5570";
  std::string bus_endpoint = "tcp://127.0.0.1:5571";
  size_t max_request_bytes = 64 * 1024;  // larger requests get TOO_LARGE
  size_t max_batch = 512;                // requests applied in one batch
  size_t busy_window = 4096;             // requests read past a full batch; their Submits get BUSY
  // A batch of fewer requests (timers fired and events re-planned counted with them) is written by
  // the loop itself, not the writer thread: too little to overlap (the claim-race bench ran 18%
  // slower handing those over). Tests set 1.
  size_t min_requests_for_writer = 32;
  // The front door's kernel receive buffer per connection (SO_RCVBUF, which Linux doubles), fixed
  // rather than autotuned to megabytes: what a client sends faster than the loop reads waits on
  // the client's side, where it shows, not unread in this host's memory where no BUSY reaches it.
  int front_receive_buffer_bytes = 128 * 1024;
  // The dispatcher's CURVE key pair; nullopt = --dev-no-auth: no authentication, every request
  // acts as `dev_principal` with ROLE_DEV.
  std::optional<pb::KeyFile> server_key;
  std::string dev_principal = "dev";
  int handshake_ms = 10000;
  int keepalive_idle_s = 10;      // TCP keepalive: silence before the first probe
  int keepalive_interval_s = 5;   // between probes
  int keepalive_probes = 4;       // unanswered probes before the connection is dropped
  // A connection whose sent data stays unacknowledged this long is dropped (TCP_USER_TIMEOUT):
  // keepalive probes only an idle connection, and a subscriber's is rarely idle.
  int unacknowledged_timeout_ms = 30000;
  // Log reads held for their next record at once, at most, and at most for one principal (a
  // console's count the console's: HeldReads::Holder) ("Held log reads" above).
  size_t max_held_log_reads = 10000;
  size_t max_held_log_reads_per_principal = 16;
};

class Server {
 public:
  // Binds both sockets. REQUIRES: `engine` outlives the server.
  static Result<std::unique_ptr<Server>> Start(zmq::context_t& context, Engine& engine,
                                               ServerOptions options);
  // The endpoints actually bound (a ":*" port resolved to the one the OS chose).
  const std::string& front_endpoint() const { return front_endpoint_; }
  const std::string& bus_endpoint() const { return bus_endpoint_; }
  const ServerMetrics& metrics() const { return metrics_; }

  // Serves until Stop(): finishes the batch in hand, then returns. Returns the engine's health
  // (not OK when a write failed and the engine stopped).
  Status Run();
  void Stop() { stop_.store(true); }

 private:
  Server(zmq::context_t& context, Engine& engine, ServerOptions options);
  // A request the server answered itself from the engine's state (a refused principal or ticket,
  // MetricsQuery, TicketQuery).
  struct Answered {
    zmq::message_t identity;
    pb::Request request;
    pb::Response reply;
    std::chrono::steady_clock::time_point read_at;  // off the front socket
  };
  // One turn's requests, decided; their replies wait for the write of the batch they are in.
  struct Round {
    std::vector<zmq::message_t> identities;  // of each command's client
    std::vector<Command> commands;
    std::vector<pb::Response> replies;
    std::vector<std::chrono::steady_clock::time_point> read_at;  // of each command, off the socket
    // Of each command: when the wait of a held read decided again ends; nullopt for a request
    // just read (a LogQuery's wait then starts at read_at).
    std::vector<std::optional<std::chrono::steady_clock::time_point>> held_until;
    std::vector<Answered> answered;
    std::chrono::steady_clock::time_point started;
  };
  struct Outgoing {
    std::vector<std::string> topics;
    std::string bytes;  // a pb::Notification
    HeldReads::Written written;  // the record's number and its event's grid (the city's string)
  };
  // Rounds sealed into one batch and handed to the writer.
  struct InFlight {
    std::vector<Round> rounds;
    SealedBatch batch;
    std::vector<Outgoing> notifications;  // of batch.records (none once the engine has stopped)
    bool on_writer = false;  // being written by the writer thread
    Status written;          // otherwise, the write's status (OK: nothing to write)
    OpenCounts open_when_sealed;          // for the metrics, once written
    uint64_t principals_version = 0;
    // The active keys when sealed, if they changed: for the ZAP handler, once written.
    std::optional<std::unordered_map<std::string, ZapKey>> zap_keys;
  };

  // One message off the front socket whose shape and size passed, not yet parsed.
  struct Incoming {
    zmq::message_t identity;
    zmq::message_t payload;  // a pb::Request, unless the parse says otherwise
    std::chrono::steady_clock::time_point read_at;
  };
  enum class Intake {
    kNone,      // nothing waiting
    kAnswered,  // answered at once: malformed, too large, or shed (BUSY)
    kTaken,     // for the caller
  };

  void Turn();
  // Reads one message without waiting. Answers it at once when it is not [identity, payload],
  // too large, or (with `shed_submits`) a Submit, BUSY; otherwise hands it over as `*in`.
  Intake ReadRequest(bool shed_submits, Incoming* in);
  // Overload: a full batch is staged and the writer is behind. Waits for the write in flight
  // while answering BUSY to the Submits that arrive meanwhile, holding anything else (at most
  // busy_window) for the next turn; then completes the write (FinishInFlight).
  void ShedUntilWritten();
  // The requests (not the server's own answers) of `rounds`.
  static size_t RequestsIn(const std::vector<Round>& rounds);
  // Seals the staged rounds into one batch and starts its write. REQUIRES: nothing in flight.
  void HandOff();
  // Waits for the batch in flight to be written, completes it, answers and publishes it.
  void FinishInFlight();
  // Writes and answers everything decided: the batch in flight, then the staged rounds.
  void Drain();
  // Whether reply `i` of `r` (whose batch is written) is a log read to hold rather than answer
  // ("Held log reads"); if so, takes it from `r` into held_reads_ (or woken_, when a record of the
  // last two batches wakes it already).
  bool HoldRead(Round& r, size_t i, std::chrono::steady_clock::time_point now);
  // At the end of Run: answers every read held, and every one woken and not yet decided again,
  // UNAVAILABLE.
  void EndHeldReads();
  // Whether a held read about to be decided again may still act as its actor: a console that
  // carried a person's ticket must still be active, and the ticket good (the engine checks the
  // person).
  Status StillActs(const Command& read) const;
  // The bus messages for `records`, with the state of their events as the engine has it now.
  std::vector<Outgoing> Notifications(const std::vector<pb::Record>& records) const;
  void Publish(const std::vector<Outgoing>& notifications);
  // Proves that a client with an unknown key is refused on both sockets.
  Status SelfTest();
  // The active principals' keys (raw public key -> ZapKey), as the engine has them now.
  std::unordered_map<std::string, ZapKey> ActiveKeys() const;
  // Gives the ZAP handler `keys`, of the principals' `version`, when that is new, and cuts off
  // the bus connections of principals that may no longer subscribe.
  void SetZapKeys(std::unordered_map<std::string, ZapKey> keys, uint64_t version);
  // Reads the subscriptions waiting on the bus: remembers whose connection each came on, and cuts
  // it at once when that principal may no longer subscribe.
  void ReadSubscriptions();
  // Reads both sockets' monitor events: the connection counts, and the bus's connections for
  // BusPeers.
  void ReadConnectionEvents();
  // Shuts down the remembered bus connections not named for a principal in bus_principals_.
  void CutBusPeers();
  // The actor a request acts as: the principal its connection authenticated as. UNAUTHENTICATED
  // when the principal is unknown or revoked.
  // A request with an acting_ticket from a console principal acts as the ticket's principal
  // (tickets.h), with Actor.via naming the console.
  Result<pb::Actor> ActorOf(zmq::message_t& payload, const pb::Request& request) const;
  // The answer to a TicketQuery (already authorized).
  pb::Response IssueTicket(const pb::Actor& actor, const pb::TicketQuery& q) const;
  // Sends one answer without waiting; counts it as dropped when the client's queue is full or
  // the client has left.
  void Answer(const zmq::message_t& identity, const pb::Response& r);

  Engine& engine_;
  ServerOptions options_;
  zmq::context_t& context_;
  ServerMetrics metrics_;  // before zap_: its thread counts into it until it stops
  std::unique_ptr<ZapHandler> zap_;  // before the sockets: they must close first
  uint64_t zap_keys_version_ = UINT64_MAX;
  zmq::socket_t front_;
  zmq::socket_t bus_;
  zmq::socket_t front_monitor_;  // socket monitor events: connections accepted and closed
  zmq::socket_t bus_monitor_;
  int64_t front_connections_ = 0;
  int64_t bus_connections_ = 0;
  int bus_fd_ = -1;     // the bus socket's ZMQ_FD
  BusPeers bus_peers_;  // with a server key: the bus's connections, named by their subscriptions
  // The principals the ZAP handler lets on the bus now (its last SetKeys).
  std::unordered_set<std::string> bus_principals_;
  TicketSigner tickets_;
  std::string front_endpoint_;
  std::string bus_endpoint_;
  std::atomic<bool> stop_{false};
  std::optional<InFlight> in_flight_;
  std::vector<Round> staged_;  // decided, not yet sealed: the writer is busy with in_flight_
  std::vector<Incoming> held_;  // read by ShedUntilWritten, not shed: first in the next turn
  SubmitAdmission admission_{options_.max_batch};  // which Submits a turn takes (Turn)
  HeldReads held_reads_{engine_.city()};
  // Held reads woken (or whose wait ended), to decide again first in the next turn.
  std::vector<HeldReads::Read> woken_;
  // Last, so it is destroyed first: it waits for a write in progress, whose batch in_flight_ owns.
  storage::BatchWriter writer_;
};

}  // namespace whistle
