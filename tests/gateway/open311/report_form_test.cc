// POST requests: the form -> pb::Report, and jurisdiction_id.
#include <doctest/doctest.h>

#include <algorithm>

#include "agents/gateway/open311.h"
#include "tests/gateway/open311/open311_city.h"
#include "tests/gateway/open311/open311_testing.h"

namespace whistle::open311 {
namespace {

using testing::BuildOpen311City;
using testing::kCommunity1;
using testing::kGrid1;
using testing::kGrid2;
using testing::kGrid3;
using testing::Mentions;

// A valid water report at a point in grid 1.
Params WaterForm() {
  return {{"service_code", "water"},
          {"lat", "37.505"},
          {"long", "121.405"},
          {"attribute[kind]", "leak"}};
}

Result<pb::Report> ParseForm(const Params& form) {
  static const auto city = BuildOpen311City();
  return ParseReportForm(form, *city, "app-1");
}

// The refusal's message. REQUIRES: the form is refused with BAD_REQUEST.
std::string FormRefusal(const Params& form) {
  auto r = ParseForm(form);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == pb::STATUS_BAD_REQUEST);
  return r.status().message();
}

TEST_CASE("form with a position becomes a report in the grid that contains it") {
  auto r = ParseForm(WaterForm());
  REQUIRE(r.ok());
  CHECK(r->category() == "water");
  CHECK(r->position().lat() == doctest::Approx(37.505));
  CHECK(r->position().lon() == doctest::Approx(121.405));
  CHECK(r->grid() == kGrid1);
  CHECK(r->source() == pb::SOURCE_OPEN311);
  CHECK(r->reporter() == "app-1");
}

TEST_CASE("form copies the reporter's details and text") {
  Params form = WaterForm();
  form.insert({{"description", "水管漏水"},
               {"email", "a@b.cn"},
               {"phone", "13800000000"},
               {"device_id", "dev-1"},
               {"account_id", "acc-1"},
               {"first_name", "Li"},
               {"last_name", "Wei"},
               {"media_url", "https://img/1.jpg"},
               {"address_string", "幸福路 1 号"}});
  auto r = ParseForm(form);
  REQUIRE(r.ok());
  CHECK(r->description() == "水管漏水");
  CHECK(r->contact_email() == "a@b.cn");
  CHECK(r->contact_phone() == "13800000000");
  CHECK(r->device_id() == "dev-1");
  CHECK(r->account_id() == "acc-1");
  CHECK(r->contact_name() == "Li Wei");
  REQUIRE(r->media_urls_size() == 1);
  CHECK(r->media_urls(0) == "https://img/1.jpg");
  CHECK(r->address() == "幸福路 1 号");
  CHECK(r->grid() == kGrid1);  // the position places it; the address is only text
}

TEST_CASE("form contact name is trimmed when one name is missing") {
  Params form = WaterForm();
  form.insert({"last_name", "Wei"});
  CHECK(ParseForm(form)->contact_name() == "Wei");
  form = WaterForm();
  form.insert({"first_name", "Li"});
  CHECK(ParseForm(form)->contact_name() == "Li");
}

TEST_CASE("form without service_code is refused") {
  Params form = WaterForm();
  form.erase("service_code");
  CHECK(Mentions(FormRefusal(form), "service_code is required"));
}

TEST_CASE("form with an unknown service_code is refused naming it") {
  Params form = WaterForm();
  form.find("service_code")->second = "potholes";
  CHECK(Mentions(FormRefusal(form), "service_code 'potholes'"));
}

TEST_CASE("form treats an empty parameter as absent") {
  Params form = WaterForm();
  form.insert({{"description", ""},
               {"address_id", ""},
               {"email", ""},
               {"attribute[households]", ""},
               {"service_code", ""}});
  auto r = ParseForm(form);
  REQUIRE(r.ok());
  CHECK(r->description().empty());
  CHECK(r->address_id().empty());
  CHECK(r->attributes_size() == 1);  // households left out: it is optional
}

TEST_CASE("form refuses a single-valued parameter given twice") {
  Params form = WaterForm();
  form.insert({{"description", "a"}, {"description", "b"}});
  CHECK(Mentions(FormRefusal(form), "description is given more than once"));
}

TEST_CASE("form refuses lat without long and long without lat") {
  Params form = WaterForm();
  form.erase("long");
  CHECK(Mentions(FormRefusal(form), "lat is given without long"));
  form = WaterForm();
  form.erase("lat");
  CHECK(Mentions(FormRefusal(form), "long is given without lat"));
}

TEST_CASE("form refuses coordinates that are not finite numbers") {
  for (const char* bad : {"abc", "37.5x", "nan", "inf", "", " 37.5"}) {
    CAPTURE(bad);
    Params form = WaterForm();
    form.find("lat")->second = bad;
    auto r = ParseForm(form);
    REQUIRE_FALSE(r.ok());
    CHECK((Mentions(r.status().message(), "lat") || Mentions(r.status().message(), "long")));
  }
}

TEST_CASE("form refuses coordinates out of range") {
  Params form = WaterForm();
  form.find("lat")->second = "91";
  CHECK(Mentions(FormRefusal(form), "lat 91 is out of range"));
  form = WaterForm();
  form.find("long")->second = "-180.5";
  CHECK(Mentions(FormRefusal(form), "long -180.5 is out of range"));
}

TEST_CASE("form refuses a position outside every grid of the city") {
  Params form = WaterForm();
  form.find("lat")->second = "39.9";
  form.find("long")->second = "116.4";
  CHECK(Mentions(FormRefusal(form), "outside the city"));
}

TEST_CASE("form places a report by address_id, a grid code") {
  Params form = {{"service_code", "water"}, {"address_id", kGrid3}, {"attribute[kind]", "burst"}};
  auto r = ParseForm(form);
  REQUIRE(r.ok());
  CHECK(r->grid() == kGrid3);
  CHECK(r->address_id() == kGrid3);
  CHECK_FALSE(r->has_position());
}

TEST_CASE("form address_id wins over the grid of its position") {
  Params form = WaterForm();  // a point in grid 1
  form.insert({"address_id", kGrid2});
  auto r = ParseForm(form);
  REQUIRE(r.ok());
  CHECK(r->grid() == kGrid2);
  CHECK(r->has_position());
}

TEST_CASE("form refuses an address_id that is not a grid") {
  Params form = {{"service_code", "water"}, {"address_id", "nowhere"}, {"attribute[kind]", "leak"}};
  CHECK(Mentions(FormRefusal(form), "address_id 'nowhere' is not a grid code"));
  form.find("address_id")->second = kCommunity1;
  CHECK(Mentions(FormRefusal(form), "is a community, not a grid"));
}

TEST_CASE("form without any location is refused naming the three ways") {
  Params form = {{"service_code", "water"}, {"attribute[kind]", "leak"}};
  const std::string message = FormRefusal(form);
  CHECK(Mentions(message, "lat and long"));
  CHECK(Mentions(message, "address_string"));
  CHECK(Mentions(message, "address_id"));
}

TEST_CASE("form accepts a lone address_string that is a grid's code or name") {
  Params form = {
      {"service_code", "water"}, {"address_string", kGrid3}, {"attribute[kind]", "leak"}};
  auto by_code = ParseForm(form);
  REQUIRE(by_code.ok());
  CHECK(by_code->grid() == kGrid3);
  form.find("address_string")->second = "东山网格";
  auto by_name = ParseForm(form);
  REQUIRE(by_name.ok());
  CHECK(by_name->grid() == kGrid2);
  CHECK(by_name->address() == "东山网格");
}

TEST_CASE("form refuses a lone address_string it cannot place, saying it cannot geocode") {
  Params form = {
      {"service_code", "water"}, {"address_string", "幸福路 1 号"}, {"attribute[kind]", "leak"}};
  const std::string message = FormRefusal(form);
  CHECK(Mentions(message, "cannot geocode"));
  CHECK(Mentions(message, "address_id"));
}

TEST_CASE("form refuses a lone address_string that names several grids") {
  pb::CityConfig config = testing::Open311CityConfig();
  for (pb::Region& r : *config.mutable_regions()) {
    if (r.code() == kGrid3) r.set_name("东山网格");
  }
  auto city = BuildOpen311City(config);
  Params form = {
      {"service_code", "water"}, {"address_string", "东山网格"}, {"attribute[kind]", "leak"}};
  auto r = ParseReportForm(form, *city, "app-1");
  REQUIRE_FALSE(r.ok());
  CHECK(Mentions(r.status().message(), "names 2 grids"));
}

TEST_CASE("form description may hold 4000 characters but not 4001") {
  Params form = WaterForm();
  std::string text;
  for (int i = 0; i < 4000; ++i) text += "水";  // 3 bytes each: characters are counted, not bytes
  form.insert({"description", text});
  CHECK(ParseForm(form).ok());
  form.find("description")->second += "x";
  CHECK(Mentions(FormRefusal(form), "description is 4001 characters"));
}

TEST_CASE("form refuses text that is not utf-8, naming the field") {
  Params form = WaterForm();
  form.insert({"description", "bad \xFF byte"});
  CHECK(Mentions(FormRefusal(form), "description is not valid UTF-8"));
  form = WaterForm();
  form.find("attribute[kind]")->second = "\xC0\xAF";
  CHECK(Mentions(FormRefusal(form), "attribute[kind] is not valid UTF-8"));
}

TEST_CASE("form collects attribute answers in the category's order") {
  Params form = WaterForm();
  form.insert({"attribute[households]", "12"});
  auto r = ParseForm(form);
  REQUIRE(r.ok());
  REQUIRE(r->attributes_size() == 2);
  CHECK(r->attributes(0).code() == "kind");  // configured first, though "households" sorts first
  CHECK(r->attributes(1).code() == "households");
  CHECK(r->attributes(1).values(0) == "12");
}

TEST_CASE("form takes a multivaluelist from repeated attribute[code][] and attribute[code]") {
  Params form = {{"service_code", "noise"},
                 {"address_id", kGrid1},
                 {"attribute[sources][]", "traffic"},
                 {"attribute[sources][]", "music"},
                 {"attribute[sources]", "building"}};
  auto r = ParseForm(form);
  REQUIRE(r.ok());
  REQUIRE(r->attributes_size() == 1);
  CHECK(r->attributes(0).code() == "sources");
  std::vector<std::string> values(r->attributes(0).values().begin(),
                                  r->attributes(0).values().end());
  std::sort(values.begin(), values.end());
  CHECK(values == std::vector<std::string>{"building", "music", "traffic"});
}

TEST_CASE("form answers are checked against the category's attributes") {
  Params missing = WaterForm();
  missing.erase("attribute[kind]");
  CHECK(Mentions(FormRefusal(missing), "attribute 'kind' is required"));

  Params wrong_key = WaterForm();
  wrong_key.find("attribute[kind]")->second = "flood";
  CHECK(Mentions(FormRefusal(wrong_key), "'flood' is not one of its values"));

  Params two = WaterForm();
  two.insert({"attribute[kind][]", "burst"});
  CHECK(Mentions(FormRefusal(two), "takes exactly one value"));

  Params unknown = WaterForm();
  unknown.insert({"attribute[colour]", "red"});
  CHECK(Mentions(FormRefusal(unknown), "no attribute 'colour'"));

  Params not_number = WaterForm();
  not_number.insert({"attribute[households]", "many"});
  CHECK(Mentions(FormRefusal(not_number), "'many' is not a number"));
}

TEST_CASE("form refuses malformed attribute keys") {
  for (const char* key : {"attribute", "attribute[]", "attribute[kind", "attribute[kind][x]",
                          "attribute[a[b]]", "attributes[kind]"}) {
    CAPTURE(key);
    Params form = WaterForm();
    form.insert({key, "leak"});
    CHECK(Mentions(FormRefusal(form), "malformed parameter"));
  }
}

TEST_CASE("form ignores parameters it does not know") {
  Params form = WaterForm();
  form.insert({{"api_key", "secret"}, {"jurisdiction_id", "elsewhere"}, {"format", "json"}});
  CHECK(ParseForm(form).ok());
}

TEST_CASE("jurisdiction_id may be absent, empty or the one served") {
  CHECK(CheckJurisdiction({}, "370600").ok());
  CHECK(CheckJurisdiction({{"jurisdiction_id", ""}}, "370600").ok());
  CHECK(CheckJurisdiction({{"jurisdiction_id", "370600"}}, "370600").ok());
}

TEST_CASE("jurisdiction_id of another city is not found, naming both") {
  Status s = CheckJurisdiction({{"jurisdiction_id", "110000"}}, "370600");
  CHECK(s.code() == pb::STATUS_NOT_FOUND);
  CHECK(Mentions(s.message(), "'110000'"));
  CHECK(Mentions(s.message(), "'370600'"));
}

}  // namespace
}  // namespace whistle::open311
