#include "agents/gateway/console.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <set>
#include <string_view>

#include "dispatcher/authorization.h"
#include "dispatcher/lifecycle.h"
#include "dispatcher/privacy.h"
#include "whistle/check.h"

namespace whistle::gateway {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr size_t kRecentRecords = 100;
constexpr auto kBoardEvery = 250ms;       // at most four boards a second while records flow
constexpr auto kBoardAtLeastEvery = 5s;   // and one every few seconds regardless
constexpr auto kRetry = 1s;
// The hub's calls give up quickly: a board that failed is asked for again at the next turn, and
// a gateway stopping while the dispatcher is away must not wait out long retries.
const ClientOptions kHubCalls{.timeout = 1000ms, .attempts = 2, .busy_pause = 100ms, .credentials = {}};

json ProtoJson(const google::protobuf::Message& m) {
  std::string text;
  // Cannot fail for our messages (no Any fields).
  (void)google::protobuf::util::MessageToJsonString(m, &text);
  return json::parse(text);
}

json ActorJson(const pb::Actor& a) {
  return {{"principal", a.principal()},
          {"role", std::string(RoleName(a.role()))},
          {"department", a.department()},
          {"via", a.via()}};
}

std::string SseEvent(std::string_view name, const json& data) {
  return fmt::format("event: {}\ndata: {}\n\n", name, data.dump());
}

}  // namespace

json CityJson(const City& city) {
  const pb::CityConfig& c = city.config();
  json regions = json::array(), grids = json::array(), categories = json::array(), departments = json::array();
  for (const pb::Region& r : c.regions()) {
    if (r.level() == pb::LEVEL_GRID) {
      json polygon = json::array();
      for (const pb::Point& p : r.polygon().vertices()) polygon.push_back({p.lon(), p.lat()});
      grids.push_back({{"code", r.code()}, {"name", r.name()}, {"parent", r.parent()}, {"polygon", polygon}});
    } else {
      regions.push_back({{"code", r.code()}, {"name", r.name()}, {"level", LevelName(r.level())},
                         {"parent", r.parent()}});
    }
  }
  for (const pb::Category& k : c.categories()) {
    categories.push_back({{"code", k.code()}, {"name", k.name()}, {"name_en", k.name_en()}});
  }
  for (const pb::Department& d : c.departments()) {
    departments.push_back({{"id", d.id()}, {"name", d.name()}, {"level", LevelName(d.level())},
                           {"jurisdiction", d.jurisdiction()}});
  }
  return {{"code", c.city_code()},       {"name", c.name()},
          {"utc_offset_minutes", city.settings().utc_offset_minutes()},
          {"regions", regions},           {"grids", grids},
          {"categories", categories},     {"departments", departments}};
}

json BoardJson(const pb::BoardResult& b) {
  json cells = json::array(), grids = json::array();
  for (const pb::BoardCell& c : b.cells()) {
    cells.push_back({{"level", LevelName(c.level())}, {"state", StateKey(c.state())}, {"count", c.count()}});
  }
  for (const pb::GridCount& g : b.grids()) {
    grids.push_back({{"grid", g.grid()}, {"open", g.open()}, {"overdue", g.overdue()}, {"supervised", g.supervised()}});
  }
  return {{"last_seq", b.last_seq()},       {"open", b.open()},
          {"overdue", b.overdue()},         {"supervised", b.supervised()},
          {"cells", cells},                 {"grids", grids},
          {"overdue_ids", b.overdue_ids()}, {"supervised_ids", b.supervised_ids()}};
}

json EventBriefJson(const pb::Event& e) {
  return {{"id", e.id()},
          {"category", e.report().category()},
          {"grid", e.grid()},
          {"state", StateKey(e.state())},
          {"level", LevelName(e.level())},
          {"overdue", e.overdue()},
          {"supervised", e.supervised()},
          {"created_at_ms", e.created_at_ms()},
          {"lead", e.lead()},
          {"description", e.report().description()},
          {"address", e.report().address()}};
}

json EventPageJson(const pb::EventView& view) {
  const pb::Event& e = view.event();
  json event = EventBriefJson(e);
  event["candidates"] = e.candidates();
  event["assists"] = e.assists();
  event["claim_number"] = e.claim_number();
  event["claim_deadline_ms"] = e.claim_deadline_ms();
  event["resolve_deadline_ms"] = e.resolve_deadline_ms();
  event["escalations"] = e.escalations();
  event["feedback"] = e.has_feedback() ? ProtoJson(e.feedback()) : json(nullptr);
  // The deadlines still ahead of it: a claim deadline while nobody holds it, a resolve deadline
  // until it is resolved, the quiet period after it is resolved. The engine arms the earliest.
  json pending = json::array();
  auto add = [&](std::string_view kind, int64_t due) {
    if (due > 0) pending.push_back({{"kind", kind}, {"due_ms", due}, {"armed", due == e.timer_due_ms()}});
  };
  switch (e.state()) {
    case pb::STATE_DISPATCHED:
      add("claim_deadline", e.claim_deadline_ms());
      add("resolve_deadline", e.resolve_deadline_ms());
      break;
    case pb::STATE_CLAIMED:
    case pb::STATE_IN_PROGRESS:
      add("resolve_deadline", e.resolve_deadline_ms());
      break;
    case pb::STATE_RESOLVED:
      if (e.timer_kind() == pb::TIMER_AUTO_CLOSE) add("auto_close", e.timer_due_ms());
      break;
    default:
      break;
  }
  json timeline = json::array();
  for (const pb::Record& r : view.history()) {
    pb::Notification n;
    *n.mutable_record() = r;
    timeline.push_back(RecordJson(n));
  }
  // The newest records of a long history (an event repeated thousands of times): how many
  // older ones the timeline leaves out.
  return {{"event", event},
          {"pending", pending},
          {"timeline", timeline},
          {"older_history", view.older_history()}};
}

json RecordJson(const pb::Notification& n) {
  const pb::Record& r = n.record();
  static const google::protobuf::OneofDescriptor* body = pb::Record::descriptor()->FindOneofByName("body");
  const google::protobuf::FieldDescriptor* field = r.GetReflection()->GetOneofFieldDescriptor(r, body);
  json out = {{"seq", r.seq()},
              {"at_ms", r.at_ms()},
              {"event_id", r.event_id()},
              {"kind", field != nullptr ? field->name() : std::string("unknown")},
              {"actor", ActorJson(r.actor())},
              {"body", field != nullptr ? ProtoJson(r.GetReflection()->GetMessage(r, field)) : json::object()}};
  if (n.state() != pb::STATE_UNSPECIFIED) out["state"] = StateKey(n.state());
  if (n.level() != pb::LEVEL_UNSPECIFIED) out["level"] = LevelName(n.level());
  if (!n.grid().empty()) out["grid"] = n.grid();
  return out;
}

json RanksJson(const pb::RanksResult& ranks) {
  json rows = json::array();
  auto rate = [](bool has, double v) { return has ? json(v) : json(nullptr); };
  for (const pb::RankRow& row : ranks.rows()) {
    const pb::StatCounters& c = row.counters();
    const pb::Rates& r = row.rates();
    rows.push_back({{"scope", row.scope()},
                    {"name", row.name()},
                    {"claimed_in_time", c.claimed_in_time()},
                    {"claim_missed", c.claim_missed()},
                    {"resolved", c.resolved()},
                    {"unresolved", c.unresolved()},
                    {"satisfied", c.satisfied()},
                    {"unsatisfied", c.unsatisfied()},
                    {"response_rate", rate(r.has_response_rate(), r.response_rate())},
                    {"resolution_rate", rate(r.has_resolution_rate(), r.resolution_rate())},
                    {"satisfaction_rate", rate(r.has_satisfaction_rate(), r.satisfaction_rate())}});
  }
  return {{"month", ranks.month()}, {"rows", rows}};
}

json PrincipalJson(const pb::Principal& p) {
  return {{"name", p.name()},
          {"role", std::string(RoleName(p.role()))},
          {"region", p.region()},
          {"departments", p.departments()}};
}

// ----------------------------------------------------------------- sessions

std::optional<int64_t> TicketExpiryMs(std::string_view ticket) {
  // v1.<principal>.<created>.<expires>.<mac>
  size_t mac_dot = ticket.rfind('.');
  if (mac_dot == std::string_view::npos || mac_dot == 0) return std::nullopt;
  size_t expires_dot = ticket.rfind('.', mac_dot - 1);
  if (expires_dot == std::string_view::npos) return std::nullopt;
  std::string_view field = ticket.substr(expires_dot + 1, mac_dot - expires_dot - 1);
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), ms);
  if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return ms;
}

ConsoleSessions::ConsoleSessions(std::chrono::hours max_length) : max_length_(max_length) {
  WHISTLE_CHECK(sodium_init() >= 0, "libsodium failed to initialise");
}

std::string ConsoleSessions::Open(std::string ticket, pb::Principal principal, std::vector<std::string>* ended) {
  auto now = std::chrono::system_clock::now();
  auto expires = now + max_length_;
  if (auto ms = TicketExpiryMs(ticket)) {
    expires = std::min(expires, std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms)));
  }
  // 256 bits from the kernel's generator (libsodium): whoever guesses an id acts as its person.
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof(bytes));
  char hex[sizeof(bytes) * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
  std::string id(hex, sizeof(bytes) * 2);
  std::lock_guard lock(mu_);
  std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires <= now; });
  // Each login keeps the principal within the limit, so one session at most has to go.
  auto soonest = sessions_.end();
  size_t count = 0;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.principal.name() != principal.name()) continue;
    ++count;
    if (soonest == sessions_.end() || it->second.expires < soonest->second.expires) soonest = it;
  }
  if (count >= kMaxSessionsPerPrincipal) {
    ended->push_back(soonest->first);
    sessions_.erase(soonest);
  }
  sessions_[id] = ConsoleSession{std::move(ticket), std::move(principal), expires, std::chrono::steady_clock::now()};
  return id;
}

std::optional<ConsoleSession> ConsoleSessions::Find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= std::chrono::system_clock::now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void ConsoleSessions::Checked(const std::string& id) {
  std::lock_guard lock(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) it->second.checked = std::chrono::steady_clock::now();
}

void ConsoleSessions::Close(const std::string& id) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
}

size_t ConsoleSessions::size() {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

// ----------------------------------------------------------------- streams

void ConsoleStream::Push(const std::string& event) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  if (queued_.size() >= kMaxQueued) {
    closed_ = true;
    queued_.clear();
  } else {
    queued_.push_back(event);
  }
  cv_.notify_all();
}

std::optional<std::string> ConsoleStream::Take(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return closed_ || !queued_.empty(); });
  if (closed_) return std::nullopt;
  std::string out;
  for (const std::string& e : queued_) out += e;
  queued_.clear();
  return out;
}

void ConsoleStream::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

bool ConsoleStream::closed() {
  std::lock_guard lock(mu_);
  return closed_;
}

ConsoleHub::ConsoleHub(zmq::context_t& context, std::string bus_endpoint, std::string front_endpoint,
                       ClientCredentials credentials, size_t max_streams)
    : context_(context),
      bus_endpoint_(std::move(bus_endpoint)),
      front_endpoint_(std::move(front_endpoint)),
      credentials_(std::move(credentials)),
      max_streams_(max_streams) {
  thread_ = std::thread([this] { Run(); });
}

ConsoleHub::~ConsoleHub() { Stop(); }

void ConsoleHub::Stop() {
  if (!stopping_.exchange(true) && thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& s : streams_) s->Close();
  streams_.clear();
}

void ConsoleHub::CloseSession(const std::string& session) {
  std::lock_guard lock(mu_);
  for (auto& s : streams_) {
    if (s->session() == session) s->Close();
  }
}

Result<std::shared_ptr<ConsoleStream>> ConsoleHub::Open(const std::string& session, const std::string& principal) {
  std::lock_guard lock(mu_);
  std::erase_if(streams_, [](const auto& s) { return s->closed(); });
  if (stopping_.load()) return Unavailable("the gateway is stopping");
  if (streams_.size() >= max_streams_) return Unavailable("too many console pages are open");
  const size_t share = std::max<size_t>(1, max_streams_ / 4);
  const auto own = std::count_if(streams_.begin(), streams_.end(),
                                 [&](const auto& s) { return s->principal() == principal; });
  if (static_cast<size_t>(own) >= share) {
    return Unavailable(
        fmt::format("{} already has as many console pages open as one principal may ({})", principal, share));
  }
  auto stream = std::make_shared<ConsoleStream>(session, principal);
  if (board_event_.empty() && board_) {  // the whole board, made once after each change
    pb::BoardResult whole = *board_;
    for (const auto& [grid, counts] : last_grids_) {
      pb::GridCount* g = whole.add_grids();
      g->set_grid(grid);
      g->set_open(counts[0]);
      g->set_overdue(counts[1]);
      g->set_supervised(counts[2]);
    }
    board_event_ = SseEvent("board", BoardJson(whole));
  }
  if (!board_event_.empty()) stream->Push(board_event_);
  for (const std::string& e : recent_) stream->Push(e);
  streams_.push_back(stream);
  return stream;
}

size_t ConsoleHub::streams() {
  std::lock_guard lock(mu_);
  std::erase_if(streams_, [](const auto& s) { return s->closed(); });
  return streams_.size();
}

void ConsoleHub::Broadcast(const std::string& event) {
  std::lock_guard lock(mu_);
  for (auto& s : streams_) s->Push(event);
}

std::optional<uint64_t> ConsoleHub::RefreshBoard(Client& client, bool whole) {
  pb::Request r;
  // Only the grids changed since the last board, unless asked whole: a Beijing-size city's whole
  // board is 30,000 grids, a megabyte, and 9 ms of the dispatcher's engine thread, four times a
  // second while records flow.
  if (!whole) {
    r.mutable_board()->set_grids_changed_after(board_seq_);
    r.mutable_board()->set_grids_epoch(board_epoch_);
  }
  auto answer = client.Call(std::move(r));
  if (!answer.ok() || answer->code() != pb::STATUS_OK) {
    std::fprintf(stderr, "whistle-gateway: console board: %s\n",
                 answer.ok() ? answer->message().c_str() : answer.status().ToString().c_str());
    return std::nullopt;
  }
  pb::BoardResult& b = *answer->mutable_board();
  board_seq_ = b.last_seq();
  board_epoch_ = b.grids_epoch();
  (b.grids_changed_only() ? boards_of_changes_ : boards_whole_).fetch_add(1);
  // Open pages get only the grids whose counts changed (a grid no longer open with zeros). A page
  // opened later starts from the whole board (Open).
  std::lock_guard lock(mu_);
  json changed = json::array();
  auto note = [&](const std::string& grid, const std::array<uint32_t, 3>& counts) {
    changed.push_back(
        {{"grid", grid}, {"open", counts[0]}, {"overdue", counts[1]}, {"supervised", counts[2]}});
  };
  auto update = [&](const pb::GridCount& g) {
    const std::array<uint32_t, 3> counts = {g.open(), g.overdue(), g.supervised()};
    auto known = last_grids_.find(g.grid());
    if (counts[0] == 0) {  // no open event left there
      if (known != last_grids_.end()) {
        note(g.grid(), counts);
        last_grids_.erase(known);
      }
    } else if (known == last_grids_.end() || known->second != counts) {
      note(g.grid(), counts);
      last_grids_[g.grid()] = counts;
    }
  };
  if (!b.grids_changed_only()) {  // every grid with open events: the others have none now
    std::set<std::string_view> open;
    for (const pb::GridCount& g : b.grids()) open.insert(g.grid());
    for (auto it = last_grids_.begin(); it != last_grids_.end();) {
      if (open.contains(it->first)) {
        ++it;
        continue;
      }
      note(it->first, {0, 0, 0});
      it = last_grids_.erase(it);
    }
  }
  for (const pb::GridCount& g : b.grids()) update(g);
  b.clear_grids();
  board_ = b;
  json board = BoardJson(b);
  board["grids"] = changed;
  board["grids_delta"] = true;
  std::string delta = SseEvent("board", board);
  board.erase("last_seq");  // pages are sent a board when the counts changed, not the sequence
  std::string counts = board.dump();
  // The whole board for the next page that opens is made again after a change, and after a whole
  // board (which may follow a dispatcher restored from an older copy: its last_seq went back).
  if (!b.grids_changed_only() || !changed.empty() || counts != board_counts_) board_event_.clear();
  if (changed.empty() && counts == board_counts_) return board_seq_;
  board_counts_ = std::move(counts);
  for (auto& stream : streams_) stream->Push(delta);
  return board_seq_;
}

void ConsoleHub::Run() {
  ClientOptions options = kHubCalls;
  options.credentials = credentials_;
  Client client(context_, front_endpoint_, options);
  // Start from the present: the first board says how far its counts go.
  uint64_t after = 0;
  while (!stopping_.load()) {
    if (auto seq = RefreshBoard(client)) {
      after = *seq;
      break;
    }
    std::this_thread::sleep_for(kRetry);
  }
  std::optional<RecordMark> mark;  // of record `after`, once one has been delivered
  while (!stopping_.load()) {
    Subscriber subscriber(context_, bus_endpoint_, front_endpoint_, after, options, mark);
    auto last_board = std::chrono::steady_clock::now();
    bool dirty = false;
    while (!stopping_.load()) {
      auto next = subscriber.NextNotification(kBoardEvery);
      if (!next.ok()) {
        std::fprintf(stderr, "whistle-gateway: console following the dispatcher: %s; trying again\n",
                     next.status().ToString().c_str());
        break;
      }
      if (next->has_value()) {
        // The bus carries no personal data; records read back from the log of a --dev-no-auth
        // dispatcher would.
        StripPersonalData((*next)->mutable_record());
        std::string event = SseEvent("record", RecordJson(**next));
        {
          std::lock_guard lock(mu_);
          recent_.push_back(event);
          if (recent_.size() > kRecentRecords) recent_.pop_front();
          for (auto& s : streams_) s->Push(event);
        }
        records_pushed_.fetch_add(1);
        dirty = true;
      }
      auto now = std::chrono::steady_clock::now();
      if ((dirty && now - last_board >= kBoardEvery) || now - last_board >= kBoardAtLeastEvery) {
        RefreshBoard(client);
        last_board = now;
        dirty = false;
      }
    }
    after = subscriber.last_seq();
    mark = subscriber.last_mark();
    if (subscriber.rewound()) {
      // A dispatcher on an older copy of its store: the pages follow it from the present (with
      // no mark: what it has now is what they show), and the records it no longer has leave the
      // feed kept for pages opened from now on.
      if (auto seq = RefreshBoard(client, /*whole=*/true)) {
        after = *seq;
        mark.reset();
      }
      std::lock_guard lock(mu_);
      recent_.clear();
    }
    for (int i = 0; i < 10 && !stopping_.load(); ++i) std::this_thread::sleep_for(kRetry / 10);
  }
}

}  // namespace whistle::gateway
