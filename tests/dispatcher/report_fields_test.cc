// What a report may carry beyond its place and category: attribute answers, urgency, and
// personal data that is stored but never handed to anyone else.
#include <doctest/doctest.h>

#include "dispatcher/attributes.h"
#include "dispatcher/sample_city.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using testing::EngineFixture;
using testing::kGrid1;
using Attribute = pb::ServiceAttribute;

// The test city with water asking "kind" (required list), "households" (number),
// "when" (datetime) and "parts" (multi-value list).
pb::CityConfig CityWithQuestions() {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  for (pb::Category& c : *config.mutable_categories()) {
    if (c.code() != "water") continue;
    auto add = [&](const char* code, Attribute::Datatype type, bool required,
                   std::vector<const char*> keys) {
      Attribute* a = c.add_attributes();
      a->set_code(code);
      a->set_datatype(type);
      a->set_required(required);
      for (const char* k : keys) a->add_values()->set_key(k);
    };
    add("kind", Attribute::DATATYPE_SINGLEVALUELIST, true, {"leak", "burst"});
    add("households", Attribute::DATATYPE_NUMBER, false, {});
    add("when", Attribute::DATATYPE_DATETIME, false, {});
    add("parts", Attribute::DATATYPE_MULTIVALUELIST, false, {"pipe", "valve", "meter"});
  }
  return config;
}

pb::Request WaterReport(std::vector<std::pair<std::string, std::vector<std::string>>> answers) {
  pb::Request r;
  static int next_request = 0;
  r.set_request_id("req-" + std::to_string(++next_request));
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category("water");
  report->set_grid(kGrid1);
  report->set_description("leak");
  for (auto& [code, values] : answers) {
    pb::AttributeAnswer* a = report->add_attributes();
    a->set_code(code);
    for (auto& v : values) a->add_values(v);
  }
  return r;
}

TEST_CASE("a report's answers are kept when they fit the category's questions") {
  EngineFixture f(CityWithQuestions());
  pb::Response r = f.Run(WaterReport({{"kind", {"burst"}},
                                      {"households", {"12.5"}},
                                      {"when", {"2026-11-23T08:00:00+08:00"}},
                                      {"parts", {"pipe", "valve"}}}));
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  pb::Event e = f.EventOf(r.event().event().id());
  REQUIRE(e.report().attributes_size() == 4);
  CHECK(e.report().attributes(3).values_size() == 2);
}

TEST_CASE("answers that break the category's rules are refused and change nothing") {
  EngineFixture f(CityWithQuestions());
  auto before = testing::DumpAll(f.store());
  struct Case {
    std::vector<std::pair<std::string, std::vector<std::string>>> answers;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "attribute 'kind' is required"},
           {{{"kind", {"flood"}}}, "'flood' is not one of its values"},
           {{{"kind", {"leak", "burst"}}}, "takes exactly one value"},
           {{{"kind", {"leak"}}, {"colour", {"red"}}}, "has no attribute 'colour'"},
           {{{"kind", {"leak"}}, {"households", {"many"}}}, "'many' is not a number"},
           {{{"kind", {"leak"}}, {"households", {"inf"}}}, "is not a number"},
           {{{"kind", {"leak"}}, {"when", {"yesterday"}}}, "ISO 8601"},
           {{{"kind", {"leak"}}, {"parts", {"pipe", "roof"}}}, "'roof' is not one of its values"},
           {{{"kind", {"leak"}}, {"kind", {"burst"}}}, "answered twice"},
           {{{"kind", {}}}, "has no value"},
       }) {
    pb::Response r = f.Run(WaterReport(c.answers));
    CAPTURE(c.says);
    CHECK(r.code() == pb::STATUS_BAD_REQUEST);
    CHECK(r.message().find(c.says) != std::string::npos);
  }
  CHECK(testing::DumpAll(f.store()) == before);
}

TEST_CASE("a category's questions must be well formed for the city to load") {
  auto broken = [](auto edit) {
    pb::CityConfig config = CityWithQuestions();
    for (pb::Category& c : *config.mutable_categories()) {
      if (c.code() == "water") edit(c.mutable_attributes());
    }
    return City::Build(config).status();
  };
  CHECK(City::Build(CityWithQuestions()).ok());
  Status dup = broken([](auto* a) { a->Mutable(1)->set_code("kind"); });
  CHECK(dup.message() == "category 'water': attribute 'kind': duplicate code");
  Status no_values = broken([](auto* a) { a->Mutable(0)->clear_values(); });
  CHECK(no_values.message() == "category 'water': attribute 'kind': a list needs values");
  Status values_on_number = broken([](auto* a) { a->Mutable(1)->add_values()->set_key("x"); });
  CHECK(values_on_number.message() ==
        "category 'water': attribute 'households': only list datatypes have values");
  Status no_type = broken([](auto* a) { a->Mutable(2)->set_datatype(Attribute::DATATYPE_UNSPECIFIED); });
  CHECK(no_type.message() == "category 'water': attribute 'when': no datatype");
  Status twice = broken([](auto* a) { a->Mutable(3)->add_values()->set_key("pipe"); });
  CHECK(twice.message() == "category 'water': attribute 'parts': value 'pipe' is listed twice");
}

TEST_CASE("the sample city's questions are well formed") {
  auto city = City::Build(SampleCity());
  REQUIRE(city.ok());
  const pb::Category* water = (*city)->FindCategory("water");
  REQUIRE(water != nullptr);
  CHECK(water->attributes_size() >= 1);
  CHECK(!water->description().empty());
}

TEST_CASE("an urgent report gets the emergency deadlines in a region in normal mode, and keeps them") {
  EngineFixture f;
  pb::Request r = WaterReport({});
  r.mutable_submit()->mutable_report()->set_urgent(true);
  pb::Response urgent = f.Run(r);
  REQUIRE_MESSAGE(urgent.code() == pb::STATUS_OK, urgent.message());
  uint64_t normal_id = f.SubmitOk("noise", kGrid1);
  pb::Event u = f.EventOf(urgent.event().event().id());
  pb::Event n = f.EventOf(normal_id);
  CHECK(u.mode() == pb::MODE_EMERGENCY);
  CHECK(u.claim_deadline_ms() - u.dispatched_at_ms() == 30 * 60 * 1000 / 4);
  CHECK(n.claim_deadline_ms() - n.dispatched_at_ms() == 30 * 60 * 1000);

  // Switching the county to emergency and back re-plans the ordinary event only.
  REQUIRE(f.SetMode(testing::kCounty, pb::MODE_EMERGENCY).code() == pb::STATUS_OK);
  pb::Response back = f.SetMode(testing::kCounty, pb::MODE_NORMAL);
  REQUIRE(back.code() == pb::STATUS_OK);
  CHECK(back.mode().replanned_events() == 1);
  CHECK(f.EventOf(u.id()).claim_deadline_ms() == u.claim_deadline_ms());

  // It climbs with emergency deadlines too.
  f.clock.Advance(std::chrono::minutes(8));
  f.engine().FireDueTimers();
  pb::Event climbed = f.EventOf(u.id());
  CHECK(climbed.level() == pb::LEVEL_STREET);
  CHECK(climbed.claim_deadline_ms() - climbed.dispatched_at_ms() == 60 * 60 * 1000 / 4);
}

TEST_CASE("personal data is stored but not given to a second reporter of the same problem") {
  pb::CityConfig config = testing::TestCityConfig();
  EngineFixture f(config);
  pb::Request first;
  first.set_request_id("first");
  pb::Report* report = first.mutable_submit()->mutable_report();
  report->set_category("water");
  report->set_grid(kGrid1);
  report->set_contact_name("王芳");
  report->set_contact_phone("13800000000");
  report->set_contact_email("wf@example.cn");
  report->set_device_id("device-1");
  report->set_account_id("account-1");
  pb::Response r1 = f.Run(first);
  REQUIRE(r1.code() == pb::STATUS_OK);
  CHECK(f.EventOf(r1.event().event().id()).report().contact_email() == "wf@example.cn");

  pb::Request second = first;
  second.set_request_id("second");
  second.mutable_submit()->mutable_report()->set_contact_name("李雷");
  pb::Response r2 = f.Run(second);
  REQUIRE(r2.code() == pb::STATUS_OK);
  REQUIRE(r2.event().linked_as_duplicate());
  const pb::Report& seen = r2.event().event().report();
  CHECK(seen.contact_name().empty());
  CHECK(seen.contact_phone().empty());
  CHECK(seen.contact_email().empty());
  CHECK(seen.device_id().empty());
  CHECK(seen.account_id().empty());
  // The link names the linked Submit's request id, so a gateway can follow its order.
  auto history = f.HistoryOf(r1.event().event().id());
  CHECK(history.back().report_linked().link().request_id() == "second");
}

}  // namespace
}  // namespace whistle
