// fuzz_make_seeds <dir>: writes the seed corpora into <dir>/<target>/ (tests/fuzz/corpus).
//
//   fuzz_request  one serialized pb::Request of every kind, about the test city
//   fuzz_config   the test city and a trimmed sample city, in text format and in JSON
//   fuzz_engine   scenarios in fuzz_engine's byte-per-choice encoding (see fuzz_engine.cc): the
//                 choices are listed in the order the harness reads them and written reversed,
//                 since FuzzedDataProvider takes integers from the end of the input
//
// Run by hand after a change to the wire or to fuzz_engine's choices, and check the files in:
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "dispatcher/city_loader.h"
#include "dispatcher/sample_city.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/test_city.h"
#include "whistle/wire.pb.h"

namespace whistle::fuzz {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

// --- fuzz_request -------------------------------------------------------------------------

std::vector<std::pair<std::string, pb::Request>> Requests() {
  std::vector<std::pair<std::string, pb::Request>> out;
  auto add = [&](const std::string& name) -> pb::Request& {
    out.emplace_back(name, pb::Request());
    pb::Request& r = out.back().second;
    r.set_correlation_id(out.size());
    return r;
  };
  {
    pb::Request& r = add("submit");
    r.set_request_id("sub-1");
    pb::Report* report = r.mutable_submit()->mutable_report();
    report->set_category("water");
    report->set_grid(testing::kGrid1);
    report->set_reporter("grid-worker-1");
    report->set_description("water leaking from a pipe");
    report->set_source(pb::SOURCE_GRID_APP);
    report->set_contact_phone("13800000000");
  }
  {
    pb::Request& r = add("submit_position");
    r.set_request_id("sub-2");
    pb::Report* report = r.mutable_submit()->mutable_report();
    report->set_category("noise");
    report->mutable_position()->set_lon(121.425);
    report->mutable_position()->set_lat(37.505);
    report->set_reporter("12345-0001");
    report->set_source(pb::SOURCE_HOTLINE);
    report->set_urgent(true);
  }
  {
    pb::ClaimCommand* c = add("claim").mutable_claim();
    c->set_event_id(1);
    c->set_department("c1-committee");
    c->set_agent("agent-1");
  }
  {
    pb::ClaimCommand* c = add("claim_assist").mutable_claim();
    c->set_event_id(1);
    c->set_department("c1-water-unit");
    c->set_agent("agent-2");
    c->set_assist(true);
  }
  {
    pb::ReleaseCommand* c = add("release").mutable_release();
    c->set_event_id(1);
    c->set_claim_number(1);
    c->set_reason("shift over");
  }
  {
    pb::ProgressCommand* c = add("progress").mutable_progress();
    c->set_event_id(1);
    c->set_claim_number(1);
    c->set_note("on site");
  }
  {
    pb::ResolveCommand* c = add("resolve").mutable_resolve();
    c->set_event_id(1);
    c->set_claim_number(1);
    c->set_note("pipe replaced");
  }
  {
    pb::ReturnCommand* c = add("return_task").mutable_return_task();
    c->set_event_id(1);
    c->set_department("c1-committee");
    c->set_reason("not ours");
  }
  {
    pb::WhistleCommand* c = add("whistle").mutable_whistle();
    c->set_event_id(1);
    c->set_department("c1-committee");
    c->set_claim_number(1);
    c->set_reason("needs the street");
  }
  {
    pb::SuperviseCommand* c = add("supervise").mutable_supervise();
    c->set_event_id(1);
    c->set_note("hurry");
  }
  {
    pb::FeedbackCommand* c = add("feedback").mutable_feedback();
    c->set_event_id(1);
    c->set_satisfied(false);
    c->set_score(2);
    c->set_comment("still leaking");
  }
  {
    pb::ReopenCommand* c = add("reopen").mutable_reopen();
    c->set_event_id(1);
    c->set_reason("came back");
  }
  {
    pb::MergeCommand* c = add("merge").mutable_merge();
    c->set_event_id(2);
    c->set_into_event_id(1);
  }
  {
    pb::CancelCommand* c = add("cancel").mutable_cancel();
    c->set_event_id(2);
    c->set_reason("reported by mistake");
  }
  {
    pb::SetModeCommand* c = add("set_mode").mutable_set_mode();
    c->set_region(testing::kStreet);
    c->set_mode(pb::MODE_EMERGENCY);
  }
  {
    pb::Principal* p = add("create_principal").mutable_create_principal()->mutable_principal();
    p->set_name("water-agent-1");
    p->set_role(pb::ROLE_AGENT);
    p->add_departments("c1-water-unit");
    p->set_public_key(std::string(32, 'k'));
  }
  {
    pb::RevokePrincipalCommand* c = add("revoke_principal").mutable_revoke_principal();
    c->set_name("water-agent-1");
    c->set_reason("left");
  }
  {
    pb::GetQuery* q = add("get").mutable_get();
    q->set_event_id(1);
    q->set_with_history(true);
  }
  add("get_by_request_id").mutable_get()->set_submit_request_id("sub-1");
  {
    pb::ListQuery* q = add("list_department").mutable_list();
    q->set_department("c1-committee");
    q->set_state(pb::STATE_DISPATCHED);
  }
  {
    pb::ListQuery* q = add("list_city").mutable_list();
    q->set_city(true);
    q->add_categories("water");
    q->add_states(pb::STATE_CLAIMED);
    q->set_page_size(10);
  }
  {
    pb::StatsQuery* q = add("stats").mutable_stats();
    q->set_region(testing::kCounty);
    q->set_month("2026-11");
  }
  {
    pb::LogQuery* q = add("log").mutable_log();
    q->set_after_seq(0);
    q->set_max_records(10);
    q->set_from_ms(testing::kStartMs);
  }
  add("checkpoint").mutable_checkpoint()->set_dir("backup");
  add("list_principals").mutable_list_principals();
  add("whoami").mutable_whoami();
  add("digest").mutable_digest();
  return out;
}

// --- fuzz_config --------------------------------------------------------------------------

// The sample city at its smallest, with only its first two categories.
pb::CityConfig SmallSampleCity() {
  SampleCityOptions options;
  options.counties = 1;
  options.streets = 1;
  options.communities = 2;
  options.grids = 3;
  options.registered_units = 1;
  pb::CityConfig c = SampleCity(options);
  std::vector<std::string> keep;
  for (int i = 0; i < std::min(2, c.categories_size()); ++i) keep.push_back(c.categories(i).code());
  auto kept = [&](const std::string& code) {
    return std::find(keep.begin(), keep.end(), code) != keep.end();
  };
  c.mutable_categories()->DeleteSubrange(static_cast<int>(keep.size()),
                                         c.categories_size() - static_cast<int>(keep.size()));
  pb::CityConfig trimmed = c;
  trimmed.clear_departments();
  for (const pb::Department& d : c.departments()) {
    pb::Department copy = d;
    copy.clear_categories();
    for (const std::string& cat : d.categories()) {
      if (kept(cat)) copy.add_categories(cat);
    }
    if (copy.categories_size() > 0) *trimmed.add_departments() = copy;
  }
  trimmed.clear_sla();
  for (const pb::SlaPolicy& s : c.sla()) {
    if (kept(s.category())) *trimmed.add_sla() = s;
  }
  return trimmed;
}

// --- fuzz_engine --------------------------------------------------------------------------

// One scenario: choices in reading order (fuzz_engine.cc), written reversed.
class Scenario {
 public:
  Scenario& operator()(std::initializer_list<unsigned> choices) {
    for (unsigned c : choices) choices_.push_back(static_cast<char>(c));
    return *this;
  }
  std::string Bytes() const { return {choices_.rbegin(), choices_.rend()}; }

  // Steps (fuzz_engine's step choice, then its actor and request choices).
  static constexpr unsigned kOneCommand = 2;
  Scenario& Minutes(unsigned m) { return (*this)({0, m - 1}); }
  Scenario& Hours(unsigned h) { return (*this)({1, h - 1}); }
  Scenario& Batch(unsigned commands) { return (*this)({9 + commands}); }  // 2 .. 6
  // Actors.
  Scenario& Dev() { return (*this)({0}); }
  Scenario& Agent(unsigned department) { return (*this)({3, department}); }
  Scenario& Supervisor(unsigned region) { return (*this)({5, region}); }
  Scenario& Hotline() { return (*this)({4}); }
  // Requests; the trailing 0 is "no request id".
  Scenario& Submit(unsigned id, unsigned category, unsigned grid) {
    return (*this)({0, 1, id, category, grid, 0, 0});
  }
  Scenario& Claim(unsigned event, unsigned department, bool assist = false) {
    return (*this)({2, event, department, 1, assist ? 1u : 0u, 0});
  }
  Scenario& Release(unsigned event, unsigned claim) { return (*this)({4, event, claim, 1, 0}); }
  Scenario& Progress(unsigned event, unsigned claim) { return (*this)({5, event, claim, 1, 0}); }
  Scenario& Resolve(unsigned event, unsigned claim) { return (*this)({6, event, claim, 1, 0}); }
  Scenario& Return(unsigned event, unsigned department, unsigned claim) {
    return (*this)({7, event, department, claim, 1, 0});
  }
  Scenario& Whistle(unsigned event, unsigned department, unsigned claim) {
    return (*this)({8, event, 1, department, claim, 1, 0});
  }
  Scenario& Supervise(unsigned event) { return (*this)({9, event, 1, 0}); }
  Scenario& Feedback(unsigned event, bool satisfied, unsigned score) {
    return (*this)({10, event, satisfied ? 1u : 0u, score, 0});
  }
  Scenario& Reopen(unsigned event) { return (*this)({11, event, 1, 0}); }
  Scenario& Merge(unsigned event, unsigned into) { return (*this)({12, event, into, 0}); }
  Scenario& Cancel(unsigned event) { return (*this)({13, event, 1, 0}); }
  Scenario& SetMode(unsigned region, unsigned mode) { return (*this)({14, region, mode, 0}); }
  Scenario& Get(unsigned event) { return (*this)({15, 1, event, 1, 0}); }

 private:
  std::string choices_;
};

// Indexes into fuzz_engine's tables.
enum : unsigned {
  kC1Committee = 0,
  kC1WaterUnit = 1,
  kC2Committee = 2,
  kStreetOffice = 3,
  kCountyBureau = 4
};
enum : unsigned { kWater = 0, kNoise = 1 };
enum : unsigned { kGrid1 = 0, kGrid2 = 1, kGrid3 = 2 };
enum : unsigned { kWholeCity = 0, kRegionCity = 1, kRegionStreet = 3, kRegionCommunity1 = 4 };
constexpr unsigned kOne = Scenario::kOneCommand;

std::vector<std::pair<std::string, std::string>> EngineSeeds() {
  std::vector<std::pair<std::string, std::string>> out;
  Scenario s;

  // Submit, claim, progress, resolve, satisfied feedback: closed.
  s = Scenario();
  s({kOne}).Dev().Submit(0, kWater, kGrid1);
  s({kOne}).Agent(kC1Committee).Claim(1, kC1Committee);
  s({kOne}).Agent(kC1Committee).Progress(1, 1);
  s({kOne}).Agent(kC1Committee).Resolve(1, 1);
  s({kOne}).Hotline().Feedback(1, true, 5);
  s({kOne}).Dev().Get(1);
  out.emplace_back("lifecycle", s.Bytes());

  // Nobody claims: the claim deadlines climb the ladder to the city, then it is overdue.
  s = Scenario();
  s({kOne}).Dev().Submit(0, kNoise, kGrid3);
  s.Minutes(31).Hours(2).Hours(3).Hours(5).Hours(24);
  s({kOne}).Dev().Get(1);
  out.emplace_back("deadlines", s.Bytes());

  // Resolved, then unsatisfied feedback reopens it; resolved again and closed by the quiet period.
  s = Scenario();
  s({kOne}).Dev().Submit(1, kWater, kGrid2);
  s({kOne}).Dev().Claim(1, kC1WaterUnit);
  s({kOne}).Dev().Resolve(1, 1);
  s({kOne}).Hotline().Feedback(1, false, 1);
  s({kOne}).Dev().Claim(1, kC1Committee);
  s({kOne}).Dev().Resolve(1, 2);
  s.Hours(73);
  s({kOne}).Supervisor(kWholeCity).Reopen(1);
  out.emplace_back("reopen", s.Bytes());

  // Whistle to the street, return there, assist, release; stale claims refused.
  s = Scenario();
  s({kOne}).Dev().Submit(0, kWater, kGrid1);
  s({kOne}).Dev().Claim(1, kC1Committee);
  s({kOne}).Agent(kC1Committee).Whistle(1, kC1Committee, 1);
  s({kOne}).Agent(kStreetOffice).Claim(1, kStreetOffice);
  s({kOne}).Dev().Claim(1, kC1Committee, true);
  s({kOne}).Dev().Progress(1, 1);
  s({kOne}).Dev().Release(1, 2);
  s({kOne}).Dev().Return(1, kStreetOffice, 0);
  s({kOne}).Supervisor(kRegionStreet).Supervise(1);
  out.emplace_back("whistle_return", s.Bytes());

  // A batch of several: two reports of one leak (a duplicate), another grid, a merge, a cancel.
  s = Scenario();
  s.Batch(4)
      .Dev()
      .Submit(0, kWater, kGrid1)
      .Dev()
      .Submit(1, kWater, kGrid1)
      .Dev()
      .Submit(2, kWater, kGrid2)
      .Dev()
      .Submit(3, kNoise, kGrid3);
  s.Batch(3).Supervisor(kRegionCity).Merge(2, 1).Supervisor(kWholeCity).Cancel(3).Dev().Get(2);
  s({kOne}).Dev().Merge(1, 1);
  out.emplace_back("batch_merge_cancel", s.Bytes());

  // Emergency mode re-plans open events; shorter deadlines fire.
  s = Scenario();
  s({kOne}).Dev().Submit(0, kWater, kGrid1);
  s({kOne}).Dev().SetMode(kRegionCommunity1, 2);
  s.Minutes(10);
  s({kOne}).Dev().SetMode(kRegionCommunity1, 1);
  s.Minutes(45).Hours(2);
  out.emplace_back("emergency_mode", s.Bytes());

  // Refusals: an agent of another department, a region-scoped supervisor outside its region.
  s = Scenario();
  s({kOne}).Dev().Submit(0, kWater, kGrid3);
  s({kOne}).Agent(kC1Committee).Claim(1, kC1Committee);
  s({kOne}).Agent(kC2Committee).Claim(1, kC1Committee);
  s({kOne}).Supervisor(kRegionCommunity1).Cancel(1);
  s({kOne}).Agent(kCountyBureau).Return(1, kCountyBureau, 0);
  out.emplace_back("refusals", s.Bytes());
  return out;
}

}  // namespace
}  // namespace whistle::fuzz

int main(int argc, char** argv) {
  using namespace whistle;
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  for (const char* target : {"fuzz_request", "fuzz_config", "fuzz_engine"}) {
    fs::create_directories(root / target);
  }

  for (const auto& [name, request] : fuzz::Requests()) {
    fuzz::Write(root / "fuzz_request" / (name + ".binpb"), request.SerializeAsString());
  }

  const pb::CityConfig test_city = testing::TestCityConfig();
  const pb::CityConfig sample = fuzz::SmallSampleCity();
  for (const auto& [name, config] :
       {std::pair{"test_city", &test_city}, std::pair{"sample_small", &sample}}) {
    if (auto city = City::Build(*config); !city.ok()) {  // a seed that builds reaches further
      std::fprintf(stderr, "%s does not build: %s\n", name, city.status().ToString().c_str());
      return 1;
    }
    fuzz::Write(root / "fuzz_config" / (std::string(name) + ".txtpb"),
                FormatCityConfig(*config, ConfigFormat::kText));
    fuzz::Write(root / "fuzz_config" / (std::string(name) + ".json"),
                FormatCityConfig(*config, ConfigFormat::kJson));
  }

  for (const auto& [name, bytes] : fuzz::EngineSeeds()) {
    fuzz::Write(root / "fuzz_engine" / name, bytes);
  }
  return 0;
}
