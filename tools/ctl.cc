#include "tools/ctl.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "dispatcher/authorization.h"
#include "dispatcher/lifecycle.h"
#include "tools/describe.h"
#include "whistle/curve_keys.h"

namespace whistle {
namespace {

constexpr char kUsage[] =
    "usage: whistlectl [--front=ENDPOINT] [--key=FILE] [--json] [--timeout-ms=N] [--attempts=N]\n"
    "                  [--config=FILE] COMMAND [command flags]\n"
    "\n"
    "  --front       the dispatcher's front door (default tcp://127.0.0.1:5570)\n"
    "  --key         this client's CURVE key file (whistle.pb.KeyFile); without it, only a\n"
    "                dispatcher started with --dev-no-auth answers\n"
    "  --json        print the whole response as one line of protobuf JSON\n"
    "  --timeout-ms  how long to wait for each attempt (default 2000)\n"
    "  --attempts    how many times to send the request before giving up (default 5)\n"
    "  --config      the city configuration: names and the city's local time (else ids, +08:00)\n"
    "\n"
    "commands:\n"
    "  submit      --category=C (--grid=G | --lon=X --lat=Y) [--description=T] [--reporter=R]\n"
    "  get         --id=N [--history [--history-before=SEQ]]\n"
    "  list        (--department=D | --region=R | --level=L | --city | --mine) [--state=S]\n"
    "              [--page-size=N] [--cursor=HEX]   (--mine: this key's own reports, newest first)\n"
    "  claim       --id=N --department=D [--agent=A] [--assist]\n"
    "  release     --id=N --claim=N [--reason=T]\n"
    "  progress    --id=N --claim=N [--note=T]\n"
    "  resolve     --id=N --claim=N --note=T\n"
    "  return      --id=N --department=D [--claim=N] --reason=T\n"
    "  whistle     --id=N [--department=D] [--claim=N] --reason=T [--level=L]\n"
    "              (no department: a supervisor's; --level: the level you saw it at, refused if\n"
    "              it has climbed since)\n"
    "  supervise   --id=N [--note=T]\n"
    "  feedback    --id=N --satisfied=true|false --score=1..5 [--comment=T]\n"
    "  reopen      --id=N --reason=T\n"
    "  merge       --id=N --into=N\n"
    "  cancel      --id=N --reason=T\n"
    "  mode        --region=R --mode=normal|emergency\n"
    "  stats       (--department=D | --region=R | --level=L) --month=YYYY-MM\n"
    "  log         [--after=SEQ] [--max=N]\n"
    "  checkpoint  --dir=PATH   (on the dispatcher's machine; must not exist)\n"
    "  digest      a hash of everything stored (equal before and after: nothing changed)\n"
    "  metrics     the dispatcher's counters: replies, batches, synced writes (supervisor, admin)\n"
    "  whoami      the principal this key is\n"
    "  principals  every principal, revoked ones too\n"
    "  principal-create --name=N --role=reporter|agent|hotline|supervisor|admin|console|viewer\n"
    "              [--department=D[,D...]] [--region=R] [--note=T] (--out=FILE | --public-key=Z85)\n"
    "              --out makes a new key pair and writes the new principal's key file\n"
    "              (a new file: one already there is never replaced)\n"
    "  principal-revoke --name=N [--reason=T]\n"
    "  board       [--region=R]  open events by level and state, overdue, supervised\n"
    "  ranks       --month=YYYY-MM [--level=L] [--region=R]  the three rates of every\n"
    "              department (or region of level L) that month\n"
    "  console-ticket [--hours=1..24] [--name=N]  a ticket to log in to the operations\n"
    "              console as this key's principal (--name: a --dev-no-auth dispatcher only)\n"
    "  help\n"
    "\n"
    "  L: community|street|county|city\n"
    "  S: dispatched|claimed|in_progress|resolved|closed|cancelled|merged\n"
    "  Every command that changes state (submit to mode, principal-create, principal-revoke)\n"
    "  also takes [--request-id=ID]: a command repeated\n"
    "  with the same id is applied at most once (after no answer, repeat it with the id\n"
    "  printed then).\n"
    "\n"
    "exit status: 0 done, 1 refused by the dispatcher (BUSY to every attempt included: not\n"
    "done), 2 usage error, 3 the outcome is unknown (no answer, or UNAVAILABLE: a write that\n"
    "failed and that the dispatcher's restart may yet find)\n";

template <typename E>
struct Named {
  std::string_view name;
  E value;
};

constexpr Named<pb::Level> kLevels[] = {{"community", pb::LEVEL_COMMUNITY},
                                        {"street", pb::LEVEL_STREET},
                                        {"county", pb::LEVEL_COUNTY},
                                        {"city", pb::LEVEL_CITY}};
constexpr Named<pb::EventState> kStates[] = {{"dispatched", pb::STATE_DISPATCHED},
                                             {"claimed", pb::STATE_CLAIMED},
                                             {"in_progress", pb::STATE_IN_PROGRESS},
                                             {"resolved", pb::STATE_RESOLVED},
                                             {"closed", pb::STATE_CLOSED},
                                             {"cancelled", pb::STATE_CANCELLED},
                                             {"merged", pb::STATE_MERGED}};
constexpr Named<pb::Mode> kModes[] = {{"normal", pb::MODE_NORMAL},
                                      {"emergency", pb::MODE_EMERGENCY}};
constexpr Named<pb::Role> kRoles[] = {{"reporter", pb::ROLE_REPORTER},
                                      {"agent", pb::ROLE_AGENT},
                                      {"hotline", pb::ROLE_HOTLINE},
                                      {"supervisor", pb::ROLE_SUPERVISOR},
                                      {"admin", pb::ROLE_ADMIN},
                                      {"console", pb::ROLE_CONSOLE},
                                      {"viewer", pb::ROLE_VIEWER}};

// Takes a command's flags one by one and keeps the first problem, so a builder reads as the list
// of its flags. Finish() reports that problem, or a flag nobody took.
class FlagReader {
 public:
  explicit FlagReader(Flags& flags) : flags_(flags) {}

  bool Has(std::string_view name) const { return flags_.Has(name); }
  void Fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }
  Status Finish() const { return status_.ok() ? flags_.CheckAllTaken() : status_; }

  // A required, non-empty value.
  std::string Text(std::string_view name) {
    if (!Has(name)) {
      Fail(BadRequest(fmt::format("--{} is required", name)));
      return "";
    }
    std::string v = flags_.TakeString(name);
    if (v.empty()) Fail(BadRequest(fmt::format("--{} needs a value", name)));
    return v;
  }
  std::string OptionalText(std::string_view name) { return flags_.TakeString(name); }

  // A whole number in [min, max]; 0 when absent and not required.
  uint64_t Number(std::string_view name, bool required, uint64_t min,
                  uint64_t max = std::numeric_limits<uint64_t>::max()) {
    if (!Has(name)) {
      if (required) Fail(BadRequest(fmt::format("--{} is required", name)));
      return 0;
    }
    std::string v = flags_.TakeString(name);
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || n < min || n > max) {
      Fail(BadRequest(
          max == std::numeric_limits<uint64_t>::max()
              ? fmt::format("--{} must be a whole number of at least {}", name, min)
              : fmt::format("--{} must be a whole number from {} to {}", name, min, max)));
      return 0;
    }
    return n;
  }
  // An event id: required, at least 1.
  uint64_t Id(std::string_view name) { return Number(name, true, 1); }

  double Double(std::string_view name, double min, double max) {
    auto d = flags_.TakeDouble(name, 0, min, max);
    if (!d.ok()) Fail(d.status());
    return d.ok() ? *d : 0;
  }

  // "--name", "--name=true" or "--name=false"; absent is false unless required.
  bool Bool(std::string_view name, bool required) {
    if (required && !Has(name)) {
      Fail(BadRequest(fmt::format("--{} is required (true or false)", name)));
      return false;
    }
    auto b = flags_.TakeBool(name);
    if (!b.ok()) Fail(b.status());
    return b.ok() && *b;
  }

  // One of `choices` by name; `fallback` when absent and not required.
  template <typename E, size_t N>
  E Choice(std::string_view name, const Named<E> (&choices)[N], bool required, E fallback) {
    if (!Has(name)) {
      if (required) Fail(BadRequest(fmt::format("--{} is required", name)));
      return fallback;
    }
    std::string v = flags_.TakeString(name);
    std::vector<std::string_view> names;
    for (const auto& c : choices) {
      if (c.name == v) return c.value;
      names.push_back(c.name);
    }
    Fail(BadRequest(
        fmt::format("--{} must be one of {} (not '{}')", name, fmt::join(names, ", "), v)));
    return fallback;
  }

 private:
  Flags& flags_;
  Status status_;
};

// --department, --region or --level: exactly one (ListQuery and StatsQuery share the oneof).
template <typename Query>
void ReadScope(FlagReader& r, std::string_view command, Query* q) {
  int given = int{r.Has("department")} + int{r.Has("region")} + int{r.Has("level")};
  if (given != 1) {
    r.Fail(BadRequest(
        fmt::format("{} needs exactly one of --department, --region or --level", command)));
    return;
  }
  if (r.Has("department")) {
    q->set_department(r.Text("department"));
  } else if (r.Has("region")) {
    q->set_region(r.Text("region"));
  } else {
    q->set_level(r.Choice("level", kLevels, true, pb::LEVEL_UNSPECIFIED));
  }
}

bool IsMonth(std::string_view m) {
  auto digit = [&](size_t i) { return m[i] >= '0' && m[i] <= '9'; };
  if (m.size() != 7 || m[4] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6}) {
    if (!digit(i)) return false;
  }
  int month = (m[5] - '0') * 10 + (m[6] - '0');
  return month >= 1 && month <= 12;
}

bool FromHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned byte = 0;
    auto [ptr, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, byte, 16);
    if (ec != std::errc() || ptr != hex.data() + i + 2) return false;
    out->push_back(static_cast<char>(byte));
  }
  return true;
}

std::string ToHex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// --- The commands: one builder each, listed in kCommands (the table of contents). ---

void BuildSubmit(FlagReader& r, pb::Request& req) {
  pb::Report* report = req.mutable_submit()->mutable_report();
  report->set_category(r.Text("category"));
  if (r.Has("grid")) report->set_grid(r.Text("grid"));
  bool lon = r.Has("lon");
  bool lat = r.Has("lat");
  if (lon != lat) {
    r.Fail(BadRequest("--lon and --lat go together"));
  } else if (lon) {
    report->mutable_position()->set_lon(r.Double("lon", -180, 180));
    report->mutable_position()->set_lat(r.Double("lat", -90, 90));
  } else if (report->grid().empty()) {
    r.Fail(BadRequest("submit needs --grid, or --lon and --lat"));
  }
  report->set_description(r.OptionalText("description"));
  report->set_reporter(r.OptionalText("reporter"));
}

void BuildGet(FlagReader& r, pb::Request& req) {
  req.mutable_get()->set_event_id(r.Id("id"));
  req.mutable_get()->set_with_history(r.Bool("history", false));
  // The newest 1,000 records come first; this reads the page before a record.
  if (r.Has("history-before") && !req.get().with_history()) {
    r.Fail(BadRequest("--history-before needs --history"));
  }
  req.mutable_get()->set_history_before(
      static_cast<uint32_t>(r.Number("history-before", false, 1, std::numeric_limits<uint32_t>::max())));
}

void BuildList(FlagReader& r, pb::Request& req) {
  pb::ListQuery* q = req.mutable_list();
  // Besides Stats' three scopes: --city (every event) and --mine (this key's own reports).
  const bool city = r.Has("city"), mine = r.Has("mine");
  if (int{city} + int{mine} + int{r.Has("department")} + int{r.Has("region")} + int{r.Has("level")} != 1) {
    r.Fail(BadRequest("list needs exactly one of --department, --region, --level, --city or --mine"));
  } else if (city) {
    q->set_city(r.Bool("city", true));
  } else if (mine) {
    q->set_mine(r.Bool("mine", true));
  } else {
    ReadScope(r, "list", q);
  }
  q->set_state(r.Choice("state", kStates, false, pb::STATE_UNSPECIFIED));
  q->set_page_size(static_cast<uint32_t>(r.Number("page-size", false, 1, UINT32_MAX)));
  if (r.Has("cursor") && !FromHex(r.Text("cursor"), q->mutable_cursor())) {
    r.Fail(BadRequest("--cursor must be the hex printed with the previous page"));
  }
}

void BuildClaim(FlagReader& r, pb::Request& req) {
  pb::ClaimCommand* c = req.mutable_claim();
  c->set_event_id(r.Id("id"));
  c->set_department(r.Text("department"));
  c->set_agent(r.OptionalText("agent"));
  c->set_assist(r.Bool("assist", false));
}

void BuildRelease(FlagReader& r, pb::Request& req) {
  pb::ReleaseCommand* c = req.mutable_release();
  c->set_event_id(r.Id("id"));
  c->set_claim_number(r.Number("claim", true, 1));
  c->set_reason(r.OptionalText("reason"));
}

void BuildProgress(FlagReader& r, pb::Request& req) {
  pb::ProgressCommand* c = req.mutable_progress();
  c->set_event_id(r.Id("id"));
  c->set_claim_number(r.Number("claim", true, 1));
  c->set_note(r.OptionalText("note"));
}

void BuildResolve(FlagReader& r, pb::Request& req) {
  pb::ResolveCommand* c = req.mutable_resolve();
  c->set_event_id(r.Id("id"));
  c->set_claim_number(r.Number("claim", true, 1));
  c->set_note(r.Text("note"));
}

void BuildReturn(FlagReader& r, pb::Request& req) {
  pb::ReturnCommand* c = req.mutable_return_task();
  c->set_event_id(r.Id("id"));
  c->set_department(r.Text("department"));
  c->set_claim_number(r.Number("claim", false, 1));  // 0: returned by a candidate, unclaimed
  c->set_reason(r.Text("reason"));
}

void BuildWhistle(FlagReader& r, pb::Request& req) {
  pb::WhistleCommand* c = req.mutable_whistle();
  c->set_event_id(r.Id("id"));
  c->set_department(r.OptionalText("department"));  // none: a supervisor's whistle
  c->set_claim_number(r.Number("claim", false, 1));
  c->set_reason(r.Text("reason"));
  c->set_seen_level(r.Choice("level", kLevels, false, pb::LEVEL_UNSPECIFIED));
}

void BuildSupervise(FlagReader& r, pb::Request& req) {
  req.mutable_supervise()->set_event_id(r.Id("id"));
  req.mutable_supervise()->set_note(r.OptionalText("note"));
}

void BuildFeedback(FlagReader& r, pb::Request& req) {
  pb::FeedbackCommand* c = req.mutable_feedback();
  c->set_event_id(r.Id("id"));
  c->set_satisfied(r.Bool("satisfied", true));
  c->set_score(static_cast<int32_t>(r.Number("score", true, 1, 5)));
  c->set_comment(r.OptionalText("comment"));
}

void BuildReopen(FlagReader& r, pb::Request& req) {
  req.mutable_reopen()->set_event_id(r.Id("id"));
  req.mutable_reopen()->set_reason(r.Text("reason"));
}

void BuildMerge(FlagReader& r, pb::Request& req) {
  req.mutable_merge()->set_event_id(r.Id("id"));
  req.mutable_merge()->set_into_event_id(r.Id("into"));
}

void BuildCancel(FlagReader& r, pb::Request& req) {
  req.mutable_cancel()->set_event_id(r.Id("id"));
  req.mutable_cancel()->set_reason(r.Text("reason"));
}

void BuildMode(FlagReader& r, pb::Request& req) {
  req.mutable_set_mode()->set_region(r.Text("region"));
  req.mutable_set_mode()->set_mode(r.Choice("mode", kModes, true, pb::MODE_UNSPECIFIED));
}

void BuildStats(FlagReader& r, pb::Request& req) {
  pb::StatsQuery* q = req.mutable_stats();
  ReadScope(r, "stats", q);
  q->set_month(r.Text("month"));
  if (!q->month().empty() && !IsMonth(q->month())) {
    r.Fail(BadRequest(fmt::format("--month must look like 2026-11 (not '{}')", q->month())));
  }
}

void BuildLog(FlagReader& r, pb::Request& req) {
  req.mutable_log()->set_after_seq(r.Number("after", false, 0));
  req.mutable_log()->set_max_records(static_cast<uint32_t>(r.Number("max", false, 1, UINT32_MAX)));
}

void BuildCheckpoint(FlagReader& r, pb::Request& req) {
  req.mutable_checkpoint()->set_dir(r.Text("dir"));
}

void BuildDigest(FlagReader&, pb::Request& req) { req.mutable_digest(); }
void BuildMetrics(FlagReader&, pb::Request& req) { req.mutable_metrics(); }
void BuildWhoAmI(FlagReader&, pb::Request& req) { req.mutable_whoami(); }
void BuildPrincipals(FlagReader&, pb::Request& req) { req.mutable_list_principals(); }

void BuildBoard(FlagReader& r, pb::Request& req) { req.mutable_board()->set_region(r.OptionalText("region")); }

void BuildRanks(FlagReader& r, pb::Request& req) {
  pb::RanksQuery* q = req.mutable_ranks();
  q->set_month(r.Text("month"));
  q->set_region(r.OptionalText("region"));
  if (r.Has("level")) {
    q->set_region_level(r.Choice("level", kLevels, true, pb::LEVEL_UNSPECIFIED));
  } else {
    q->set_departments(true);
  }
}

void BuildTicket(FlagReader& r, pb::Request& req) {
  req.mutable_ticket()->set_principal(r.OptionalText("name"));
  req.mutable_ticket()->set_hours(static_cast<uint32_t>(r.Number("hours", false, 1, 24)));
}

// The public key may be left out: ctl_main makes a key pair for --out and fills it in.
void BuildPrincipalCreate(FlagReader& r, pb::Request& req) {
  pb::Principal* p = req.mutable_create_principal()->mutable_principal();
  p->set_name(r.Text("name"));
  p->set_role(r.Choice("role", kRoles, true, pb::ROLE_UNSPECIFIED));
  for (std::string& d : SplitCommaList(r.OptionalText("department"))) p->add_departments(std::move(d));
  p->set_region(r.OptionalText("region"));
  p->set_note(r.OptionalText("note"));
  if (r.Has("public-key")) {
    auto raw = DecodeZ85Key(r.Text("public-key"));
    if (!raw.ok()) return r.Fail(BadRequest(fmt::format("--public-key: {}", raw.status().message())));
    p->set_public_key(*raw);
  }
}

void BuildPrincipalRevoke(FlagReader& r, pb::Request& req) {
  req.mutable_revoke_principal()->set_name(r.Text("name"));
  req.mutable_revoke_principal()->set_reason(r.OptionalText("reason"));
}

struct Command {
  std::string_view name;
  bool writes;  // changes state: takes --request-id
  void (*build)(FlagReader&, pb::Request&);
};

constexpr Command kCommands[] = {
    {"submit", true, BuildSubmit},     {"claim", true, BuildClaim},
    {"release", true, BuildRelease},   {"progress", true, BuildProgress},
    {"resolve", true, BuildResolve},   {"return", true, BuildReturn},
    {"whistle", true, BuildWhistle},   {"supervise", true, BuildSupervise},
    {"feedback", true, BuildFeedback}, {"reopen", true, BuildReopen},
    {"merge", true, BuildMerge},       {"cancel", true, BuildCancel},
    {"mode", true, BuildMode},         {"get", false, BuildGet},
    {"list", false, BuildList},        {"stats", false, BuildStats},
    {"log", false, BuildLog},          {"checkpoint", false, BuildCheckpoint},
    {"digest", false, BuildDigest},    {"whoami", false, BuildWhoAmI},
    {"principals", false, BuildPrincipals}, {"metrics", false, BuildMetrics},
    {"board", false, BuildBoard},      {"ranks", false, BuildRanks},
    {"console-ticket", false, BuildTicket},
    {"principal-create", true, BuildPrincipalCreate},
    {"principal-revoke", true, BuildPrincipalRevoke},
};

const Command* FindCommand(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// --- Output ---

void AppendSummary(std::string_view name, const pb::HistogramSummary& h, std::string_view unit,
                   std::string& out) {
  out += fmt::format("{:<22} n {:>10}  p50 {}{}  p90 {}{}  p99 {}{}  p99.9 {}{}  max {}{}\n", name,
                     h.count(), h.p50(), unit, h.p90(), unit, h.p99(), unit, h.p999(), unit,
                     h.max(), unit);
}

void AppendMetrics(const pb::MetricsResult& m, int32_t utc_offset_minutes, std::string& out) {
  double per_write = m.synced_writes() == 0 ? 0 : static_cast<double>(m.commands()) / static_cast<double>(m.synced_writes());
  out += fmt::format("since {}: {} requests in {} batches, {} synced writes ({:.1f} requests per "
                     "write), {} open events, through seq {}\n",
                     LocalTime(m.started_at_ms(), utc_offset_minutes), m.commands(), m.batches(), m.synced_writes(),
                     per_write, m.open_events(), m.last_seq());
  out += fmt::format("busy replies {}, rejected frames {}, dropped replies {}, timers fired {}, "
                     "re-plans pending {}\n",
                     m.busy_replies(), m.rejected_frames(), m.dropped_replies(), m.timers_fired(),
                     m.replans_pending());
  out += fmt::format("overdue {}, supervised {}, connections: front door {}, bus {} ({} cut off on revocation)\n",
                     m.overdue_events(), m.supervised_events(), m.connected_clients(), m.bus_subscribers(),
                     m.bus_connections_cut());
  out += fmt::format("handshakes refused: front door {}, bus {}\n", m.front_handshakes_refused(),
                     m.bus_handshakes_refused());
  out += fmt::format("log reads held: {} now; {} since the start, {} of them woken by a record\n",
                     m.log_reads_held(), m.log_reads_held_total(), m.log_reads_woken());
  out += fmt::format("CPU time: {:.1f} s, of which the engine thread {:.1f} s and the writer thread {:.1f} s\n",
                     static_cast<double>(m.cpu_micros()) / 1e6, static_cast<double>(m.engine_cpu_micros()) / 1e6,
                     static_cast<double>(m.writer_cpu_micros()) / 1e6);
  AppendSummary("batch size", m.batch_size(), "", out);
  AppendSummary("batch time", m.batch_micros(), "us", out);
  AppendSummary("answer time", m.answer_micros(), "us", out);
  AppendSummary("synced write time", m.synced_write_micros(), "us", out);
  AppendSummary("timer lag", m.timer_lag_ms(), "ms", out);
  for (const pb::CommandCount& c : m.by_command()) {
    out += fmt::format("  {:<18} {:<26} {:>10}\n", c.command(), pb::StatusCode_Name(c.code()), c.count());
  }
}

// Open events as a table: levels down, states across.
void AppendBoard(const pb::BoardResult& b, std::string& out) {
  out += fmt::format("{} open, {} overdue, {} supervised, through seq {}\n", b.open(), b.overdue(),
                     b.supervised(), b.last_seq());
  constexpr pb::EventState kOpenStates[] = {pb::STATE_DISPATCHED, pb::STATE_CLAIMED, pb::STATE_IN_PROGRESS,
                                            pb::STATE_RESOLVED};
  out += fmt::format("{:<10}", "");
  for (pb::EventState st : kOpenStates) out += fmt::format(" {:>12}", StateName(st));
  out += "\n";
  for (const auto& level : kLevels) {
    out += fmt::format("{:<10}", level.name);
    for (pb::EventState st : kOpenStates) {
      uint32_t n = 0;
      for (const pb::BoardCell& c : b.cells()) {
        if (c.level() == level.value && c.state() == st) n = c.count();
      }
      out += fmt::format(" {:>12}", n);
    }
    out += "\n";
  }
  out += fmt::format("{} grids with open events\n", b.grids_size());
}

void AppendRanks(const pb::RanksResult& ranks, std::string& out) {
  auto rate = [](bool has, double r) { return has ? fmt::format("{:.1f}%", r * 100) : std::string("-"); };
  out += fmt::format("{}: {} ranked\n", ranks.month(), ranks.rows_size());
  for (const pb::RankRow& row : ranks.rows()) {
    const pb::Rates& r = row.rates();
    out += fmt::format("  {:<28} 响应率 {:>6}  解决率 {:>6}  满意率 {:>6}  {}\n", row.scope(),
                       rate(r.has_response_rate(), r.response_rate()),
                       rate(r.has_resolution_rate(), r.resolution_rate()),
                       rate(r.has_satisfaction_rate(), r.satisfaction_rate()), row.name());
  }
}

bool IsWide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
         (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

// Terminal columns of UTF-8 text: Chinese names take two columns a character.
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 1;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    i += len;
    width += IsWide(cp) ? 2 : 1;
  }
  return width;
}

std::string Pad(std::string_view s, size_t width) {
  std::string out(s);
  size_t w = DisplayWidth(s);
  if (w < width) out.append(width - w, ' ');
  return out;
}

// "label  value" lines with the values aligned.
class Block {
 public:
  void Add(std::string label, std::string value) {
    rows_.emplace_back(std::move(label), std::move(value));
  }
  void AppendTo(std::string& out) const {
    size_t width = 0;
    for (const auto& [label, value] : rows_) width = std::max(width, DisplayWidth(label));
    for (const auto& [label, value] : rows_) {
      out += fmt::format("{}  {}\n", Pad(label, width), value);
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

// How to print names and times: with the city's names, or ids.
struct Style {
  const City* city;
  int32_t utc_offset_minutes;

  std::string Time(int64_t ms) const { return ms == 0 ? "-" : LocalTime(ms, utc_offset_minutes); }
  // Short form for tables: the name alone when known.
  std::string DepartmentName(const std::string& id) const {
    const pb::Department* d = city ? city->FindDepartment(id) : nullptr;
    return d ? d->name() : id;
  }
  std::string CategoryName(const std::string& code) const {
    const pb::Category* c = city ? city->FindCategory(code) : nullptr;
    return c ? c->name() : code;
  }
};

std::string Flagged(const pb::Event& e) {
  std::vector<std::string_view> flags;
  if (e.overdue()) flags.push_back("OVERDUE");
  if (e.supervised()) flags.push_back("supervised");
  return fmt::format("{}", fmt::join(flags, ", "));
}

void AppendEvent(const pb::EventView& view, const Style& style, std::string& out) {
  const pb::Event& e = view.event();
  Block b;
  b.Add("event", std::to_string(e.id()));
  b.Add("state", std::string(StateName(e.state())));
  b.Add("level",
        fmt::format("{}{}", LevelName(e.level()),
                    EffectiveMode(e.mode()) == pb::MODE_EMERGENCY ? " (emergency mode)" : ""));
  b.Add("grid", e.grid());
  b.Add("category", CategoryLabel(style.city, e.report().category()));
  if (!e.report().description().empty()) b.Add("description", e.report().description());
  b.Add("reported",
        fmt::format("{} by {}", style.Time(e.created_at_ms()),
                    e.report().reporter().empty() ? "anonymous" : e.report().reporter()));
  if (e.candidates_size() > 0) b.Add("candidates", DepartmentLabels(style.city, e.candidates()));
  if (e.returned_by_size() > 0) b.Add("returned by", DepartmentLabels(style.city, e.returned_by()));
  // Until claimed again or dispatched afresh, a climb from this level counts unresolved against
  // it (dispatcher/appliers.h).
  if (!e.released_by().empty()) b.Add("released by", DepartmentLabel(style.city, e.released_by()));
  if (!e.lead().empty()) {
    b.Add("lead", DepartmentLabel(style.city, e.lead()));
    b.Add("claim", fmt::format("{}{}", e.claim_number(),
                               e.claim_agent().empty() ? "" : ", agent " + e.claim_agent()));
  }
  if (e.assists_size() > 0) b.Add("assists", DepartmentLabels(style.city, e.assists()));
  if (e.state() == pb::STATE_DISPATCHED && e.claim_deadline_ms() != 0) {
    b.Add("claim by", style.Time(e.claim_deadline_ms()));
  }
  if (IsUnresolved(e.state()) && e.resolve_deadline_ms() != 0) {
    b.Add("resolve by", style.Time(e.resolve_deadline_ms()));
  }
  if ((e.state() == pb::STATE_RESOLVED || e.state() == pb::STATE_CLOSED) &&
      e.resolved_at_ms() != 0) {
    b.Add("resolved", fmt::format("{} by {}", style.Time(e.resolved_at_ms()),
                                  DepartmentLabel(style.city, e.resolved_by())));
  }
  if (e.state() == pb::STATE_RESOLVED && e.timer_kind() == pb::TIMER_AUTO_CLOSE) {
    b.Add("closes at", style.Time(e.timer_due_ms()));
  }
  if (e.closed_at_ms() != 0) b.Add("closed", style.Time(e.closed_at_ms()));
  if (e.merged_into() != 0) b.Add("merged into", std::to_string(e.merged_into()));
  if (e.has_feedback()) {
    const pb::Feedback& f = e.feedback();
    b.Add("feedback", fmt::format("{} ({}/5){}", f.satisfied() ? "satisfied" : "NOT satisfied",
                                  f.score(), f.comment().empty() ? "" : ": " + f.comment()));
  }
  if (LinkedCount(e) > 0) b.Add("linked", fmt::format("{} more report(s)", LinkedCount(e)));
  if (e.escalations() > 0) b.Add("escalations", std::to_string(e.escalations()));
  if (e.reopen_count() > 0) b.Add("reopened", fmt::format("{} time(s)", e.reopen_count()));
  if (std::string f = Flagged(e); !f.empty()) b.Add("flags", f);
  b.AppendTo(out);
  if (view.history_size() > 0) {
    out += "history\n";
    if (view.older_history() > 0) {
      out += fmt::format("  ({} older record(s) not shown: --history-before={})\n", view.older_history(),
                         view.older_history());
    }
    for (const pb::Record& r : view.history()) {
      out += fmt::format("  {}\n", DescribeRecord(style.city, style.utc_offset_minutes, r));
    }
  }
}

void AppendList(const pb::ListResult& list, const Style& style, std::string& out) {
  if (list.events_size() == 0) {
    out += "no events\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"ID", "STATE", "LEVEL", "GRID", "CATEGORY", "LEAD", "CLAIM BY", "FLAGS"});
    for (const pb::Event& e : list.events()) {
      rows.push_back({std::to_string(e.id()), std::string(StateName(e.state())),
                      std::string(LevelName(e.level())), e.grid(),
                      style.CategoryName(e.report().category()),
                      e.lead().empty() ? "-" : style.DepartmentName(e.lead()),
                      e.state() == pb::STATE_DISPATCHED ? style.Time(e.claim_deadline_ms()) : "-",
                      Flagged(e)});
    }
    std::vector<size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
    for (const auto& row : rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += i == 0 ? "" : "  ";
        line += i + 1 == row.size() ? row[i] : Pad(row[i], widths[i]);
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    out += fmt::format("{} event{}\n", list.events_size(), list.events_size() == 1 ? "" : "s");
  }
  if (!list.next_cursor().empty()) {
    out += fmt::format("next page: --cursor={}\n", ToHex(list.next_cursor()));
  }
}

void AppendStats(const pb::StatsResult& stats, std::string& out) {
  const pb::StatCounters& c = stats.counters();
  auto rate = [](bool has, double r) {
    return has ? fmt::format("{:.1f}%", r * 100) : std::string("-");
  };
  Block b;
  b.Add("month", stats.month());
  b.Add("submitted", std::to_string(c.submitted()));
  b.Add("offered", std::to_string(c.offered()));
  b.Add("claimed in time", std::to_string(c.claimed_in_time()));
  b.Add("claim missed", std::to_string(c.claim_missed()));
  b.Add("resolved", std::to_string(c.resolved()));
  b.Add("unresolved", std::to_string(c.unresolved()));
  b.Add("satisfied", std::to_string(c.satisfied()));
  b.Add("unsatisfied", std::to_string(c.unsatisfied()));
  b.Add("escalated", std::to_string(c.escalated()));
  b.Add("overdue", std::to_string(c.overdue()));
  b.Add("returned", std::to_string(c.returned()));
  b.Add("closed", std::to_string(c.closed()));
  const pb::Rates& r = stats.rates();
  b.Add("响应率", rate(r.has_response_rate(), r.response_rate()));
  b.Add("解决率", rate(r.has_resolution_rate(), r.resolution_rate()));
  b.Add("满意率", rate(r.has_satisfaction_rate(), r.satisfaction_rate()));
  b.AppendTo(out);
}

void AppendPrincipal(const pb::Principal& p, const Style& style, std::string& out) {
  out += fmt::format("{}  {}", p.name(), RoleName(p.role()));
  if (p.departments_size() == 1) out += fmt::format("  department {}", p.departments(0));
  if (p.departments_size() > 1) out += fmt::format("  {} departments", p.departments_size());
  out += fmt::format("  region {}", p.region().empty() ? "(whole city)" : p.region());
  if (p.public_key().size() == kCurveKeyBytes) out += fmt::format("  key {}", EncodeZ85Key(p.public_key()));
  if (p.created_at_ms() != 0) {
    out += fmt::format("  created {} by {}", LocalTime(p.created_at_ms(), style.utc_offset_minutes),
                       p.created_by());
  }
  if (p.revoked_at_ms() != 0) {
    out += fmt::format("  REVOKED {} by {}", LocalTime(p.revoked_at_ms(), style.utc_offset_minutes),
                       p.revoked_by());
  }
  out += "\n";
}

void AppendLog(const pb::LogResult& log, const Style& style, std::string& out) {
  for (const pb::Record& r : log.records()) {
    out += fmt::format("#{}  {}  {}\n", r.seq(),
                       r.event_id() == 0 ? std::string("-") : fmt::format("event {}", r.event_id()),
                       r.withheld() ? std::string("withheld: not yours to read")
                                    : DescribeRecord(style.city, style.utc_offset_minutes, r));
  }
  out += fmt::format("last seq {}\n", log.last_seq());
}

}  // namespace

std::string_view CtlUsage() { return kUsage; }

Result<CtlCommandLine> ParseCtlCommandLine(int argc, const char* const* argv) {
  int k = 1;
  while (k < argc && std::string_view(argv[k]).starts_with("--")) ++k;
  auto globals = Flags::Parse(k, argv);  // argv[0] is the program name
  if (!globals.ok()) return globals.status();
  CtlCommandLine line;
  if (k < argc) {
    line.command = argv[k];
    auto command_flags = Flags::Parse(argc - k, argv + k);  // argv[k] (the command) stands as 0
    if (!command_flags.ok()) return command_flags.status();
    line.flags = std::move(command_flags).value();
  }
  // Each global flag from wherever it was given (not both).
  auto from = [&](std::string_view name) -> Result<Flags*> {
    if (globals->Has(name) && line.flags.Has(name)) {
      return BadRequest(fmt::format("--{} is given twice", name));
    }
    return line.flags.Has(name) ? &line.flags : &globals.value();
  };
  auto take_text = [&](std::string_view name, std::string fallback) -> Result<std::string> {
    auto f = from(name);
    if (!f.ok()) return f.status();
    bool given = (*f)->Has(name);
    std::string v = (*f)->TakeString(name, std::move(fallback));
    if (given && v.empty()) return BadRequest(fmt::format("--{} needs a value", name));
    return v;
  };
  auto take_bool = [&](std::string_view name) -> Result<bool> {
    auto f = from(name);
    if (!f.ok()) return f.status();
    return (*f)->TakeBool(name);
  };
  auto take_int = [&](std::string_view name, int64_t fallback, int64_t min,
                      int64_t max) -> Result<int64_t> {
    auto f = from(name);
    if (!f.ok()) return f.status();
    return (*f)->TakeInt(name, fallback, min, max);
  };

  auto front = take_text("front", kCtlDefaultFront);
  auto key = take_text("key", "");
  auto json = take_bool("json");
  auto timeout = take_int("timeout-ms", line.timeout_ms, 1, 3'600'000);
  auto attempts = take_int("attempts", line.attempts, 1, 100);
  auto config = take_text("config", "");
  auto help = take_bool("help");
  for (const Status& s : {front.status(), key.status(), json.status(), timeout.status(), attempts.status(),
                          config.status(), help.status(), globals->CheckAllTaken()}) {
    if (!s.ok()) return s;
  }
  line.front = *front;
  line.key_path = *key;
  line.json = *json;
  line.timeout_ms = *timeout;
  line.attempts = *attempts;
  line.config_path = *config;
  line.help = *help || line.command == "help";
  if (!line.help && line.command.empty()) return BadRequest("no command given");
  return line;
}

bool CtlCommandWrites(std::string_view command) {
  const Command* c = FindCommand(command);
  return c != nullptr && c->writes;
}

Result<pb::Request> BuildRequest(std::string_view command, Flags& flags) {
  const Command* c = FindCommand(command);
  if (c == nullptr) return BadRequest(fmt::format("unknown command '{}'", command));
  pb::Request request;
  FlagReader reader(flags);
  c->build(reader, request);
  if (c->writes) request.set_request_id(reader.OptionalText("request-id"));
  if (Status s = reader.Finish(); !s.ok()) return s;
  return request;
}

std::string FormatResponse(std::string_view command, const pb::Response& response, const City* city,
                           bool json) {
  if (json) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string out;
    // Cannot fail for a message without Any fields.
    (void)google::protobuf::util::MessageToJsonString(response, &out, options);
    return out + "\n";
  }
  if (response.code() != pb::STATUS_OK) {
    return Status(response.code(), response.message()).ToString() + "\n";
  }
  Style style{city, city ? city->settings().utc_offset_minutes() : kCtlDefaultUtcOffsetMinutes};
  std::string out;
  switch (response.result_case()) {
    case pb::Response::kEvent:
      if (response.event().linked_as_duplicate()) {
        out += fmt::format("the report joined open event {} as a repeat report\n",
                           response.event().event().id());
      }
      AppendEvent(response.event(), style, out);
      break;
    case pb::Response::kList:
      AppendList(response.list(), style, out);
      break;
    case pb::Response::kStats:
      AppendStats(response.stats(), out);
      break;
    case pb::Response::kLog:
      AppendLog(response.log(), style, out);
      break;
    case pb::Response::kMode:
      out += fmt::format(
          "region {} is in {} mode; {} open event(s) to re-plan\n", response.mode().region(),
          EffectiveMode(response.mode().mode()) == pb::MODE_EMERGENCY ? "emergency" : "normal",
          response.mode().replanned_events());
      break;
    case pb::Response::kCheckpoint:
      out += fmt::format("checkpoint in {} (through seq {})\n", response.checkpoint().dir(),
                         response.checkpoint().last_seq());
      break;
    case pb::Response::kPrincipal:
      AppendPrincipal(response.principal(), style, out);
      break;
    case pb::Response::kPrincipals:
      for (const pb::Principal& p : response.principals().principals()) AppendPrincipal(p, style, out);
      break;
    case pb::Response::kDigest:
      out += fmt::format("digest {:016x} over {} entries, through seq {}\n",
                         response.digest().digest(), response.digest().entries(),
                         response.digest().last_seq());
      break;
    case pb::Response::kMetrics:
      AppendMetrics(response.metrics(), style.utc_offset_minutes, out);
      break;
    case pb::Response::kBoard:
      AppendBoard(response.board(), out);
      break;
    case pb::Response::kRanks:
      AppendRanks(response.ranks(), out);
      break;
    case pb::Response::kTicket:
      // The ticket alone on its first line, for scripts; then for whom and until when.
      out += fmt::format("{}\nfor {} ({}), until {}; paste it into the console's login form\n",
                         response.ticket().ticket(), response.ticket().principal().name(),
                         RoleName(response.ticket().principal().role()),
                         LocalTime(response.ticket().expires_at_ms(), style.utc_offset_minutes));
      break;
    case pb::Response::RESULT_NOT_SET:
      out += fmt::format("{}: done\n", command);
      break;
  }
  return out;
}

}  // namespace whistle
