// GET services and GET services/{code}.
#include <doctest/doctest.h>

#include "agents/gateway/open311.h"
#include "dispatcher/sample_city.h"
#include "tests/gateway/open311/open311_city.h"

namespace whistle::open311 {
namespace {

using testing::BuildOpen311City;

const Json* FindService(const Json& services, std::string_view code) {
  for (const Json& s : services) {
    if (s["service_code"] == code) return &s;
  }
  return nullptr;
}

TEST_CASE("services lists every category in configuration order") {
  auto city = BuildOpen311City();
  Json services = ServicesDocument(*city, Language::kZh);
  REQUIRE(services.is_array());
  REQUIRE(services.size() == 2);
  CHECK(services[0]["service_code"] == "water");
  CHECK(services[1]["service_code"] == "noise");
}

TEST_CASE("services describe a category with the spec's fields in order") {
  auto city = BuildOpen311City();
  const Json services = ServicesDocument(*city, Language::kZh);
  const Json& water = services[0];
  std::vector<std::string> keys;
  for (auto it = water.begin(); it != water.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"service_code", "service_name", "description", "metadata",
                                         "type", "keywords", "group"});
  CHECK(water["service_name"] == "供排水");
  CHECK(water["description"] == "leaks and bursts");
  CHECK(water["metadata"] == true);
  CHECK(water["type"] == "realtime");
  CHECK(water["keywords"] == "leak, pipe");
  CHECK(water["group"] == "infrastructure");
}

TEST_CASE("services metadata is false for a category without attributes") {
  pb::CityConfig config = testing::Open311CityConfig();
  config.mutable_categories(1)->clear_attributes();
  auto city = BuildOpen311City(config);
  const Json services = ServicesDocument(*city, Language::kZh);
  CHECK(services[1]["metadata"] == false);
  CHECK(services[1]["keywords"] == "");
  CHECK(ToXml(services, kServicesRoot).find("<service><service_code>noise</service_code>") !=
        std::string::npos);
}

TEST_CASE("services give the english name when asked, else the chinese one") {
  pb::CityConfig config = testing::Open311CityConfig();
  config.mutable_categories(1)->clear_name_en();
  auto city = BuildOpen311City(config);
  Json services = ServicesDocument(*city, Language::kEn);
  CHECK(services[0]["service_name"] == "Water supply");
  CHECK(services[1]["service_name"] == "噪声扰民");
}

TEST_CASE("service definition lists attributes sorted by order with their values") {
  auto city = BuildOpen311City();
  auto def = ServiceDefinitionDocument(*city, "water");
  REQUIRE(def.ok());
  CHECK((*def)["service_code"] == "water");
  const Json& attributes = (*def)["attributes"];
  REQUIRE(attributes.size() == 2);
  CHECK(attributes[0]["code"] == "households");  // order 1, configured second
  CHECK(attributes[0]["datatype"] == "number");
  CHECK(attributes[0]["values"] == Json::array());
  const Json& kind = attributes[1];
  CHECK(kind == Json::parse(R"({"variable":true,"code":"kind","datatype":"singlevaluelist",
      "required":true,"datatype_description":"pick one","order":2,"description":"question kind",
      "values":[{"key":"leak","name":"漏水"},{"key":"burst","name":"爆管"}]})"));
}

TEST_CASE("service definition renders as xml with attribute and value items") {
  auto city = BuildOpen311City();
  auto def = ServiceDefinitionDocument(*city, "noise");
  REQUIRE(def.ok());
  const std::string xml = ToXml(*def, kServiceDefinitionRoot);
  CHECK(xml.find(
            "<service_definition><service_code>noise</service_code><attributes><attribute>"
            "<variable>true</variable><code>sources</code><datatype>multivaluelist</datatype>") !=
        std::string::npos);
  CHECK(xml.find("<values><value><key>traffic</key><name>交通</name></value>") !=
        std::string::npos);
  CHECK(xml.find("<datatype>datetime</datatype>") != std::string::npos);
}

TEST_CASE("service definition of an unknown code is not found, naming it") {
  auto city = BuildOpen311City();
  auto def = ServiceDefinitionDocument(*city, "potholes");
  REQUIRE_FALSE(def.ok());
  CHECK(def.status().code() == pb::STATUS_NOT_FOUND);
  CHECK(def.status().message().find("'potholes'") != std::string::npos);
}

TEST_CASE("sample city's services mark exactly the categories with attributes as metadata") {
  auto city = City::Build(SampleCity());
  REQUIRE(city.ok());
  Json services = ServicesDocument(**city, Language::kEn);
  CHECK(services.size() == static_cast<size_t>((*city)->config().categories_size()));
  for (const char* code : {"water", "safety", "noise"}) {
    REQUIRE(FindService(services, code) != nullptr);
    CHECK((*FindService(services, code))["metadata"] == true);
  }
  CHECK((*FindService(services, "roads"))["metadata"] == false);
  CHECK((*FindService(services, "water"))["service_name"] == "Water supply and drainage");
  auto safety = ServiceDefinitionDocument(**city, "safety");
  REQUIRE(safety.ok());
  const pb::ServiceAttribute& hazards = (*city)->FindCategory("safety")->attributes(0);
  CHECK((*safety)["attributes"][0]["code"] == hazards.code());
  CHECK((*safety)["attributes"][0]["datatype"] == "multivaluelist");
  CHECK((*safety)["attributes"][0]["required"] == hazards.required());
  CHECK((*safety)["attributes"][0]["values"].size() == static_cast<size_t>(hazards.values_size()));
}

}  // namespace
}  // namespace whistle::open311
