// Authorization (dispatcher/authorization.h) through the real engine: every cell of the role x
// command table, then each scope (own, region, department), the supervisor's whistle, personal
// data in answers, principals, and the digest that proves a refusal wrote nothing.
#include "dispatcher/authorization.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

TEST_SUITE_BEGIN("authorization");

using testing::DumpAll;
using testing::EngineFixture;
using testing::kCommunity1;
using testing::kCommunity2;
using testing::kGrid1;
using testing::kGrid2;
using testing::kGrid3;
using testing::kStreet;
using testing::TestActor;

// ------------------------------------------------------------------ actors and requests

pb::Actor WithRegion(pb::Actor actor, const std::string& region) {
  actor.set_region(region);
  return actor;
}
pb::Actor Reporter(const std::string& name, const std::string& region = "") {
  return WithRegion(TestActor(pb::ROLE_REPORTER, name), region);
}
pb::Actor Agent(const std::string& name, const std::string& department,
                const std::string& region = "") {
  return WithRegion(TestActor(pb::ROLE_AGENT, name, department), region);
}
pb::Actor Supervisor(const std::string& name, const std::string& region = "") {
  return WithRegion(TestActor(pb::ROLE_SUPERVISOR, name), region);
}
pb::Actor Admin() { return TestActor(pb::ROLE_ADMIN, "root"); }

pb::Request SubmitAt(const std::string& grid, const std::string& category = "water") {
  pb::Request r;
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category(category);
  report->set_grid(grid);
  report->set_reporter("grid-worker-1");
  report->set_description("water leaking from a pipe");
  report->set_source(pb::SOURCE_GRID_APP);
  return r;
}
pb::Request GetOf(uint64_t id, bool with_history = false) {
  pb::Request r;
  r.mutable_get()->set_event_id(id);
  r.mutable_get()->set_with_history(with_history);
  return r;
}
pb::Request ClaimOf(uint64_t id, const std::string& department) {
  pb::Request r;
  r.mutable_claim()->set_event_id(id);
  r.mutable_claim()->set_department(department);
  r.mutable_claim()->set_agent("agent");
  return r;
}
pb::Request ReleaseOf(uint64_t id, uint64_t claim) {
  pb::Request r;
  r.mutable_release()->set_event_id(id);
  r.mutable_release()->set_claim_number(claim);
  return r;
}
pb::Request ProgressOf(uint64_t id, uint64_t claim) {
  pb::Request r;
  r.mutable_progress()->set_event_id(id);
  r.mutable_progress()->set_claim_number(claim);
  r.mutable_progress()->set_note("on site");
  return r;
}
pb::Request ResolveOf(uint64_t id, uint64_t claim) {
  pb::Request r;
  r.mutable_resolve()->set_event_id(id);
  r.mutable_resolve()->set_claim_number(claim);
  r.mutable_resolve()->set_note("pipe replaced");
  return r;
}
pb::Request ReturnOf(uint64_t id, const std::string& department, uint64_t claim = 0) {
  pb::Request r;
  r.mutable_return_task()->set_event_id(id);
  r.mutable_return_task()->set_department(department);
  r.mutable_return_task()->set_claim_number(claim);
  r.mutable_return_task()->set_reason("not ours");
  return r;
}
pb::Request WhistleOf(uint64_t id, const std::string& department, uint64_t claim = 0) {
  pb::Request r;
  r.mutable_whistle()->set_event_id(id);
  r.mutable_whistle()->set_department(department);
  r.mutable_whistle()->set_claim_number(claim);
  r.mutable_whistle()->set_reason("needs the street");
  return r;
}
pb::Request SuperviseOf(uint64_t id) {
  pb::Request r;
  r.mutable_supervise()->set_event_id(id);
  r.mutable_supervise()->set_note("hurry");
  return r;
}
pb::Request FeedbackOf(uint64_t id) {
  pb::Request r;
  r.mutable_feedback()->set_event_id(id);
  r.mutable_feedback()->set_satisfied(true);
  r.mutable_feedback()->set_score(5);
  return r;
}
pb::Request ReopenOf(uint64_t id) {
  pb::Request r;
  r.mutable_reopen()->set_event_id(id);
  r.mutable_reopen()->set_reason("came back");
  return r;
}
pb::Request CancelOf(uint64_t id) {
  pb::Request r;
  r.mutable_cancel()->set_event_id(id);
  r.mutable_cancel()->set_reason("reported by mistake");
  return r;
}
pb::Request MergeOf(uint64_t id, uint64_t into) {
  pb::Request r;
  r.mutable_merge()->set_event_id(id);
  r.mutable_merge()->set_into_event_id(into);
  return r;
}
// A List or Stats of one scope; `set` fills it in.
template <typename Set>
pb::Request ListOf(Set set) {
  pb::Request r;
  set(*r.mutable_list());
  return r;
}
// A List or Stats scope setter.
auto OfDepartment(const char* id) {
  return [id](auto& q) { q.set_department(id); };
}
auto OfRegion(const char* code) {
  return [code](auto& q) { q.set_region(code); };
}

template <typename Set>
pb::Request StatsOf(Set set) {
  pb::Request r;
  r.mutable_stats()->set_month("2026-11");
  set(*r.mutable_stats());
  return r;
}

std::string Key(char c) { return std::string(32, c); }
pb::Principal NewPrincipal(const std::string& name, pb::Role role,
                           const std::string& department = "", const std::string& region = "",
                           const std::string& key = Key('k')) {
  pb::Principal p;
  p.set_name(name);
  p.set_role(role);
  if (!department.empty()) p.add_departments(department);
  p.set_region(region);
  p.set_public_key(key);
  return p;
}
std::vector<std::string> Departments(const pb::Principal& p) {
  return {p.departments().begin(), p.departments().end()};
}

pb::Request Create(const pb::Principal& p) {
  pb::Request r;
  *r.mutable_create_principal()->mutable_principal() = p;
  return r;
}
pb::Request Revoke(const std::string& name) {
  pb::Request r;
  r.mutable_revoke_principal()->set_name(name);
  r.mutable_revoke_principal()->set_reason("left the team");
  return r;
}

pb::Response RunOk(EngineFixture& f, const pb::Request& request, const pb::Actor& actor) {
  pb::Response r = f.Run(request, actor);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  return r;
}

// The request must be refused with exactly this code and message, and write nothing at all.
void CheckRefused(EngineFixture& f, const pb::Request& request, const pb::Actor& actor,
                  pb::StatusCode code, const std::string& message) {
  auto before = DumpAll(f.store());
  pb::Response r = f.Run(request, actor);
  CHECK(pb::StatusCode_Name(r.code()) == pb::StatusCode_Name(code));
  CHECK(r.message() == message);
  CHECK(DumpAll(f.store()) == before);
}
void CheckDenied(EngineFixture& f, const pb::Request& request, const pb::Actor& actor,
                 const std::string& message) {
  CheckRefused(f, request, actor, pb::STATUS_PERMISSION_DENIED, message);
}

std::vector<uint64_t> Ids(const pb::Response& r) {
  std::vector<uint64_t> ids;
  for (const auto& e : r.list().events()) ids.push_back(e.id());
  return ids;
}

// ------------------------------------------------------------------ the table, cell by cell

// The table of authorization.h, written out again. Columns: reporter, agent, hotline,
// supervisor, admin, console, viewer.
using Row = std::array<Scope, 7>;

std::map<std::string, Row> ExpectedTable() {
  constexpr Scope D = Scope::kDenied, A = Scope::kAny, O = Scope::kOwn, R = Scope::kRegion,
                  P = Scope::kDepartment;
  // clang-format off
  return {
      //                        reporter agent hotline supervisor admin console viewer
      {"submit",            {R, D, A, D, D, D, D}},
      {"claim",             {D, P, D, D, D, D, D}},
      {"release",           {D, P, D, D, D, D, D}},
      {"progress",          {D, P, D, D, D, D, D}},
      {"resolve",           {D, P, D, D, D, D, D}},
      {"return_task",       {D, P, D, D, D, D, D}},
      {"whistle",           {D, P, D, R, D, D, D}},
      {"supervise",         {D, D, D, R, D, D, D}},
      {"feedback",          {O, D, A, D, D, D, D}},
      {"reopen",            {D, D, A, R, D, D, D}},
      {"merge",             {D, D, D, R, D, D, D}},
      {"cancel",            {D, D, D, R, D, D, D}},
      {"set_mode",          {D, D, D, R, A, D, D}},
      {"create_principal",  {D, D, D, D, A, D, D}},
      {"revoke_principal",  {D, D, D, D, A, D, D}},
      {"list_principals",   {D, D, D, D, A, D, D}},
      {"checkpoint",        {D, D, D, D, A, D, D}},
      {"digest",            {D, D, D, D, A, D, D}},
      {"metrics",           {D, D, D, A, A, D, D}},
      {"get",               {O, P, A, R, A, A, A}},
      {"list",              {O, P, A, R, A, A, A}},  // reporter: its own reports only (mine)
      {"stats",             {D, P, A, R, A, A, A}},
      {"log",               {D, P, A, R, A, A, A}},
      {"whoami",            {A, A, A, A, A, A, A}},
      {"board",             {D, D, D, R, A, A, A}},
      {"ranks",             {D, D, D, R, A, A, A}},
      {"ticket",            {A, A, A, A, A, D, A}},
  };
  // clang-format on
}

std::string ScopeName(Scope s) {
  // clang-format off
  switch (s) {
    case Scope::kDenied: return "denied";
    case Scope::kAny: return "any";
    case Scope::kOwn: return "own";
    case Scope::kRegion: return "region";
    case Scope::kDepartment: return "department";
  }
  // clang-format on
  return "?";
}

constexpr int kEverything = -1;  // ROLE_DEV
constexpr int kFirstAdmin = -2;  // ROLE_SYSTEM: create_principal only
constexpr int kNothing = -3;     // ROLE_UNSPECIFIED

struct TableRole {
  pb::Role role;
  const char* name;  // as a denial names it
  const char* principal;
  const char* department;
  int column;  // in Row, or kEverything / kFirstAdmin / kNothing
};

// Each meets its scope in the table scene: the reporter sent both reports, the agent's department
// holds event 1, and nobody has a region.
constexpr TableRole kTableRoles[] = {
    {pb::ROLE_REPORTER, "reporter", "rep-a", "", 0},
    {pb::ROLE_AGENT, "agent", "agent-a", "c1-committee", 1},
    {pb::ROLE_HOTLINE, "hotline", "hotline-a", "", 2},
    {pb::ROLE_SUPERVISOR, "supervisor", "sup-a", "", 3},
    {pb::ROLE_ADMIN, "admin", "root", "", 4},
    {pb::ROLE_CONSOLE, "console", "ops-console", "", 5},
    {pb::ROLE_VIEWER, "viewer", "watcher", "", 6},
    {pb::ROLE_DEV, "dev", "dev", "", kEverything},
    {pb::ROLE_SYSTEM, "system", "engine", "", kFirstAdmin},
    {pb::ROLE_UNSPECIFIED, "unknown role", "nobody", "", kNothing},
};

Scope Expected(const TableRole& role, const std::string& command, const Row& row) {
  if (role.column == kEverything) return Scope::kAny;
  if (role.column == kFirstAdmin)
    return command == "create_principal" ? Scope::kAny : Scope::kDenied;
  if (role.column == kNothing) return Scope::kDenied;
  return row[static_cast<size_t>(role.column)];
}

// Event 1 (water) and event 2 (noise) in grid 1, both reported by "rep-a"; event 1 claimed by
// c1-committee (claim 1); a principal "victim" to revoke.
void SetUpTableScene(EngineFixture& f) {
  REQUIRE(f.SubmitOk("water", kGrid1, "rep-a") == 1);
  REQUIRE(f.SubmitOk("noise", kGrid1, "rep-a") == 2);
  REQUIRE(f.ClaimOk(1, "c1-committee") == 1);
  RunOk(f, Create(NewPrincipal("victim", pb::ROLE_REPORTER, "", "", Key('v'))), TestActor());
}

std::string CheckpointDir(const EngineFixture& f) { return f.db_path() + "-checkpoint"; }

// A request of this kind that would pass every scope check in the table scene. The oneof case is
// set through reflection, so a command added to the wire later still gets a request (and fails the
// test for want of a row).
pb::Request TableRequest(const google::protobuf::FieldDescriptor* field, const EngineFixture& f) {
  pb::Request r;
  r.GetReflection()->MutableMessage(&r, field);
  // clang-format off
  switch (r.command_case()) {
    case pb::Request::kSubmit: r = SubmitAt(kGrid2); break;
    case pb::Request::kClaim: r = ClaimOf(1, "c1-committee"); break;
    case pb::Request::kRelease: r = ReleaseOf(1, 1); break;
    case pb::Request::kProgress: r = ProgressOf(1, 1); break;
    case pb::Request::kResolve: r = ResolveOf(1, 1); break;
    case pb::Request::kReturnTask: r = ReturnOf(1, "c1-committee", 1); break;
    case pb::Request::kWhistle: r = WhistleOf(1, "c1-committee", 1); break;
    case pb::Request::kSupervise: r = SuperviseOf(1); break;
    case pb::Request::kFeedback: r = FeedbackOf(1); break;
    case pb::Request::kReopen: r = ReopenOf(1); break;
    case pb::Request::kMerge: r = MergeOf(2, 1); break;
    case pb::Request::kCancel: r = CancelOf(1); break;
    case pb::Request::kSetMode:
      r.mutable_set_mode()->set_region(kCommunity1);
      r.mutable_set_mode()->set_mode(pb::MODE_EMERGENCY);
      break;
    case pb::Request::kCreatePrincipal: r = Create(NewPrincipal("new", pb::ROLE_HOTLINE)); break;
    case pb::Request::kRevokePrincipal: r = Revoke("victim"); break;
    case pb::Request::kCheckpoint: r.mutable_checkpoint()->set_dir(CheckpointDir(f)); break;
    case pb::Request::kGet: r = GetOf(1, true); break;
    case pb::Request::kList: r = ListOf(OfDepartment("c1-committee")); break;
    case pb::Request::kStats: r = StatsOf(OfDepartment("c1-committee")); break;
    case pb::Request::kRanks:
      r.mutable_ranks()->set_month("2026-11");
      r.mutable_ranks()->set_departments(true);
      break;
    default: break;  // log, digest, list_principals, whoami: nothing to fill in
  }
  // clang-format on
  // Every command gets a request id: one that slipped past authorization would leave an
  // idempotency entry behind even when its processor refused it.
  r.set_request_id("table-request");
  return r;
}

TEST_CASE("every request kind is allowed or denied to every role as the table says") {
  const std::map<std::string, Row> table = ExpectedTable();
  const google::protobuf::OneofDescriptor* commands =
      pb::Request::descriptor()->FindOneofByName("command");
  REQUIRE(commands != nullptr);
  // No row for a command the wire no longer has.
  CHECK(table.size() == static_cast<size_t>(commands->field_count()));

  for (int i = 0; i < commands->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = commands->field(i);
    const auto command = static_cast<pb::Request::CommandCase>(field->number());
    const std::string name(field->name());
    INFO("command: ", name);
    auto row = table.find(name);
    if (row == table.end()) {
      FAIL_CHECK("the expected table has no row for ", name);
      continue;
    }
    EngineFixture f;
    SetUpTableScene(f);
    // Denied cells first, on the scene as set up: an allowed request may change it.
    for (bool denied : {true, false}) {
      for (const TableRole& role : kTableRoles) {
        const Scope expected = Expected(role, name, row->second);
        if ((expected == Scope::kDenied) != denied) continue;
        INFO("role: ", role.name);
        CHECK(ScopeName(ScopeFor(role.role, command)) == ScopeName(expected));

        pb::Actor actor = TestActor(role.role, role.principal, role.department);
        auto before = DumpAll(f.store());
        pb::Request request = TableRequest(field, f);
        // A supervisor's whistle names no department (and so quotes no claim).
        if (command == pb::Request::kWhistle && role.role == pb::ROLE_SUPERVISOR) {
          request.mutable_whistle()->clear_department();
          request.mutable_whistle()->set_claim_number(0);
        }
        // A reporter lists only its own reports.
        if (command == pb::Request::kList && role.role == pb::ROLE_REPORTER) request.mutable_list()->set_mine(true);
        pb::Response reply = f.Run(request, actor);
        if (denied) {
          CHECK(pb::StatusCode_Name(reply.code()) == "STATUS_PERMISSION_DENIED");
          std::string who = fmt::format("{} '{}'", role.name, role.principal);
          if (*role.department != '\0') who += fmt::format(" of department '{}'", role.department);
          CHECK(reply.message() == fmt::format("{} may not {}", who, name));
          CHECK(DumpAll(f.store()) == before);
          CHECK_FALSE(std::filesystem::exists(CheckpointDir(f)));
        } else {
          CHECK_MESSAGE(reply.code() != pb::STATUS_PERMISSION_DENIED, reply.message());
        }
      }
    }
  }
}

TEST_CASE("the table test knows every role") {
  const google::protobuf::EnumDescriptor* roles = pb::Role_descriptor();
  for (int i = 0; i < roles->value_count(); ++i) {
    const int number = roles->value(i)->number();
    INFO("role: ", roles->value(i)->name());
    bool known = false;
    for (const TableRole& role : kTableRoles) known = known || role.role == number;
    CHECK(known);
    const bool named = RoleName(static_cast<pb::Role>(number)) != "unknown role";
    CHECK(named == (number != pb::ROLE_UNSPECIFIED));
  }
}

// ------------------------------------------------------------------ own

TEST_CASE("a reporter reads and rates the event it submitted and is denied another's") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1, "rep-a");
  CHECK(f.Run(GetOf(id), Reporter("rep-a")).code() == pb::STATUS_OK);
  CheckDenied(f, GetOf(id), Reporter("rep-b"),
              "reporter 'rep-b' may not get: event 1 is not one of its reports");

  REQUIRE(f.Resolve(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  CheckDenied(f, FeedbackOf(id), Reporter("rep-b"),
              "reporter 'rep-b' may not feedback: event 1 is not one of its reports");
  pb::Response rated = RunOk(f, FeedbackOf(id), Reporter("rep-a"));
  CHECK(rated.event().event().state() == pb::STATE_CLOSED);
}

TEST_CASE("a reporter whose report was linked to an open event reads and rates it") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1, "rep-a");
  pb::Response linked = f.Submit("water", kGrid1, "rep-b");  // same category, same grid
  REQUIRE_MESSAGE(linked.code() == pb::STATUS_OK, linked.message());
  REQUIRE(linked.event().linked_as_duplicate());
  REQUIRE(linked.event().event().id() == id);

  CHECK(f.Run(GetOf(id), Reporter("rep-b")).code() == pb::STATUS_OK);
  CheckDenied(f, GetOf(id), Reporter("rep-c"),
              "reporter 'rep-c' may not get: event 1 is not one of its reports");
  REQUIRE(f.Resolve(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  CheckDenied(f, FeedbackOf(id), Reporter("rep-c"),
              "reporter 'rep-c' may not feedback: event 1 is not one of its reports");
  CHECK(RunOk(f, FeedbackOf(id), Reporter("rep-b")).event().event().state() == pb::STATE_CLOSED);
}

TEST_CASE("a reporter whose event was merged into another reads the other") {
  EngineFixture f;
  uint64_t target = f.SubmitOk("water", kGrid1, "rep-a");
  uint64_t source = f.SubmitOk("noise", kGrid1, "rep-c");
  CheckDenied(f, GetOf(target), Reporter("rep-c"),
              "reporter 'rep-c' may not get: event 1 is not one of its reports");
  REQUIRE(f.Merge(source, target).code() == pb::STATUS_OK);
  CHECK(f.Run(GetOf(target), Reporter("rep-c")).code() == pb::STATUS_OK);
}

TEST_CASE("the reports linked to a merged event come along: their reporters read and rate the target") {
  EngineFixture f;
  uint64_t target = f.SubmitOk("water", kGrid1, "rep-a");
  uint64_t source = f.SubmitOk("noise", kGrid1, "rep-c");
  pb::Response dup = f.Submit("noise", kGrid1, "rep-d");  // linked to the source
  REQUIRE(dup.event().linked_as_duplicate());
  REQUIRE(dup.event().event().id() == source);
  REQUIRE(f.Merge(source, target).code() == pb::STATUS_OK);
  // Merged on: the source's own reports come along again, carried a second time.
  uint64_t last = f.SubmitOk("water", kGrid3, "rep-e");
  REQUIRE(f.Merge(target, last).code() == pb::STATUS_OK);

  for (const char* reporter : {"rep-a", "rep-c", "rep-d"}) {
    CAPTURE(reporter);
    CHECK(f.Run(GetOf(last), Reporter(reporter)).code() == pb::STATUS_OK);
    pb::Request mine;
    mine.mutable_list()->set_mine(true);
    pb::Response listed = RunOk(f, mine, Reporter(reporter));
    REQUIRE(listed.list().events_size() >= 1);
    CHECK(listed.list().events(0).id() == last);  // newest first: the event it now follows
  }
  pb::Event e = f.EventOf(last);
  // One link: the target's own report, carrying the two reports linked to it.
  REQUIRE(e.linked_size() == 1);
  CHECK(e.linked(0).event_id() == target);
  CHECK(e.linked(0).principal() == "rep-a");
  CHECK(e.linked(0).request_id().empty());  // no hotline order follows a merge
  CHECK(e.linked_count() == 3);
  CHECK(std::vector<std::string>(e.linked_principals().begin(), e.linked_principals().end()) ==
        std::vector<std::string>{"rep-a", "rep-c", "rep-d"});
  const std::vector<pb::Record> history = f.HistoryOf(last);
  const pb::Record& carried = history.back();
  REQUIRE(carried.has_report_linked());
  CHECK(carried.report_linked().carried_links() == 2);
  CHECK(std::vector<std::string>(carried.report_linked().carried_principals().begin(),
                                 carried.report_linked().carried_principals().end()) ==
        std::vector<std::string>{"rep-c", "rep-d"});
  REQUIRE(f.Resolve(last, f.ClaimOk(last, "c2-committee")).code() == pb::STATUS_OK);
  CHECK(RunOk(f, FeedbackOf(last), Reporter("rep-d")).event().event().state() == pb::STATE_CLOSED);
}

TEST_CASE("every role may list its own reports, and a reporter nothing else") {
  EngineFixture f;
  REQUIRE(f.SubmitOk("water", kGrid1, "rep-a") == 1);
  pb::Request mine;
  mine.mutable_list()->set_mine(true);
  pb::Response listed = RunOk(f, mine, Reporter("rep-a", kCommunity2));  // its region aside
  REQUIRE(listed.list().events_size() == 1);
  CHECK(listed.list().events(0).id() == 1);
  CHECK(RunOk(f, mine, Reporter("rep-b")).list().events_size() == 0);
  // The other roles too: what each lists is what it reported, here nothing.
  CHECK(RunOk(f, mine, Agent("desk", "c1-committee")).list().events_size() == 0);
  CHECK(RunOk(f, mine, Supervisor("sup-a", kCommunity2)).list().events_size() == 0);
  CHECK(RunOk(f, mine, Admin()).list().events_size() == 0);

  pb::Request department;
  department.mutable_list()->set_department("c1-committee");
  CheckDenied(f, department, Reporter("rep-a"),
              "reporter 'rep-a' may not list: it lists only its own reports (mine)");
  pb::Request city;
  city.mutable_list()->set_city(true);
  CheckDenied(f, city, Reporter("rep-a"), "reporter 'rep-a' may not list: it lists only its own reports (mine)");
  // Stats stay denied outright.
  pb::Request stats;
  stats.mutable_stats()->set_department("c1-committee");
  stats.mutable_stats()->set_month("2026-11");
  CheckDenied(f, stats, Reporter("rep-a"), "reporter 'rep-a' may not stats");
}

TEST_CASE("get by submit_request_id finds the reporter's own report only") {
  EngineFixture f;
  pb::Response submitted = f.Submit("water", kGrid1, "rep-a", "my-report");
  REQUIRE_MESSAGE(submitted.code() == pb::STATUS_OK, submitted.message());
  pb::Request get;
  get.mutable_get()->set_submit_request_id("my-report");
  pb::Response mine = RunOk(f, get, Reporter("rep-a"));
  CHECK(mine.event().event().id() == submitted.event().event().id());
  // Another reporter's request ids are not even looked up: the same id is simply not its own.
  CheckRefused(f, get, Reporter("rep-b"), pb::STATUS_NOT_FOUND,
               "no report was submitted with request id 'my-report'");
}

// ------------------------------------------------------------------ region

TEST_CASE("a region-scoped reporter submits in its region only") {
  EngineFixture f;
  pb::Actor reporter = Reporter("rep-a", kCommunity1);
  CHECK(RunOk(f, SubmitAt(kGrid2), reporter).event().event().grid() == kGrid2);
  CheckDenied(f, SubmitAt(kGrid3), reporter,
              "reporter 'rep-a' may not submit: grid 370602001002-01 is outside its region "
              "370602001001");

  // Placed by position: the grid the position falls in counts.
  pb::Request by_position = SubmitAt("");
  by_position.mutable_submit()->mutable_report()->mutable_position()->set_lon(121.425);
  by_position.mutable_submit()->mutable_report()->mutable_position()->set_lat(37.505);
  CheckDenied(f, by_position, reporter,
              "reporter 'rep-a' may not submit: grid 370602001002-01 is outside its region "
              "370602001001");
  by_position.mutable_submit()->mutable_report()->mutable_position()->set_lon(121.405);
  CHECK(RunOk(f, by_position, reporter).event().event().grid() == kGrid1);
}

TEST_CASE("a region-scoped supervisor acts on events in its region and is denied the others") {
  EngineFixture f;
  uint64_t in = f.SubmitOk("water", kGrid1);
  uint64_t also_in = f.SubmitOk("noise", kGrid2);
  uint64_t out = f.SubmitOk("water", kGrid3);
  REQUIRE(out == 3);
  pb::Actor supervisor = Supervisor("sup-a", kCommunity1);
  const std::string outside = "event 3 is outside its region 370602001001";
  CheckDenied(f, SuperviseOf(out), supervisor, "supervisor 'sup-a' may not supervise: " + outside);
  CheckDenied(f, GetOf(out), supervisor, "supervisor 'sup-a' may not get: " + outside);
  CheckDenied(f, WhistleOf(out, ""), supervisor, "supervisor 'sup-a' may not whistle: " + outside);
  CheckDenied(f, ReopenOf(out), supervisor, "supervisor 'sup-a' may not reopen: " + outside);
  CheckDenied(f, CancelOf(out), supervisor, "supervisor 'sup-a' may not cancel: " + outside);
  CheckDenied(f, MergeOf(out, in), supervisor, "supervisor 'sup-a' may not merge: " + outside);
  CheckDenied(f, MergeOf(in, out), supervisor, "supervisor 'sup-a' may not merge: " + outside);

  CHECK(RunOk(f, SuperviseOf(in), supervisor).event().event().supervised());
  CHECK(RunOk(f, GetOf(in), supervisor).event().event().id() == in);
  CHECK(RunOk(f, MergeOf(also_in, in), supervisor).event().event().linked_size() == 1);
  CHECK(RunOk(f, CancelOf(in), supervisor).event().event().state() == pb::STATE_CANCELLED);
  // The street holds both communities.
  CHECK(RunOk(f, SuperviseOf(out), Supervisor("sup-s", kStreet)).event().event().supervised());
}

TEST_CASE("a region-scoped supervisor lists and counts within its region only") {
  EngineFixture f;
  f.SubmitOk("water", kGrid1);
  f.SubmitOk("water", kGrid3);
  pb::Actor supervisor = Supervisor("sup-a", kCommunity1);
  auto level = [](auto& q) { q.set_level(pb::LEVEL_COMMUNITY); };
  auto city = [](pb::ListQuery& q) { q.set_city(true); };

  CHECK(Ids(RunOk(f, ListOf(OfRegion(kCommunity1)), supervisor)) == std::vector<uint64_t>{1});
  CHECK(Ids(RunOk(f, ListOf(OfRegion(kGrid1)), supervisor)) == std::vector<uint64_t>{1});
  RunOk(f, StatsOf(OfRegion(kCommunity1)), supervisor);
  CHECK(Ids(RunOk(f, ListOf(OfDepartment("c1-committee")), supervisor)) ==
        std::vector<uint64_t>{1});
  RunOk(f, StatsOf(OfDepartment("c1-water-unit")), supervisor);

  CheckDenied(
      f, ListOf(OfRegion(kCommunity2)), supervisor,
      "supervisor 'sup-a' may not list: region 370602001002 is outside its region 370602001001");
  CheckDenied(
      f, ListOf(OfRegion(kStreet)), supervisor,
      "supervisor 'sup-a' may not list: region 370602001 is outside its region 370602001001");
  CheckDenied(
      f, StatsOf(OfRegion(kCommunity2)), supervisor,
      "supervisor 'sup-a' may not stats: region 370602001002 is outside its region 370602001001");
  CheckDenied(f, ListOf(OfDepartment("c2-committee")), supervisor,
              "supervisor 'sup-a' may not list: department 'c2-committee' works outside its region "
              "370602001001");
  CheckDenied(f, StatsOf(OfDepartment("s-office")), supervisor,
              "supervisor 'sup-a' may not stats: department 's-office' works outside its region "
              "370602001001");
  CheckDenied(f, ListOf(level), supervisor,
              "supervisor 'sup-a' may not list: its region is 370602001001, not the whole city");
  CheckDenied(f, ListOf(city), supervisor,
              "supervisor 'sup-a' may not list: its region is 370602001001, not the whole city");
  CheckDenied(f, StatsOf(level), supervisor,
              "supervisor 'sup-a' may not stats: its region is 370602001001, not the whole city");

  // Without a region: the whole city.
  pb::Actor everywhere = Supervisor("sup-city");
  CHECK(Ids(RunOk(f, ListOf(level), everywhere)) == std::vector<uint64_t>{1, 2});
  CHECK(Ids(RunOk(f, ListOf(city), everywhere)) == std::vector<uint64_t>{2, 1});
  CHECK(RunOk(f, StatsOf(level), everywhere).stats().counters().offered() == 2);
  CHECK(Ids(RunOk(f, ListOf(OfRegion(kCommunity2)), everywhere)) == std::vector<uint64_t>{2});
}

// ------------------------------------------------------------------ department

TEST_CASE("an agent claims, returns and whistles for its own department only") {
  EngineFixture f;
  uint64_t claimed = f.SubmitOk("water", kGrid1);
  uint64_t returned = f.SubmitOk("water", kGrid2);
  uint64_t whistled = f.SubmitOk("noise", kGrid1);
  pb::Actor agent = Agent("agent-a", "c1-committee");
  const std::string who = "agent 'agent-a' of department 'c1-committee'";
  const std::string not_b = "it does not act for department 'c1-water-unit'";
  CheckDenied(f, ClaimOf(claimed, "c1-water-unit"), agent, who + " may not claim: " + not_b);
  CheckDenied(f, ReturnOf(returned, "c1-water-unit"), agent,
              who + " may not return_task: " + not_b);
  CheckDenied(f, WhistleOf(whistled, "c1-water-unit"), agent, who + " may not whistle: " + not_b);

  CHECK(RunOk(f, ClaimOf(claimed, "c1-committee"), agent).event().event().lead() == "c1-committee");
  pb::Event back = RunOk(f, ReturnOf(returned, "c1-committee"), agent).event().event();
  CHECK(std::vector<std::string>(back.returned_by().begin(), back.returned_by().end()) ==
        std::vector<std::string>{"c1-committee"});
  CHECK(RunOk(f, WhistleOf(whistled, "c1-committee"), agent).event().event().level() ==
        pb::LEVEL_STREET);
}

TEST_CASE("only an agent of the department holding the claim releases, progresses and resolves") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Actor holder = Agent("agent-a", "c1-committee");
  // Before anyone claims it, nobody holds it.
  CheckDenied(f, ProgressOf(id, 1), holder,
              "agent 'agent-a' of department 'c1-committee' may not progress: its department does "
              "not hold event 1");
  REQUIRE(RunOk(f, ClaimOf(id, "c1-committee"), holder).event().event().claim_number() == 1);

  // c1-water-unit is offered the same event; c2-committee is not even in its community.
  for (const pb::Actor& other :
       {Agent("agent-w", "c1-water-unit"), Agent("agent-b", "c2-committee")}) {
    const std::string who =
        fmt::format("agent '{}' of department '{}'", other.principal(), other.department());
    const std::string why = "its department does not hold event 1";
    CheckDenied(f, ReleaseOf(id, 1), other, who + " may not release: " + why);
    CheckDenied(f, ProgressOf(id, 1), other, who + " may not progress: " + why);
    CheckDenied(f, ResolveOf(id, 1), other, who + " may not resolve: " + why);
  }

  CHECK(RunOk(f, ProgressOf(id, 1), holder).event().event().state() == pb::STATE_IN_PROGRESS);
  CHECK(RunOk(f, ReleaseOf(id, 1), holder).event().event().state() == pb::STATE_DISPATCHED);
  REQUIRE(RunOk(f, ClaimOf(id, "c1-committee"), holder).event().event().claim_number() == 2);
  CHECK(RunOk(f, ResolveOf(id, 2), holder).event().event().state() == pb::STATE_RESOLVED);
}

TEST_CASE("an agent reads events within its department's jurisdiction only") {
  EngineFixture f;
  uint64_t in = f.SubmitOk("water", kGrid1);
  uint64_t out = f.SubmitOk("water", kGrid3);
  pb::Actor community = Agent("agent-a", "c1-committee");
  CHECK(RunOk(f, GetOf(in), community).event().event().id() == in);
  CheckDenied(f, GetOf(out), community,
              "agent 'agent-a' of department 'c1-committee' may not get: event 2 is outside its "
              "department's jurisdiction");
  pb::Actor street = Agent("agent-s", "s-office");
  CHECK(RunOk(f, GetOf(in), street).event().event().id() == in);
  CHECK(RunOk(f, GetOf(out), street).event().event().id() == out);
}

// Each record of `log`: 'r' read in full, 'w' withheld to its mark (and nothing else).
std::string ReadOrWithheld(const pb::LogResult& log) {
  std::string out;
  for (const pb::Record& r : log.records()) {
    pb::Record mark;
    mark.set_seq(r.seq());
    mark.set_event_id(r.event_id());
    mark.set_at_ms(r.at_ms());
    mark.set_withheld(true);
    if (!r.withheld()) {
      out += r.has_actor() && r.body_case() != pb::Record::BODY_NOT_SET ? 'r' : '?';
    } else {
      out += r.SerializeAsString() == mark.SerializeAsString() && r.at_ms() > 0 ? 'w' : '!';
    }
  }
  return out;
}

TEST_CASE("the log withholds from an agent and a regional supervisor what they may not get, to its mark") {
  EngineFixture f;
  const uint64_t first_seq = f.engine().state().committed_seq();
  const uint64_t ours = f.SubmitOk("water", kGrid1);    // community 1: submitted, dispatched
  const uint64_t theirs = f.SubmitOk("water", kGrid3);  // community 2
  RunOk(f, Create(NewPrincipal("desk-x", pb::ROLE_AGENT, "c1-committee", "", Key('x'))), Admin());
  REQUIRE(ours != theirs);
  pb::Request log;
  log.mutable_log()->set_after_seq(first_seq);
  // Readers of the whole log, and those who read part of it.
  CHECK(ReadOrWithheld(RunOk(f, log, Admin()).log()) == "rrrrr");
  CHECK(ReadOrWithheld(RunOk(f, log, Supervisor("sup-city")).log()) == "rrrrr");
  CHECK(ReadOrWithheld(RunOk(f, log, TestActor(pb::ROLE_HOTLINE, "hotline-a")).log()) == "rrrrr");
  CHECK(ReadOrWithheld(RunOk(f, log, TestActor(pb::ROLE_VIEWER, "screen")).log()) == "rrrrr");
  CHECK(ReadOrWithheld(RunOk(f, log, TestActor(pb::ROLE_CONSOLE, "console")).log()) == "rrrrr");
  CHECK(ReadOrWithheld(RunOk(f, log, TestActor(pb::ROLE_DEV, "dev")).log()) == "rrrrr");
  CHECK(ReadOrWithheld(RunOk(f, log, Agent("agent-a", "c1-committee")).log()) == "rrwww");
  CHECK(ReadOrWithheld(RunOk(f, log, Agent("agent-c", "c2-committee")).log()) == "wwrrw");
  CHECK(ReadOrWithheld(RunOk(f, log, Agent("agent-s", "s-office")).log()) == "rrrrw");
  CHECK(ReadOrWithheld(RunOk(f, log, Agent("agent-r", "s-office", kCommunity2)).log()) == "wwrrw");
  CHECK(ReadOrWithheld(RunOk(f, log, Supervisor("sup-2", kCommunity2)).log()) == "wwrrw");
  CHECK(ReadOrWithheld(RunOk(f, log, Supervisor("sup-street", kStreet)).log()) == "rrrrw");
  // A page counts withheld records as records: max_records bounds the answer either way.
  log.mutable_log()->set_max_records(3);
  CHECK(ReadOrWithheld(RunOk(f, log, Agent("agent-c", "c2-committee")).log()) == "wwr");
  CHECK(ReadOrWithheld(RunOk(f, log, Supervisor("sup-2", kCommunity2)).log()) == "wwr");
}

TEST_CASE("the log's reach is get's: an event's records are withheld exactly when its get is denied") {
  EngineFixture f;
  const uint64_t mine = f.Run(SubmitAt(kGrid1), Reporter("rep-a")).event().event().id();
  std::vector<uint64_t> ids = {mine, f.SubmitOk("water", kGrid2), f.SubmitOk("noise", kGrid3)};
  const uint64_t linked = f.Run(SubmitAt(kGrid3, "noise"), Reporter("rep-b")).event().event().id();
  REQUIRE(linked == ids[2]);  // a repeat: rep-b reads it too
  RunOk(f, Create(NewPrincipal("desk-many", pb::ROLE_AGENT, "c2-committee", "", Key('m'))), Admin());
  pb::Principal duty = NewPrincipal("desk-duty", pb::ROLE_AGENT, "c1-committee", "", Key('n'));
  duty.add_departments("c2-committee");
  RunOk(f, Create(duty), Admin());
  const std::vector<pb::Actor> actors = {
      Reporter("rep-a"), Reporter("rep-b"), Reporter("rep-c"),
      Agent("agent-a", "c1-committee"), Agent("agent-w", "c1-water-unit"),
      Agent("agent-c", "c2-committee"), Agent("agent-s", "s-office"),
      Agent("agent-sr", "s-office", kCommunity2), Agent("agent-cr", "c1-committee", kCommunity2),
      Agent("agent-k", "k-bureau"), Agent("agent-x", "no-such-department"),
      TestActor(pb::ROLE_AGENT, "desk-many"), TestActor(pb::ROLE_AGENT, "desk-duty"),
      Supervisor("sup-city"), Supervisor("sup-1", kCommunity1), Supervisor("sup-g", kGrid2),
      Supervisor("sup-st", kStreet), TestActor(pb::ROLE_HOTLINE, "hotline-a"), Admin(),
      TestActor(pb::ROLE_CONSOLE, "console"), TestActor(pb::ROLE_VIEWER, "screen"),
      TestActor(pb::ROLE_DEV, "dev"), TestActor(pb::ROLE_UNSPECIFIED, "nobody"),
      TestActor(pb::ROLE_SYSTEM, "dispatcher")};
  int covered = 0, withheld = 0;
  for (const pb::Actor& actor : actors) {
    const ReadReach reach(actor, f.engine().state());
    for (uint64_t id : ids) {
      INFO(RoleName(actor.role()), " ", actor.principal(), " ", actor.region(), ", event ", id);
      const pb::Event event = f.EventOf(id);
      const bool may_get = Authorize(actor, GetOf(id), f.engine().state()).ok();
      CHECK(reach.Covers(event) == may_get);
      (may_get ? covered : withheld) += 1;
      // By the grid alone: exact but for a reporter's own reports, which it cannot tell.
      CHECK(reach.CoversGrid(event.grid()) == (may_get || actor.role() == pb::ROLE_REPORTER));
      // Every event covered lies in one of the bounding regions, if any bound it.
      if (auto regions = reach.BoundingRegions(); regions && may_get) {
        CHECK(std::any_of(regions->begin(), regions->end(), [&](const std::string& r) {
          return f.city().Contains(r, event.grid());
        }));
      }
    }
    // Unbounded exactly for the whole log's readers and reporters.
    CHECK(reach.BoundingRegions().has_value() ==
          !(reach.whole() || actor.role() == pb::ROLE_REPORTER));
    // Bounded: the regions hold every grid the reach covers and no other (held reads are indexed
    // under them: a record of a grid outside would not wake its reader, one inside always does).
    if (auto regions = reach.BoundingRegions()) {
      for (const char* grid : {kGrid1, kGrid2, kGrid3}) {
        INFO(RoleName(actor.role()), " ", actor.principal(), " ", actor.region(), ", grid ", grid);
        CHECK(reach.CoversGrid(grid) ==
              std::any_of(regions->begin(), regions->end(),
                          [&](const std::string& r) { return f.city().Contains(r, grid); }));
      }
    }
    CHECK(reach.whole() == ReadsWholeLog(actor.role(), actor.region()));
  }
  CHECK(covered > 20);
  CHECK(withheld > 20);
}

TEST_CASE("only those who read the whole log may subscribe to the bus") {
  auto principal = [](pb::Role role, const std::string& region = "") {
    pb::Principal p;
    p.set_role(role);
    p.set_region(region);
    return p;
  };
  CHECK(MaySubscribe(principal(pb::ROLE_ADMIN)));
  CHECK(MaySubscribe(principal(pb::ROLE_HOTLINE)));
  CHECK(MaySubscribe(principal(pb::ROLE_CONSOLE)));
  CHECK(MaySubscribe(principal(pb::ROLE_VIEWER)));
  CHECK(MaySubscribe(principal(pb::ROLE_SUPERVISOR)));
  CHECK(MaySubscribe(principal(pb::ROLE_DEV)));
  CHECK_FALSE(MaySubscribe(principal(pb::ROLE_SUPERVISOR, kStreet)));
  CHECK_FALSE(MaySubscribe(principal(pb::ROLE_AGENT)));
  CHECK_FALSE(MaySubscribe(principal(pb::ROLE_REPORTER)));
  CHECK_FALSE(MaySubscribe(principal(pb::ROLE_UNSPECIFIED)));
}

TEST_CASE("an agent lists and counts its own department or a region within its jurisdiction") {
  EngineFixture f;
  f.SubmitOk("water", kGrid1);
  f.SubmitOk("water", kGrid3);
  pb::Actor agent = Agent("agent-a", "c1-committee");
  const std::string who = "agent 'agent-a' of department 'c1-committee'";
  auto level = [](auto& q) { q.set_level(pb::LEVEL_COMMUNITY); };

  CHECK(Ids(RunOk(f, ListOf(OfDepartment("c1-committee")), agent)) == std::vector<uint64_t>{1});
  CHECK(RunOk(f, StatsOf(OfDepartment("c1-committee")), agent).stats().counters().offered() == 1);
  CHECK(Ids(RunOk(f, ListOf(OfRegion(kGrid1)), agent)) == std::vector<uint64_t>{1});
  RunOk(f, StatsOf(OfRegion(kCommunity1)), agent);

  const std::string other = "it does not act for department 'c2-committee'";
  CheckDenied(f, ListOf(OfDepartment("c2-committee")), agent, who + " may not list: " + other);
  CheckDenied(f, StatsOf(OfDepartment("c2-committee")), agent, who + " may not stats: " + other);
  CheckDenied(f, ListOf(OfRegion(kCommunity2)), agent,
              who + " may not list: region 370602001002 is outside its department's jurisdiction");
  CheckDenied(f, StatsOf(OfRegion(kStreet)), agent,
              who + " may not stats: region 370602001 is outside its department's jurisdiction");
  const std::string only = "only its departments or a region within their jurisdiction";
  CheckDenied(f, ListOf(level), agent, who + " may not list: " + only);
  CheckDenied(f, ListOf([](pb::ListQuery& q) { q.set_city(true); }), agent,
              who + " may not list: " + only);
  CheckDenied(f, StatsOf(level), agent, who + " may not stats: " + only);
}

TEST_CASE("an agent whose principal has a region is denied events outside it") {
  EngineFixture f;
  uint64_t in = f.SubmitOk("water", kGrid1);
  uint64_t out = f.SubmitOk("water", kGrid3);
  // s-office's jurisdiction is the whole street; this agent's region is one community of it.
  pb::Actor agent = Agent("agent-s", "s-office", kCommunity1);
  const std::string who = "agent 'agent-s' of department 's-office'";
  const std::string outside = "event 2 is outside its region 370602001001";
  CheckDenied(f, ClaimOf(out, "s-office"), agent, who + " may not claim: " + outside);
  CheckDenied(f, ReturnOf(out, "s-office"), agent, who + " may not return_task: " + outside);
  CheckDenied(f, WhistleOf(out, "s-office"), agent, who + " may not whistle: " + outside);
  CheckDenied(f, GetOf(out), agent, who + " may not get: " + outside);
  CHECK(RunOk(f, GetOf(in), agent).event().event().id() == in);
  // Inside its region the processor decides: s-office is not offered a community-level event.
  CHECK(f.Run(ClaimOf(in, "s-office"), agent).code() == pb::STATUS_NOT_ASSIGNED);

  // Its department holds the claim, but the event is outside its region.
  uint64_t claim = f.ClaimOk(in, "c1-committee");
  CheckDenied(f, ProgressOf(in, claim), Agent("agent-n", "c1-committee", kGrid2),
              "agent 'agent-n' of department 'c1-committee' may not progress: event 1 is outside "
              "its region 370602001001-02");
  // Nor can it read the event through its department's listing or counts: those are not cut to
  // a region, so a region-scoped agent lists by region.
  const std::string narrow = "agent 'agent-n' of department 'c1-committee' may not ";
  const std::string why = ": department 'c1-committee' works outside its region 370602001001-02";
  CheckDenied(f, ListOf(OfDepartment("c1-committee")), Agent("agent-n", "c1-committee", kGrid2),
              narrow + "list" + why);
  CheckDenied(f, StatsOf(OfDepartment("c1-committee")), Agent("agent-n", "c1-committee", kGrid2),
              narrow + "stats" + why);
}

TEST_CASE("an agent principal acting for several departments acts for each of them and no other") {
  EngineFixture f;
  uint64_t community = f.SubmitOk("water", kGrid1);
  uint64_t other = f.SubmitOk("water", kGrid3);
  pb::Principal desk = NewPrincipal("desk", pb::ROLE_AGENT, "c1-water-unit");
  desk.add_departments("c1-committee");
  RunOk(f, Create(desk), Admin());
  // A principal acting for several departments connects with no single department.
  pb::Actor agent = Agent("desk", "");
  CheckDenied(f, ClaimOf(community, "c2-committee"), agent,
              "agent 'desk' may not claim: it does not act for department 'c2-committee'");
  CheckDenied(
      f, GetOf(other), agent,
      "agent 'desk' may not get: event 2 is outside its department's jurisdiction");
  CHECK(RunOk(f, ClaimOf(community, "c1-water-unit"), agent).event().event().lead() ==
        "c1-water-unit");
  CHECK(RunOk(f, ProgressOf(community, 1), agent).event().event().state() == pb::STATE_IN_PROGRESS);
  CHECK(RunOk(f, ListOf(OfDepartment("c1-committee")), agent).list().events_size() == 1);
}

TEST_CASE("a stored agent principal's departments, not the actor's, decide") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid3);
  RunOk(f, Create(NewPrincipal("agent-c1", pb::ROLE_AGENT, "c1-committee")), Admin());
  CheckDenied(f, ClaimOf(id, "c2-committee"), Agent("agent-c1", "c2-committee"),
              "agent 'agent-c1' of department 'c2-committee' may not claim: it does not act for "
              "department 'c2-committee'");
}

TEST_CASE("an agent that acts for no department may do nothing") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  CheckDenied(f, GetOf(id), Agent("agent-x", ""),
              "agent 'agent-x' may not get: it acts for no department");
  CheckDenied(f, ClaimOf(id, "c1-committee"), Agent("agent-x", ""),
              "agent 'agent-x' may not claim: it acts for no department");
  // A stored principal that is not an agent has no departments either.
  RunOk(f, Create(NewPrincipal("sup-x", pb::ROLE_SUPERVISOR)), Admin());
  CheckDenied(f, GetOf(id), Agent("sup-x", "c1-committee"),
              "agent 'sup-x' of department 'c1-committee' may not get: it acts for no department");
}

// ------------------------------------------------------------------ the supervisor's whistle

TEST_CASE("a supervisor's whistle names no department and climbs the event whoever holds it") {
  EngineFixture f;
  uint64_t claimed = f.SubmitOk("water", kGrid1);
  uint64_t open = f.SubmitOk("noise", kGrid1);
  f.ClaimOk(claimed, "c1-committee");
  for (uint64_t id : {claimed, open}) {
    CAPTURE(id);
    RunOk(f, WhistleOf(id, ""), Supervisor("sup-a"));
    pb::Event e = f.EventOf(id);
    CHECK(e.level() == pb::LEVEL_STREET);
    CHECK(e.state() == pb::STATE_DISPATCHED);
    CHECK(e.lead().empty());
  }
}

TEST_CASE("a supervisor's whistle that names a department is denied, and changes nothing") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1);
  const uint64_t claim = f.ClaimOk(id, "c1-committee");
  // With the holder's own claim number, which is what let it through before.
  CheckDenied(f, WhistleOf(id, "c1-committee", claim), Supervisor("sup-a"),
              "supervisor 'sup-a' may not whistle: a supervisor's whistle names no department, not "
              "'c1-committee'");
  pb::Event e = f.EventOf(id);
  CHECK(e.level() == pb::LEVEL_COMMUNITY);
  CHECK(e.lead() == "c1-committee");
}

TEST_CASE("an agent's whistle that names no department is denied") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  CheckDenied(f, WhistleOf(id, ""), Agent("agent-a", "c1-committee"),
              "agent 'agent-a' of department 'c1-committee' may not whistle: it does not act for "
              "department ''");
  CHECK(f.EventOf(id).level() == pb::LEVEL_COMMUNITY);
}

TEST_CASE("a whistle that names no department and quotes a claim number is BAD_REQUEST") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  CheckRefused(f, WhistleOf(id, "", claim), Supervisor("sup-a"), pb::STATUS_BAD_REQUEST,
               "a whistle without a department quotes no claim");
}

// ------------------------------------------------------------------ personal data

constexpr char kName[] = "Wang Li";
constexpr char kPhone[] = "13800000000";

pb::Request SubmitWithContact() {
  pb::Request r = SubmitAt(kGrid1);
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_contact_name(kName);
  report->set_contact_phone(kPhone);
  report->set_contact_email("wang@example.org");
  report->set_device_id("device-1");
  report->set_account_id("account-1");
  return r;
}

// The report carries the contact given (sees) or no personal data at all.
void CheckContact(const pb::Report& report, bool sees) {
  CHECK(report.contact_name() == (sees ? kName : ""));
  CHECK(report.contact_phone() == (sees ? kPhone : ""));
  CHECK(report.contact_email() == (sees ? "wang@example.org" : ""));
  CHECK(report.device_id() == (sees ? "device-1" : ""));
  CHECK(report.account_id() == (sees ? "account-1" : ""));
  CHECK(report.description() == "water leaking from a pipe");  // the rest is answered
}

struct Reader {
  pb::Actor actor;
  bool sees;
};

std::vector<Reader> Readers() {
  return {{Agent("agent-a", "c1-committee"), false},
          {Supervisor("sup-a"), false},
          {TestActor(pb::ROLE_HOTLINE, "hotline-a"), false},
          {Admin(), true},
          {TestActor(pb::ROLE_DEV, "dev"), true}};
}

TEST_CASE("only admin and dev are answered a report's personal data by get, history included") {
  EngineFixture f;
  pb::Response submitted = RunOk(f, SubmitWithContact(), Reporter("rep-a"));
  CheckContact(submitted.event().event().report(), false);  // not even to the reporter itself
  uint64_t id = submitted.event().event().id();

  std::vector<Reader> readers = Readers();
  readers.push_back({Reporter("rep-a"), false});
  for (const Reader& reader : readers) {
    INFO("role: ", RoleName(reader.actor.role()));
    pb::Response r = RunOk(f, GetOf(id, true), reader.actor);
    CheckContact(r.event().event().report(), reader.sees);
    REQUIRE(r.event().history_size() > 0);
    REQUIRE(r.event().history(0).has_submitted());
    CheckContact(r.event().history(0).submitted().report(), reader.sees);
  }
}

TEST_CASE("only admin and dev are answered a report's personal data by the log") {
  EngineFixture f;
  RunOk(f, SubmitWithContact(), Reporter("rep-a"));
  for (const Reader& reader : Readers()) {
    INFO("role: ", RoleName(reader.actor.role()));
    pb::Request log;
    log.mutable_log();
    pb::Response r = RunOk(f, log, reader.actor);
    REQUIRE(r.log().records_size() > 0);
    REQUIRE(r.log().records(0).has_submitted());
    CheckContact(r.log().records(0).submitted().report(), reader.sees);
  }
}

TEST_CASE("only admin and dev are answered the principal directory by the log: others see names") {
  EngineFixture f;
  pb::Principal desk = NewPrincipal("desk-c1", pb::ROLE_AGENT, "c1-committee", "", Key('d'));
  desk.set_note("Wang's phone, room 3");
  RunOk(f, Create(desk), Admin());
  RunOk(f, Revoke("desk-c1"), Admin());
  for (const Reader& reader : Readers()) {
    INFO("role: ", RoleName(reader.actor.role()));
    pb::Request log;
    log.mutable_log();
    pb::Response r = RunOk(f, log, reader.actor);
    const pb::Record* created = nullptr;
    const pb::Record* revoked = nullptr;
    for (const pb::Record& record : r.log().records()) {
      if (record.has_principal_created()) created = &record;
      if (record.has_principal_revoked()) revoked = &record;
    }
    if (reader.actor.role() == pb::ROLE_AGENT) {
      // An agent's log withholds every record of no event: it reads of events in its reach only.
      CHECK(created == nullptr);
      CHECK(revoked == nullptr);
      REQUIRE(r.log().records_size() == 2);
      for (const pb::Record& record : r.log().records()) {
        CHECK(record.withheld());
        CHECK(record.event_id() == 0);
        CHECK(record.at_ms() > 0);
        CHECK(record.actor().principal().empty());
      }
      continue;
    }
    REQUIRE(created != nullptr);
    REQUIRE(revoked != nullptr);
    const pb::Principal& p = created->principal_created().principal();
    CHECK(p.name() == "desk-c1");
    CHECK(revoked->principal_revoked().name() == "desk-c1");
    CHECK(p.role() == (reader.sees ? pb::ROLE_AGENT : pb::ROLE_UNSPECIFIED));
    CHECK(p.departments_size() == (reader.sees ? 1 : 0));
    CHECK(p.public_key().empty() != reader.sees);
    CHECK(p.note() == (reader.sees ? "Wang's phone, room 3" : ""));
    CHECK(revoked->principal_revoked().reason() == (reader.sees ? "left the team" : ""));
  }
}

TEST_CASE("only admin and dev are answered a report's personal data by list") {
  EngineFixture f;
  RunOk(f, SubmitWithContact(), Reporter("rep-a"));
  for (const Reader& reader : Readers()) {
    INFO("role: ", RoleName(reader.actor.role()));
    pb::Response r = RunOk(f, ListOf(OfDepartment("c1-committee")), reader.actor);
    REQUIRE(r.list().events_size() == 1);
    CheckContact(r.list().events(0).report(), reader.sees);
  }
}

// ------------------------------------------------------------------ principals

TEST_CASE("create_principal refuses malformed names and the reserved name 'dev'") {
  EngineFixture f;
  const std::string length = "a principal's name is 1 to 64 characters";
  CheckRefused(f, Create(NewPrincipal("", pb::ROLE_HOTLINE)), Admin(), pb::STATUS_BAD_REQUEST,
               length);
  CheckRefused(f, Create(NewPrincipal(std::string(65, 'a'), pb::ROLE_HOTLINE)), Admin(),
               pb::STATUS_BAD_REQUEST, length);
  for (const char* bad :
       {"Upper", "-dash-first", ".dot-first", "has space", "slash/name", "中文"}) {
    CAPTURE(bad);
    CheckRefused(f, Create(NewPrincipal(bad, pb::ROLE_HOTLINE)), Admin(), pb::STATUS_BAD_REQUEST,
                 fmt::format("principal name '{}' must be lower-case letters, digits, '.', '_' and "
                             "'-', starting with a letter or digit",
                             bad));
  }
  CheckRefused(f, Create(NewPrincipal("dev", pb::ROLE_HOTLINE)), Admin(), pb::STATUS_BAD_REQUEST,
               "the name 'dev' is reserved for --dev-no-auth");
  // The longest name, and every allowed character.
  RunOk(f, Create(NewPrincipal(std::string(64, 'a'), pb::ROLE_HOTLINE, "", "", Key('1'))), Admin());
  RunOk(f, Create(NewPrincipal("0.dev_ops-9", pb::ROLE_HOTLINE, "", "", Key('2'))), Admin());
}

TEST_CASE("create_principal takes only reporter, agent, hotline, supervisor, admin, console or viewer") {
  EngineFixture f;
  for (pb::Role role : {pb::ROLE_DEV, pb::ROLE_SYSTEM, pb::ROLE_UNSPECIFIED}) {
    CAPTURE(role);
    CheckRefused(f, Create(NewPrincipal("someone", role)), Admin(), pb::STATUS_BAD_REQUEST,
                 "role must be reporter, agent, hotline, supervisor, admin, console or viewer");
  }
  CheckRefused(f, Create(NewPrincipal("console-x", pb::ROLE_CONSOLE, "", kStreet)), Admin(),
               pb::STATUS_BAD_REQUEST, "a console reads the whole city: it has no region");
  CheckRefused(f, Create(NewPrincipal("viewer-x", pb::ROLE_VIEWER, "", kStreet)), Admin(),
               pb::STATUS_BAD_REQUEST, "a viewer reads the whole city: it has no region");
  char key = 'a';
  for (pb::Role role : {pb::ROLE_REPORTER, pb::ROLE_HOTLINE, pb::ROLE_SUPERVISOR, pb::ROLE_ADMIN,
                        pb::ROLE_CONSOLE, pb::ROLE_VIEWER}) {
    CAPTURE(role);
    const std::string name = fmt::format("p-{}", RoleName(role));
    CHECK(RunOk(f, Create(NewPrincipal(name, role, "", "", Key(key++))), Admin())
              .principal()
              .role() == role);
  }
}

TEST_CASE("an agent principal needs known departments, and only agents have any") {
  EngineFixture f;
  CheckRefused(f, Create(NewPrincipal("agent-x", pb::ROLE_AGENT)), Admin(), pb::STATUS_BAD_REQUEST,
               "an agent needs its department");
  CheckRefused(f, Create(NewPrincipal("agent-x", pb::ROLE_AGENT, "ghost")), Admin(),
               pb::STATUS_NOT_FOUND, "unknown department 'ghost'");
  pb::Principal one_unknown = NewPrincipal("agent-x", pb::ROLE_AGENT, "c1-committee");
  one_unknown.add_departments("ghost");
  CheckRefused(f, Create(one_unknown), Admin(), pb::STATUS_NOT_FOUND, "unknown department 'ghost'");
  pb::Principal twice = NewPrincipal("agent-x", pb::ROLE_AGENT, "c1-committee");
  twice.add_departments("c1-committee");
  CheckRefused(f, Create(twice), Admin(), pb::STATUS_BAD_REQUEST, "a department is named twice");
  pb::Principal too_many = NewPrincipal("agent-x", pb::ROLE_AGENT);
  for (int i = 0; i < 4097; ++i) too_many.add_departments(fmt::format("d{}", i));
  CheckRefused(f, Create(too_many), Admin(), pb::STATUS_BAD_REQUEST,
               "a principal acts for at most 4096 departments");
  CheckRefused(f, Create(NewPrincipal("sup-x", pb::ROLE_SUPERVISOR, "c1-committee")), Admin(),
               pb::STATUS_BAD_REQUEST, "only agents act for departments, not a supervisor");
  CheckRefused(f, Create(NewPrincipal("rep-x", pb::ROLE_REPORTER, "c1-committee")), Admin(),
               pb::STATUS_BAD_REQUEST, "only agents act for departments, not a reporter");

  // Stored sorted, whatever the order asked.
  pb::Principal desk = NewPrincipal("desk", pb::ROLE_AGENT, "s-office");
  desk.add_departments("c2-committee");
  desk.add_departments("c1-committee");
  CHECK(Departments(RunOk(f, Create(desk), Admin()).principal()) ==
        std::vector<std::string>{"c1-committee", "c2-committee", "s-office"});
  CHECK(Departments(*f.engine().state().FindPrincipal("desk")) ==
        std::vector<std::string>{"c1-committee", "c2-committee", "s-office"});
}

TEST_CASE(
    "a principal's region is known and, for an agent, overlaps its departments' jurisdiction") {
  EngineFixture f;
  CheckRefused(f, Create(NewPrincipal("sup-x", pb::ROLE_SUPERVISOR, "", "999999")), Admin(),
               pb::STATUS_NOT_FOUND, "unknown region '999999'");
  CheckRefused(
      f, Create(NewPrincipal("agent-x", pb::ROLE_AGENT, "c1-committee", kCommunity2)), Admin(),
      pb::STATUS_BAD_REQUEST,
      "region 370602001002 and department 'c1-committee''s jurisdiction 370602001001 do not "
      "overlap");
  CheckRefused(
      f, Create(NewPrincipal("agent-x", pb::ROLE_AGENT, "c2-committee", kGrid1)), Admin(),
      pb::STATUS_BAD_REQUEST,
      "region 370602001001-01 and department 'c2-committee''s jurisdiction 370602001002 do "
      "not overlap");
  // Within the jurisdiction, or holding it.
  RunOk(f, Create(NewPrincipal("agent-x", pb::ROLE_AGENT, "c1-committee", kGrid1, Key('x'))),
        Admin());
  RunOk(f, Create(NewPrincipal("agent-y", pb::ROLE_AGENT, "c1-committee", kStreet, Key('y'))),
        Admin());
  RunOk(f, Create(NewPrincipal("agent-s", pb::ROLE_AGENT, "s-office", kCommunity2, Key('s'))),
        Admin());
  RunOk(f, Create(NewPrincipal("sup-x", pb::ROLE_SUPERVISOR, "", kCommunity2, Key('u'))), Admin());
}

TEST_CASE("a principal's public key is 32 bytes and belongs to one active principal") {
  EngineFixture f;
  for (size_t size : {0, 31, 33}) {
    CAPTURE(size);
    CheckRefused(f, Create(NewPrincipal("alice", pb::ROLE_HOTLINE, "", "", std::string(size, 'a'))),
                 Admin(), pb::STATUS_BAD_REQUEST,
                 fmt::format("public_key is a 32-byte CURVE key, not {} bytes", size));
  }
  RunOk(f, Create(NewPrincipal("alice", pb::ROLE_HOTLINE, "", "", Key('a'))), Admin());
  CheckRefused(f, Create(NewPrincipal("bob", pb::ROLE_HOTLINE, "", "", Key('a'))), Admin(),
               pb::STATUS_ILLEGAL_TRANSITION, "that public key belongs to principal 'alice'");
  // Once alice is revoked her key is free again.
  RunOk(f, Revoke("alice"), Admin());
  RunOk(f, Create(NewPrincipal("bob", pb::ROLE_HOTLINE, "", "", Key('a'))), Admin());
}

TEST_CASE("principal names are never reused, not even after revocation") {
  EngineFixture f;
  RunOk(f, Create(NewPrincipal("alice", pb::ROLE_HOTLINE, "", "", Key('a'))), Admin());
  CheckRefused(f, Create(NewPrincipal("alice", pb::ROLE_HOTLINE, "", "", Key('b'))), Admin(),
               pb::STATUS_ILLEGAL_TRANSITION, "principal 'alice' already exists");
  RunOk(f, Revoke("alice"), Admin());
  CheckRefused(f, Create(NewPrincipal("alice", pb::ROLE_HOTLINE, "", "", Key('b'))), Admin(),
               pb::STATUS_ILLEGAL_TRANSITION, "principal 'alice' already exists");
}

TEST_CASE("create_principal answers the principal with who created it and when") {
  EngineFixture f;
  pb::Principal asked = NewPrincipal("agent-x", pb::ROLE_AGENT, "c1-committee", kGrid1, Key('x'));
  asked.set_note("night shift");
  pb::Principal p = RunOk(f, Create(asked), Admin()).principal();
  CHECK(p.name() == "agent-x");
  CHECK(p.role() == pb::ROLE_AGENT);
  CHECK(Departments(p) == std::vector<std::string>{"c1-committee"});
  CHECK(p.region() == kGrid1);
  CHECK(p.public_key() == Key('x'));
  CHECK(p.note() == "night shift");
  CHECK(p.created_at_ms() == testing::kStartMs);
  CHECK(p.created_by() == "root");
  CHECK(p.revoked_at_ms() == 0);
  CHECK(f.engine().state().FindPrincipal("agent-x")->SerializeAsString() == p.SerializeAsString());
}

TEST_CASE("revoke_principal: an unknown name is NOT_FOUND and a second revocation is refused") {
  EngineFixture f;
  CheckRefused(f, Revoke("ghost"), Admin(), pb::STATUS_NOT_FOUND, "no principal 'ghost'");
  RunOk(f, Create(NewPrincipal("alice", pb::ROLE_HOTLINE, "", "", Key('a'))), Admin());
  f.clock.Set(testing::kStartMs + 60000);
  pb::Principal revoked = RunOk(f, Revoke("alice"), Admin()).principal();
  CHECK(revoked.name() == "alice");
  CHECK(revoked.revoked_at_ms() == testing::kStartMs + 60000);
  CHECK(revoked.revoked_by() == "root");
  CheckRefused(f, Revoke("alice"), Admin(), pb::STATUS_ILLEGAL_TRANSITION,
               "principal 'alice' is already revoked");
}

TEST_CASE("a principal revoked by an earlier command of the batch is refused, though let in at the read") {
  // The server checks a key when it reads the request; a revocation decided earlier in the same
  // batch (read in the same turn) must stop the revoked principal's requests that follow it.
  EngineFixture f;
  RunOk(f, Create(NewPrincipal("desk", pb::ROLE_AGENT, "c1-committee", "", Key('d'))), Admin());
  uint64_t id = f.SubmitOk();
  const pb::Actor desk = Agent("desk", "c1-committee");
  std::vector<Command> turn = {{Admin(), Revoke("desk")}, {desk, ClaimOf(id, "c1-committee")}};
  turn[0].request.set_request_id("revoke");
  turn[1].request.set_request_id("claim");
  std::vector<pb::Response> answers = f.engine().Process(turn);
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].code() == pb::STATUS_OK);
  CHECK(answers[1].code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(answers[1].message() == "principal 'desk' is revoked");
  CHECK(f.EventOf(id).state() == pb::STATE_DISPATCHED);
  // And queries too.
  CHECK(f.Run(GetOf(id), desk).code() == pb::STATUS_UNAUTHENTICATED);
}

TEST_CASE("the last active admin cannot be revoked") {
  EngineFixture f;
  RunOk(f, Create(NewPrincipal("admin-1", pb::ROLE_ADMIN, "", "", Key('1'))), Admin());
  CheckRefused(f, Revoke("admin-1"), Admin(), pb::STATUS_ILLEGAL_TRANSITION,
               "'admin-1' is the last active admin: create another admin before revoking it");
  RunOk(f, Create(NewPrincipal("admin-2", pb::ROLE_ADMIN, "", "", Key('2'))), Admin());
  RunOk(f, Revoke("admin-1"), Admin());
  CheckRefused(f, Revoke("admin-2"), Admin(), pb::STATUS_ILLEGAL_TRANSITION,
               "'admin-2' is the last active admin: create another admin before revoking it");
}

TEST_CASE("principals and revocations survive a restart") {
  EngineFixture f;
  RunOk(f, Create(NewPrincipal("alice", pb::ROLE_REPORTER, "", kCommunity1, Key('a'))), Admin());
  RunOk(f, Create(NewPrincipal("bob", pb::ROLE_AGENT, "c1-committee", kGrid1, Key('b'))), Admin());
  RunOk(f, Revoke("alice"), Admin());
  const std::string alice = f.engine().state().FindPrincipal("alice")->SerializeAsString();
  const std::string bob = f.engine().state().FindPrincipal("bob")->SerializeAsString();

  f.Restart();
  const EngineState& state = f.engine().state();
  REQUIRE(state.FindPrincipal("alice") != nullptr);
  REQUIRE(state.FindPrincipal("bob") != nullptr);
  CHECK(state.FindPrincipal("alice")->SerializeAsString() == alice);
  CHECK(state.FindPrincipal("alice")->revoked_at_ms() == testing::kStartMs);
  CHECK(state.FindPrincipal("bob")->SerializeAsString() == bob);
  CHECK(state.FindPrincipal("carol") == nullptr);
  REQUIRE(state.FindActivePrincipalByKey(Key('b')) != nullptr);
  CHECK(state.FindActivePrincipalByKey(Key('b'))->name() == "bob");
  CHECK(state.FindActivePrincipalByKey(Key('a')) == nullptr);  // revoked
  CHECK(state.principals().size() == 2);

  // The reloaded index still decides: bob's key is taken, alice's is free.
  CheckRefused(f, Create(NewPrincipal("carol", pb::ROLE_HOTLINE, "", "", Key('b'))), Admin(),
               pb::STATUS_ILLEGAL_TRANSITION, "that public key belongs to principal 'bob'");
  RunOk(f, Create(NewPrincipal("carol", pb::ROLE_HOTLINE, "", "", Key('a'))), Admin());
  CHECK(f.engine().state().FindActivePrincipalByKey(Key('a'))->name() == "carol");
}

TEST_CASE("list_principals lists every principal by name, revoked ones too") {
  EngineFixture f;
  RunOk(f, Create(NewPrincipal("bob", pb::ROLE_HOTLINE, "", "", Key('b'))), Admin());
  RunOk(f, Create(NewPrincipal("alice", pb::ROLE_SUPERVISOR, "", "", Key('a'))), Admin());
  RunOk(f, Revoke("bob"), Admin());
  pb::Request list;
  list.mutable_list_principals();
  pb::PrincipalList principals = RunOk(f, list, Admin()).principals();
  REQUIRE(principals.principals_size() == 2);
  CHECK(principals.principals(0).name() == "alice");
  CHECK(principals.principals(0).revoked_at_ms() == 0);
  CHECK(principals.principals(1).name() == "bob");
  CHECK(principals.principals(1).revoked_at_ms() == testing::kStartMs);
  CHECK(principals.principals(1).revoked_by() == "root");
}

TEST_CASE("whoami answers the stored principal when there is one, else what the engine was told") {
  EngineFixture f;
  RunOk(f, Create(NewPrincipal("bob", pb::ROLE_AGENT, "c1-committee", kGrid1, Key('b'))), Admin());
  pb::Request whoami;
  whoami.mutable_whoami();
  pb::Principal stored = RunOk(f, whoami, Agent("bob", "c1-committee", kGrid1)).principal();
  CHECK(stored.SerializeAsString() == f.engine().state().FindPrincipal("bob")->SerializeAsString());
  CHECK(stored.public_key() == Key('b'));
  CHECK(stored.created_by() == "root");

  pb::Principal told = RunOk(f, whoami, Supervisor("stranger", kCommunity1)).principal();
  CHECK(told.name() == "stranger");
  CHECK(told.role() == pb::ROLE_SUPERVISOR);
  CHECK(told.region() == kCommunity1);
  CHECK(told.departments_size() == 0);
  CHECK(told.public_key().empty());
  CHECK(told.created_at_ms() == 0);
  pb::Principal agent = RunOk(f, whoami, Agent("agent-z", "c2-committee")).principal();
  CHECK(agent.name() == "agent-z");
  CHECK(Departments(agent) == std::vector<std::string>{"c2-committee"});
}

// ------------------------------------------------------------------ digest

pb::DigestResult Digest(EngineFixture& f) {
  pb::Request r;
  r.mutable_digest();
  return RunOk(f, r, Admin()).digest();
}

TEST_CASE("the digest is unchanged by a refused request and changed by an accepted one") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  const pb::DigestResult before = Digest(f);
  CHECK(before.entries() > 0);

  pb::Request cancel = CancelOf(id);
  cancel.set_request_id("cancel-1");
  REQUIRE(f.Run(cancel, Reporter("grid-worker-1")).code() == pb::STATUS_PERMISSION_DENIED);
  REQUIRE(f.Run(ClaimOf(99, "c1-committee"), Agent("agent-a", "c1-committee")).code() ==
          pb::STATUS_NOT_FOUND);
  const pb::DigestResult refused = Digest(f);
  CHECK(refused.digest() == before.digest());
  CHECK(refused.entries() == before.entries());
  CHECK(refused.last_seq() == before.last_seq());

  RunOk(f, SuperviseOf(id), Supervisor("sup-a"));
  const pb::DigestResult accepted = Digest(f);
  CHECK(accepted.digest() != before.digest());
  CHECK(accepted.last_seq() == before.last_seq() + 1);
}

TEST_SUITE_END();

}  // namespace
}  // namespace whistle
