// Formats, errors, discovery and the POST / token responses.
#include <doctest/doctest.h>

#include "agents/gateway/open311.h"
#include "tests/gateway/open311/open311_testing.h"

namespace whistle::open311 {
namespace {

using testing::Ms;

// The XML after its declaration line, without the final newline.
std::string Body(const Json& doc, std::string_view root = kRequestsRoot) {
  const std::string xml = ToXml(doc, root);
  const size_t start = xml.find('\n') + 1;
  return xml.substr(start, xml.size() - start - 1);
}

TEST_CASE("format is taken from the json extension") {
  auto r = ParseFormat("requests.json");
  REQUIRE(r.ok());
  CHECK(r->name == "requests");
  CHECK(r->format == Format::kJson);
}

TEST_CASE("format is taken from the xml extension in any case") {
  auto r = ParseFormat("services.XML");
  REQUIRE(r.ok());
  CHECK(r->name == "services");
  CHECK(r->format == Format::kXml);
}

TEST_CASE("format defaults to xml without an extension") {
  auto r = ParseFormat("servicerequestupdates");
  REQUIRE(r.ok());
  CHECK(r->name == "servicerequestupdates");
  CHECK(r->format == Format::kXml);
}

TEST_CASE("format splits at the last dot so a dotted code keeps its dots") {
  auto r = ParseFormat("road.pothole.json");
  REQUIRE(r.ok());
  CHECK(r->name == "road.pothole");
  CHECK(r->format == Format::kJson);
}

TEST_CASE("format refuses an extension it does not serve, naming it") {
  auto r = ParseFormat("requests.csv");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == pb::STATUS_BAD_REQUEST);
  CHECK(r.status().message().find("'csv'") != std::string::npos);
}

TEST_CASE("format refuses a segment that names no resource") {
  CHECK_FALSE(ParseFormat(".json").ok());
  CHECK_FALSE(ParseFormat("").ok());
}

TEST_CASE("content types carry the utf-8 charset") {
  CHECK(ContentType(Format::kXml) == "text/xml; charset=utf-8");
  CHECK(ContentType(Format::kJson) == "application/json; charset=utf-8");
}

TEST_CASE("render gives compact utf-8 json or xml under the root") {
  Json doc = ErrorDocument(400, "service_code is required");
  CHECK(Render(doc, Format::kJson, kErrorsRoot) ==
        R"([{"code":400,"description":"service_code is required"}])");
  CHECK(Render(doc, Format::kXml, kErrorsRoot) ==
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>400</code>"
        "<description>service_code is required</description></error></errors>\n");
  CHECK(Render(Json{{"n", "供水"}}, Format::kJson, "r") == "{\"n\":\"供水\"}");
}

TEST_CASE("render json replaces bytes that are not utf-8 instead of throwing") {
  CHECK(Render(Json{{"d",
                     "a\xFF"
                     "b"}},
               Format::kJson, "r") ==
        "{\"d\":\"a\xEF\xBF\xBD"
        "b\"}");
}

TEST_CASE("language is english only for an en tag") {
  CHECK(ParseLanguage("en") == Language::kEn);
  CHECK(ParseLanguage("en-US") == Language::kEn);
  CHECK(ParseLanguage("EN_gb") == Language::kEn);
  CHECK(ParseLanguage("") == Language::kZh);
  CHECK(ParseLanguage("zh-CN") == Language::kZh);
  CHECK(ParseLanguage("eng") == Language::kZh);
}

TEST_CASE("discovery lists one production endpoint with both formats") {
  DiscoveryInfo info;
  info.base_url = "https://311.example.cn/v2";
  info.changeset_ms = Ms("2026-11-23T02:05:00Z");
  info.utc_offset_minutes = 480;
  info.contact = "ops@example.cn";
  info.key_service = "https://311.example.cn/keys";
  Json d = DiscoveryDocument(info);
  CHECK(d["changeset"] == "2026-11-23T10:05:00+08:00");
  CHECK(d["contact"] == "ops@example.cn");
  CHECK(d["key_service"] == "https://311.example.cn/keys");
  REQUIRE(d["endpoints"].size() == 1);
  const Json& e = d["endpoints"][0];
  CHECK(e["specification"] == "http://wiki.open311.org/GeoReport_v2");
  CHECK(e["url"] == "https://311.example.cn/v2");
  CHECK(e["changeset"] == "2026-11-23T10:05:00+08:00");
  CHECK(e["type"] == "production");
  CHECK(e["formats"] == Json::array({"text/xml", "application/json"}));
  CHECK(ToXml(d, kDiscoveryRoot)
            .find("<formats><format>text/xml</format><format>application/json"
                  "</format></formats>") != std::string::npos);
}

TEST_CASE("post response carries the id, the notice and a null account id") {
  Json r = PostResponseDocument("1042", "", "", std::nullopt);
  CHECK(r ==
        Json::parse(R"([{"service_request_id":"1042","service_notice":"","account_id":null}])"));
  CHECK(Body(r) ==
        "<service_requests><request><service_request_id>1042</service_request_id>"
        "<service_notice></service_notice><account_id/></request></service_requests>");
}

TEST_CASE("post response carries a token and an account id when given") {
  Json r = PostResponseDocument("1042", "tok-1", "thanks", std::string_view("acc-9"));
  CHECK(r[0]["token"] == "tok-1");
  CHECK(r[0]["service_notice"] == "thanks");
  CHECK(r[0]["account_id"] == "acc-9");
  Json pending = PostResponseDocument("", "tok-2", "", std::nullopt);
  CHECK_FALSE(pending[0].contains("service_request_id"));
  CHECK(pending[0]["token"] == "tok-2");
}

TEST_CASE("token document gives the request id, or null while it is pending") {
  CHECK(TokenDocument("tok-1", "17") ==
        Json::parse(R"([{"service_request_id":"17","token":"tok-1"}])"));
  CHECK(TokenDocument("tok-1", "")[0]["service_request_id"].is_null());
}

}  // namespace
}  // namespace whistle::open311
