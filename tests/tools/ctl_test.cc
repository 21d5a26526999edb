#include "tools/ctl.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/testing/test_city.h"

namespace whistle {
namespace {

// 2026-11-23 00:00 in Beijing (+08:00).
constexpr int64_t kMidnightMs = 1795363200000;
constexpr int64_t kMinuteMs = 60'000;

// args[0] is the command word, as whistlectl passes it.
Result<pb::Request> Build(std::vector<const char*> args) {
  auto flags = Flags::Parse(static_cast<int>(args.size()), args.data());
  REQUIRE(flags.ok());
  return BuildRequest(args[0], *flags);
}

Status BuildError(std::vector<const char*> args) { return Build(std::move(args)).status(); }

Result<CtlCommandLine> ParseLine(std::vector<const char*> args) {
  args.insert(args.begin(), "whistlectl");
  return ParseCtlCommandLine(static_cast<int>(args.size()), args.data());
}

std::shared_ptr<const City> TestCity() {
  auto city = City::Build(testing::TestCityConfig());
  REQUIRE(city.ok());
  return *city;
}

pb::Event ClaimedEvent() {
  pb::Event e;
  e.set_id(17);
  e.set_state(pb::STATE_CLAIMED);
  e.set_level(pb::LEVEL_COMMUNITY);
  e.set_grid(testing::kGrid1);
  e.mutable_report()->set_category("water");
  e.mutable_report()->set_description("burst pipe on Beima Road");
  e.mutable_report()->set_reporter("gw-7");
  e.add_candidates("c1-committee");
  e.add_candidates("c1-water-unit");
  e.set_lead("c1-water-unit");
  e.set_claim_agent("li");
  e.set_claim_number(3);
  e.set_created_at_ms(kMidnightMs + (9 * 60 + 12) * kMinuteMs);
  e.set_claim_deadline_ms(kMidnightMs + (9 * 60 + 42) * kMinuteMs);
  e.set_resolve_deadline_ms(kMidnightMs + (33 * 60 + 12) * kMinuteMs);
  e.set_supervised(true);
  return e;
}

pb::Response EventResponse(bool with_history) {
  pb::Response response;
  pb::EventView* view = response.mutable_event();
  *view->mutable_event() = ClaimedEvent();
  if (with_history) {
    pb::Record* submitted = view->add_history();
    submitted->set_event_id(17);
    submitted->set_at_ms(kMidnightMs + (9 * 60 + 12) * kMinuteMs);
    submitted->mutable_submitted()->mutable_report()->set_category("water");
    submitted->mutable_submitted()->mutable_report()->set_reporter("gw-7");
    submitted->mutable_submitted()->set_grid(testing::kGrid1);
    pb::Record* dispatched = view->add_history();
    dispatched->set_at_ms(kMidnightMs + (9 * 60 + 12) * kMinuteMs);
    dispatched->mutable_dispatched()->set_level(pb::LEVEL_COMMUNITY);
    dispatched->mutable_dispatched()->add_candidates("c1-committee");
    dispatched->mutable_dispatched()->add_candidates("c1-water-unit");
    pb::Record* claimed = view->add_history();
    claimed->set_at_ms(kMidnightMs + (9 * 60 + 20) * kMinuteMs);
    claimed->mutable_claimed()->set_department("c1-water-unit");
    claimed->mutable_claimed()->set_claim_number(3);
    claimed->mutable_claimed()->set_in_time(true);
  }
  return response;
}

pb::Response ListResponse() {
  pb::Response response;
  pb::ListResult* list = response.mutable_list();
  *list->add_events() = ClaimedEvent();
  pb::Event* waiting = list->add_events();
  waiting->set_id(18);
  waiting->set_state(pb::STATE_DISPATCHED);
  waiting->set_level(pb::LEVEL_STREET);
  waiting->set_grid(testing::kGrid3);
  waiting->mutable_report()->set_category("noise");
  waiting->add_candidates("s-office");
  waiting->set_claim_deadline_ms(kMidnightMs + (10 * 60 + 5) * kMinuteMs);
  waiting->set_overdue(true);
  list->set_next_cursor(std::string("\x01\xab\x00z", 4));
  return response;
}

// --- BuildRequest ---

TEST_CASE("submit carries the report, by grid or by position, with its request id") {
  auto r = Build({"submit", "--category=water", "--grid=370602001001-01",
                  "--description=burst pipe", "--reporter=gw-7", "--request-id=r-1"});
  REQUIRE(r.ok());
  REQUIRE(r->has_submit());
  CHECK(r->request_id() == "r-1");
  CHECK(r->submit().report().category() == "water");
  CHECK(r->submit().report().grid() == "370602001001-01");
  CHECK(r->submit().report().description() == "burst pipe");
  CHECK(r->submit().report().reporter() == "gw-7");
  CHECK_FALSE(r->submit().report().has_position());

  auto p = Build({"submit", "--category=noise", "--lon=121.405", "--lat=37.505"});
  REQUIRE(p.ok());
  CHECK(p->submit().report().grid().empty());
  CHECK(p->submit().report().position().lon() == doctest::Approx(121.405));
  CHECK(p->submit().report().position().lat() == doctest::Approx(37.505));
  CHECK(p->request_id().empty());  // the Client picks one
}

TEST_CASE("submit needs a grid or both coordinates") {
  CHECK(BuildError({"submit", "--category=water"}).message() ==
        "submit needs --grid, or --lon and --lat");
  CHECK(BuildError({"submit", "--category=water", "--lon=121.4"}).message() ==
        "--lon and --lat go together");
  CHECK(BuildError({"submit", "--category=water", "--lon=121.4", "--lat=95"}).message() ==
        "--lat must be a number from -90 to 90");
}

TEST_CASE("get asks for the history only with --history") {
  auto plain = Build({"get", "--id=17"});
  REQUIRE(plain.ok());
  CHECK(plain->get().event_id() == 17);
  CHECK_FALSE(plain->get().with_history());
  auto full = Build({"get", "--id=17", "--history"});
  REQUIRE(full.ok());
  CHECK(full->get().with_history());
  CHECK(full->get().history_before() == 0);
  auto older = Build({"get", "--id=17", "--history", "--history-before=102"});
  REQUIRE(older.ok());
  CHECK(older->get().history_before() == 102);
  CHECK(BuildError({"get", "--id=17", "--history", "--history-before=0"}).message() ==
        "--history-before must be a whole number from 1 to 4294967295");
  CHECK(BuildError({"get", "--id=17", "--history-before=5"}).message() == "--history-before needs --history");
}

TEST_CASE("list takes one scope, a state, a page size and a hex cursor") {
  auto r = Build({"list", "--department=c1-committee", "--state=in_progress", "--page-size=20",
                  "--cursor=01ab007a"});
  REQUIRE(r.ok());
  CHECK(r->list().department() == "c1-committee");
  CHECK(r->list().state() == pb::STATE_IN_PROGRESS);
  CHECK(r->list().page_size() == 20);
  CHECK(r->list().cursor() == std::string("\x01\xab\x00z", 4));

  auto by_level = Build({"list", "--level=county"});
  REQUIRE(by_level.ok());
  CHECK(by_level->list().level() == pb::LEVEL_COUNTY);
  CHECK(by_level->list().state() == pb::STATE_UNSPECIFIED);
  CHECK(by_level->list().page_size() == 0);

  auto by_region = Build({"list", "--region=370602", "--state=merged"});
  REQUIRE(by_region.ok());
  CHECK(by_region->list().region() == "370602");
  CHECK(by_region->list().state() == pb::STATE_MERGED);

  auto mine = Build({"list", "--mine", "--state=closed"});
  REQUIRE(mine.ok());
  CHECK(mine->list().mine());
  CHECK(mine->list().state() == pb::STATE_CLOSED);
  auto city = Build({"list", "--city"});
  REQUIRE(city.ok());
  CHECK(city->list().city());
}

TEST_CASE("list refuses no scope, two scopes and a cursor that is not hex") {
  CHECK(BuildError({"list"}).message() ==
        "list needs exactly one of --department, --region, --level, --city or --mine");
  CHECK(BuildError({"list", "--mine", "--level=city"}).message() ==
        "list needs exactly one of --department, --region, --level, --city or --mine");
  CHECK(BuildError({"list", "--mine", "--city"}).code() == pb::STATUS_BAD_REQUEST);
  CHECK(BuildError({"stats", "--month=2026-11"}).message() ==
        "stats needs exactly one of --department, --region or --level");
  CHECK(BuildError({"list", "--region=370602", "--level=city"}).code() == pb::STATUS_BAD_REQUEST);
  CHECK(BuildError({"list", "--level=city", "--cursor=xyz1"}).message() ==
        "--cursor must be the hex printed with the previous page");
  CHECK(BuildError({"list", "--level=city", "--cursor=abc"}).code() == pb::STATUS_BAD_REQUEST);
}

TEST_CASE("claim, release, progress and resolve carry the event, department and claim number") {
  auto claim = Build({"claim", "--id=5", "--department=c1-committee", "--agent=li", "--assist"});
  REQUIRE(claim.ok());
  CHECK(claim->claim().event_id() == 5);
  CHECK(claim->claim().department() == "c1-committee");
  CHECK(claim->claim().agent() == "li");
  CHECK(claim->claim().assist());
  CHECK_FALSE(Build({"claim", "--id=5", "--department=d"})->claim().assist());

  auto release = Build({"release", "--id=5", "--claim=2", "--reason=wrong team"});
  REQUIRE(release.ok());
  CHECK(release->release().event_id() == 5);
  CHECK(release->release().claim_number() == 2);
  CHECK(release->release().reason() == "wrong team");

  auto progress = Build({"progress", "--id=5", "--claim=2", "--note=crew on site"});
  REQUIRE(progress.ok());
  CHECK(progress->progress().claim_number() == 2);
  CHECK(progress->progress().note() == "crew on site");

  auto resolve =
      Build({"resolve", "--id=5", "--claim=2", "--note=pipe replaced", "--request-id=r-9"});
  REQUIRE(resolve.ok());
  CHECK(resolve->resolve().event_id() == 5);
  CHECK(resolve->resolve().claim_number() == 2);
  CHECK(resolve->resolve().note() == "pipe replaced");
  CHECK(resolve->request_id() == "r-9");
}

TEST_CASE("return and whistle take an optional claim number and a required reason") {
  auto ret = Build({"return", "--id=5", "--department=c1-committee", "--reason=not ours"});
  REQUIRE(ret.ok());
  REQUIRE(ret->has_return_task());
  CHECK(ret->return_task().event_id() == 5);
  CHECK(ret->return_task().department() == "c1-committee");
  CHECK(ret->return_task().claim_number() == 0);
  CHECK(ret->return_task().reason() == "not ours");

  auto whistle = Build(
      {"whistle", "--id=5", "--department=s-office", "--claim=4", "--reason=needs the county"});
  REQUIRE(whistle.ok());
  CHECK(whistle->whistle().department() == "s-office");
  CHECK(whistle->whistle().claim_number() == 4);
  CHECK(whistle->whistle().reason() == "needs the county");
  CHECK(whistle->whistle().seen_level() == pb::LEVEL_UNSPECIFIED);

  CHECK(BuildError({"whistle", "--id=5", "--department=s-office"}).message() ==
        "--reason is required");
}

TEST_CASE("a whistle may name the level it saw the event at") {
  auto whistle = Build({"whistle", "--id=5", "--reason=stuck", "--level=street"});
  REQUIRE(whistle.ok());
  CHECK(whistle->whistle().department().empty());
  CHECK(whistle->whistle().seen_level() == pb::LEVEL_STREET);
  CHECK(BuildError({"whistle", "--id=5", "--reason=stuck", "--level=grid"}).message().find(
            "community, street, county, city") != std::string::npos);
}

TEST_CASE("supervise, feedback, reopen, merge and cancel") {
  auto supervise = Build({"supervise", "--id=8", "--note=watch it"});
  REQUIRE(supervise.ok());
  CHECK(supervise->supervise().event_id() == 8);
  CHECK(supervise->supervise().note() == "watch it");

  auto feedback =
      Build({"feedback", "--id=8", "--satisfied=false", "--score=2", "--comment=still leaking"});
  REQUIRE(feedback.ok());
  CHECK(feedback->feedback().event_id() == 8);
  CHECK_FALSE(feedback->feedback().satisfied());
  CHECK(feedback->feedback().score() == 2);
  CHECK(feedback->feedback().comment() == "still leaking");
  CHECK(Build({"feedback", "--id=8", "--satisfied=true", "--score=5"})->feedback().satisfied());

  auto reopen = Build({"reopen", "--id=8", "--reason=came back"});
  REQUIRE(reopen.ok());
  CHECK(reopen->reopen().reason() == "came back");

  auto merge = Build({"merge", "--id=9", "--into=8"});
  REQUIRE(merge.ok());
  CHECK(merge->merge().event_id() == 9);
  CHECK(merge->merge().into_event_id() == 8);

  auto cancel = Build({"cancel", "--id=9", "--reason=test report"});
  REQUIRE(cancel.ok());
  CHECK(cancel->cancel().event_id() == 9);
  CHECK(cancel->cancel().reason() == "test report");
}

TEST_CASE("feedback needs --satisfied said out loud and a score from 1 to 5") {
  CHECK(BuildError({"feedback", "--id=8", "--score=4"}).message() ==
        "--satisfied is required (true or false)");
  CHECK(BuildError({"feedback", "--id=8", "--satisfied=yes", "--score=4"}).code() ==
        pb::STATUS_BAD_REQUEST);
  CHECK(BuildError({"feedback", "--id=8", "--satisfied=true", "--score=6"}).message() ==
        "--score must be a whole number from 1 to 5");
}

TEST_CASE("mode, stats, log and checkpoint") {
  auto mode = Build({"mode", "--region=370602", "--mode=emergency"});
  REQUIRE(mode.ok());
  CHECK(mode->set_mode().region() == "370602");
  CHECK(mode->set_mode().mode() == pb::MODE_EMERGENCY);

  auto stats = Build({"stats", "--level=street", "--month=2026-11"});
  REQUIRE(stats.ok());
  CHECK(stats->stats().level() == pb::LEVEL_STREET);
  CHECK(stats->stats().month() == "2026-11");
  CHECK(Build({"stats", "--department=k-bureau", "--month=2026-01"})->stats().department() ==
        "k-bureau");

  auto log = Build({"log", "--after=120", "--max=50"});
  REQUIRE(log.ok());
  CHECK(log->log().after_seq() == 120);
  CHECK(log->log().max_records() == 50);
  auto log_default = Build({"log"});
  REQUIRE(log_default.ok());
  CHECK(log_default->log().after_seq() == 0);
  CHECK(log_default->log().max_records() == 0);

  auto checkpoint = Build({"checkpoint", "--dir=/backup/cp1"});
  REQUIRE(checkpoint.ok());
  CHECK(checkpoint->checkpoint().dir() == "/backup/cp1");
}

TEST_CASE("a missing required flag is refused naming the flag") {
  struct Case {
    std::vector<const char*> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"submit", "--grid=g"}, "--category is required"},
           {{"get"}, "--id is required"},
           {{"claim", "--id=1"}, "--department is required"},
           {{"release", "--id=1"}, "--claim is required"},
           {{"resolve", "--id=1", "--claim=1"}, "--note is required"},
           {{"return", "--id=1", "--reason=r"}, "--department is required"},
           {{"reopen", "--id=1"}, "--reason is required"},
           {{"merge", "--id=1"}, "--into is required"},
           {{"cancel", "--reason=r"}, "--id is required"},
           {{"mode", "--region=370602"}, "--mode is required"},
           {{"stats", "--level=city"}, "--month is required"},
           {{"checkpoint"}, "--dir is required"},
       }) {
    CAPTURE(c.args[0]);
    Status s = BuildError(c.args);
    CHECK(s.code() == pb::STATUS_BAD_REQUEST);
    CHECK(s.message() == c.message);
  }
  CHECK(BuildError({"claim", "--id=1", "--department="}).message() == "--department needs a value");
}

TEST_CASE("an unknown flag or command is refused by name") {
  CHECK(BuildError({"get", "--id=1", "--histroy"}).message() == "unknown flag --histroy");
  // Queries are not retried through the idempotency table: no request id.
  CHECK(BuildError({"get", "--id=1", "--request-id=x"}).message() == "unknown flag --request-id");
  CHECK(BuildError({"escalate", "--id=1"}).message() == "unknown command 'escalate'");
}

TEST_CASE("a bad enum value, number or month is refused listing what is allowed") {
  CHECK(BuildError({"list", "--level=province"}).message() ==
        "--level must be one of community, street, county, city (not 'province')");
  CHECK(BuildError({"list", "--level=city", "--state=open"}).message() ==
        "--state must be one of dispatched, claimed, in_progress, resolved, closed, cancelled, "
        "merged (not 'open')");
  CHECK(BuildError({"mode", "--region=r", "--mode=panic"}).message() ==
        "--mode must be one of normal, emergency (not 'panic')");
  CHECK(BuildError({"get", "--id=0"}).message() == "--id must be a whole number of at least 1");
  CHECK(BuildError({"get", "--id=-3"}).code() == pb::STATUS_BAD_REQUEST);
  CHECK(BuildError({"claim", "--id=seven", "--department=d"}).message() ==
        "--id must be a whole number of at least 1");
  CHECK(BuildError({"stats", "--level=city", "--month=2026-13"}).message() ==
        "--month must look like 2026-11 (not '2026-13')");
  CHECK(BuildError({"stats", "--level=city", "--month=Nov"}).code() == pb::STATUS_BAD_REQUEST);
}

// --- The command line ---

TEST_CASE("global flags come before the command, or after it") {
  auto line =
      ParseLine({"--front=tcp://10.0.0.5:5570", "--json", "--timeout-ms=300", "get", "--id=4"});
  REQUIRE(line.ok());
  CHECK(line->front == "tcp://10.0.0.5:5570");
  CHECK(line->json);
  CHECK(line->timeout_ms == 300);
  CHECK(line->command == "get");
  auto request = BuildRequest(line->command, line->flags);
  REQUIRE(request.ok());
  CHECK(request->get().event_id() == 4);

  auto after = ParseLine({"get", "--id=4", "--json", "--config=city.json"});
  REQUIRE(after.ok());
  CHECK(after->json);
  CHECK(after->config_path == "city.json");
  CHECK(after->front == kCtlDefaultFront);
  CHECK(BuildRequest(after->command, after->flags).ok());
}

TEST_CASE("the command line refuses no command, an unknown global flag and a flag given twice") {
  CHECK(ParseLine({}).status().message() == "no command given");
  CHECK(ParseLine({"--json"}).status().message() == "no command given");
  CHECK(ParseLine({"--jsn", "get", "--id=1"}).status().message() == "unknown flag --jsn");
  CHECK(ParseLine({"--json", "get", "--id=1", "--json"}).status().message() ==
        "--json is given twice");
  CHECK(ParseLine({"--timeout-ms=0", "log"}).status().code() == pb::STATUS_BAD_REQUEST);
  CHECK(ParseLine({"--front=", "log"}).status().message() == "--front needs a value");
  CHECK(ParseLine({"help"})->help);
  CHECK(ParseLine({"--help"})->help);
  CHECK(ParseLine({"claim", "--help"})->help);
}

TEST_CASE("only the commands that change state take a request id") {
  for (const char* command :
       {"submit", "claim", "release", "progress", "resolve", "return", "whistle", "supervise",
        "feedback", "reopen", "merge", "cancel", "mode"}) {
    CHECK(CtlCommandWrites(command));
  }
  for (const char* command : {"get", "list", "stats", "log", "checkpoint", "help", "nonsense"}) {
    CHECK_FALSE(CtlCommandWrites(command));
  }
}

TEST_CASE("the usage text lists every command") {
  std::string usage(CtlUsage());
  for (const char* command : {"submit", "get", "list", "claim", "release", "progress", "resolve",
                              "return", "whistle", "supervise", "feedback", "reopen", "merge",
                              "cancel", "mode", "stats", "log", "checkpoint"}) {
    CAPTURE(command);
    CHECK(usage.find(fmt::format("\n  {} ", command)) != std::string::npos);
  }
}

// --- FormatResponse ---

TEST_CASE("an event prints as an aligned block with names from the city and its history") {
  auto city = TestCity();
  std::string out = FormatResponse("get", EventResponse(true), city.get(), false);
  MESSAGE(out);
  CHECK(out.find("event        17\n") != std::string::npos);
  CHECK(out.find("state        CLAIMED\n") != std::string::npos);
  CHECK(out.find("level        community\n") != std::string::npos);
  CHECK(out.find("grid         370602001001-01\n") != std::string::npos);
  CHECK(out.find("category     供排水 (water)\n") != std::string::npos);
  CHECK(out.find("candidates   c1-committee (c1-committee), c1-water-unit (c1-water-unit)\n") !=
        std::string::npos);
  CHECK(out.find("lead         c1-water-unit (c1-water-unit)\nclaim        3, agent li\n") !=
        std::string::npos);
  CHECK(out.find("resolve by   2026-11-24 09:12\n") != std::string::npos);
  CHECK(out.find("claim by") == std::string::npos);  // met: only the pending deadline is shown
  CHECK(out.find("flags        supervised\n") != std::string::npos);
  CHECK(out.find(
            "history\n  2026-11-23 09:12  submitted by gw-7: 供排水 in grid 370602001001-01\n") !=
        std::string::npos);
  CHECK(out.find("  2026-11-23 09:20  claimed by c1-water-unit (c1-water-unit) (claim 3)\n") !=
        std::string::npos);
}

TEST_CASE("an event given back names who gave it, and a climb names who answers for it") {
  auto city = TestCity();
  pb::Response response = EventResponse(true);
  pb::Event* e = response.mutable_event()->mutable_event();
  e->set_state(pb::STATE_DISPATCHED);
  e->clear_lead();
  e->set_released_by("c1-water-unit");
  auto climb = [&](const std::string& holder, const std::string& released_by) {
    pb::Record* r = response.mutable_event()->add_history();
    r->set_at_ms(kMidnightMs + 10 * 60 * kMinuteMs);
    pb::Escalated* up = r->mutable_escalated();
    up->set_from_level(pb::LEVEL_COMMUNITY);
    up->set_to_level(pb::LEVEL_STREET);
    up->set_cause(holder.empty() ? pb::ESCALATION_CLAIM_DEADLINE : pb::ESCALATION_RESOLVE_DEADLINE);
    up->set_holder(holder);
    up->set_released_by(released_by);
  };
  climb("", "c1-water-unit");
  climb("c1-committee", "");
  climb("", "");
  std::string out = FormatResponse("get", response, city.get(), false);
  MESSAGE(out);
  CHECK(out.find("released by  c1-water-unit (c1-water-unit)\n") != std::string::npos);
  CHECK(out.find("  2026-11-23 10:00  escalated community -> street (claim deadline missed; unresolved "
                 "by c1-water-unit (c1-water-unit), which gave it back)\n") != std::string::npos);
  CHECK(out.find("  2026-11-23 10:00  escalated community -> street (resolve deadline missed; unresolved "
                 "by c1-committee (c1-committee), which held it)\n") != std::string::npos);
  CHECK(out.find("  2026-11-23 10:00  escalated community -> street (claim deadline missed)\n") !=
        std::string::npos);
  e->clear_released_by();
  CHECK(FormatResponse("get", response, city.get(), false).find("released by") == std::string::npos);
}

TEST_CASE("an event with a long history says how to read the records before the page, and counts every link") {
  pb::Response response = EventResponse(true);
  response.mutable_event()->set_older_history(102);
  pb::Event* e = response.mutable_event()->mutable_event();
  e->set_linked_count(1100);
  e->add_linked()->set_reporter("citizen");
  pb::Record* merge_link = response.mutable_event()->add_history();
  merge_link->set_at_ms(kMidnightMs + 10 * 60 * kMinuteMs);
  merge_link->mutable_report_linked()->mutable_link()->set_event_id(4);
  merge_link->mutable_report_linked()->mutable_link()->set_reporter("gw-9");
  merge_link->mutable_report_linked()->set_carried_links(3);
  std::string out = FormatResponse("get", response, nullptr, false);
  CHECK(out.find("linked       1100 more report(s)\n") != std::string::npos);
  CHECK(out.find("  2026-11-23 10:00  report of gw-9 linked, with event 4 merged in and the 3 report(s) linked to it\n") !=
        std::string::npos);
  CHECK(out.find("history\n  (102 older record(s) not shown: --history-before=102)\n  2026-11-23 09:12  submitted") !=
        std::string::npos);
  response.mutable_event()->set_older_history(0);
  CHECK(FormatResponse("get", response, nullptr, false).find("older record") == std::string::npos);
}

TEST_CASE("without a city an event prints ids and +08:00 local time") {
  pb::Response response = EventResponse(true);
  pb::Event* e = response.mutable_event()->mutable_event();
  e->set_state(pb::STATE_DISPATCHED);
  e->clear_lead();
  std::string out = FormatResponse("get", response, nullptr, false);
  CHECK(out.find("category     water\n") != std::string::npos);
  CHECK(out.find("candidates   c1-committee, c1-water-unit\n") != std::string::npos);
  CHECK(out.find("claim by     2026-11-23 09:42\n") != std::string::npos);
  CHECK(out.find("lead") == std::string::npos);
  CHECK(out.find("claim  ") == std::string::npos);
  CHECK(out.find("  2026-11-23 09:12  submitted by gw-7: water in grid 370602001001-01\n") !=
        std::string::npos);
}

TEST_CASE("a submit that joined an open event says so") {
  pb::Response response = EventResponse(false);
  response.mutable_event()->set_linked_as_duplicate(true);
  std::string out = FormatResponse("submit", response, nullptr, false);
  CHECK(out.rfind("the report joined open event 17 as a repeat report\n", 0) == 0);
}

TEST_CASE("a list prints as a table with the next cursor in hex") {
  auto city = TestCity();
  std::string out = FormatResponse("list", ListResponse(), city.get(), false);
  MESSAGE(out);
  // Columns are aligned in display width: a Chinese character takes two.
  CHECK(out.rfind("ID  STATE       LEVEL      GRID             CATEGORY  "
                  "LEAD           CLAIM BY          FLAGS\n",
                  0) == 0);
  CHECK(out.find("\n17  CLAIMED     community  370602001001-01  供排水    "
                 "c1-water-unit  -                 supervised\n") != std::string::npos);
  CHECK(out.find("\n18  DISPATCHED  street     370602001002-01  噪声扰民  "
                 "-              2026-11-23 10:05  OVERDUE\n") != std::string::npos);
  CHECK(out.find("\n2 events\n") != std::string::npos);
  CHECK(out.find("next page: --cursor=01ab007a\n") != std::string::npos);

  pb::Response empty;
  empty.mutable_list();
  CHECK(FormatResponse("list", empty, nullptr, false) == "no events\n");
}

TEST_CASE("stats print the counters and the three rates as percentages, '-' when unset") {
  pb::Response response;
  pb::StatsResult* stats = response.mutable_stats();
  stats->set_month("2026-11");
  stats->mutable_counters()->set_submitted(12);
  stats->mutable_counters()->set_claimed_in_time(7);
  stats->mutable_counters()->set_claim_missed(1);
  stats->mutable_counters()->set_resolved(4);
  stats->mutable_rates()->set_response_rate(0.875);
  stats->mutable_rates()->set_resolution_rate(1.0);
  std::string out = FormatResponse("stats", response, nullptr, false);
  MESSAGE(out);
  CHECK(out.find("month            2026-11\n") != std::string::npos);
  CHECK(out.find("submitted        12\n") != std::string::npos);
  CHECK(out.find("claimed in time  7\n") != std::string::npos);
  CHECK(out.find("claim missed     1\n") != std::string::npos);
  CHECK(out.find("响应率           87.5%\n") != std::string::npos);
  CHECK(out.find("解决率           100.0%\n") != std::string::npos);
  CHECK(out.find("满意率           -\n") != std::string::npos);
}

TEST_CASE("log, mode and checkpoint answers read as sentences") {
  pb::Response log;
  pb::Record* r = log.mutable_log()->add_records();
  r->set_seq(41);
  r->set_event_id(17);
  r->set_at_ms(kMidnightMs + (10 * 60) * kMinuteMs);
  r->mutable_cancelled()->set_reason("test");
  log.mutable_log()->set_last_seq(41);
  CHECK(FormatResponse("log", log, nullptr, false) ==
        "#41  event 17  2026-11-23 10:00  cancelled: test\nlast seq 41\n");

  pb::Response mode;
  mode.mutable_mode()->set_region("370602");
  mode.mutable_mode()->set_mode(pb::MODE_EMERGENCY);
  mode.mutable_mode()->set_replanned_events(3);
  CHECK(FormatResponse("mode", mode, nullptr, false) ==
        "region 370602 is in emergency mode; 3 open event(s) to re-plan\n");

  pb::Response checkpoint;
  checkpoint.mutable_checkpoint()->set_dir("/backup/cp1");
  checkpoint.mutable_checkpoint()->set_last_seq(41);
  CHECK(FormatResponse("checkpoint", checkpoint, nullptr, false) ==
        "checkpoint in /backup/cp1 (through seq 41)\n");
}

TEST_CASE("an error prints as code and message") {
  pb::Response response;
  response.set_code(pb::STATUS_NOT_FOUND);
  response.set_message("no event 17");
  CHECK(FormatResponse("get", response, nullptr, false) == "NOT_FOUND: no event 17\n");
  std::string json = FormatResponse("get", response, nullptr, true);
  CHECK(json == "{\"code\":\"STATUS_NOT_FOUND\",\"message\":\"no event 17\"}\n");
}

TEST_CASE("--json prints the response on one line with the proto field names") {
  std::string out = FormatResponse("get", EventResponse(true), nullptr, true);
  CHECK(out.back() == '\n');
  CHECK(out.find('\n') == out.size() - 1);
  CHECK(out.find("\"event\":{\"event\":{\"id\":\"17\"") != std::string::npos);
  CHECK(out.find("\"claim_deadline_ms\":") != std::string::npos);
  CHECK(out.find("\"claim_number\":\"3\"") != std::string::npos);
  CHECK(out.find("\"state\":\"STATE_CLAIMED\"") != std::string::npos);
  CHECK(out.find("claimDeadlineMs") == std::string::npos);

  std::string list = FormatResponse("list", ListResponse(), nullptr, true);
  CHECK(list.find("\"next_cursor\":") != std::string::npos);
}

}  // namespace
}  // namespace whistle
