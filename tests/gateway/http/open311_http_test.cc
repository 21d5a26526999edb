// Open311 GeoReport v2 over real HTTP: a whistle-gateway process in front of a whistle-dispatcher
// process; agents work the events through the client library.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "agents/client.h"
#include "dispatcher/iso8601.h"
#include "tests/gateway/http/gateway_process.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/test_city.h"

namespace whistle {
namespace {

using nlohmann::json;
using testing::DispatcherProcess;
using testing::GatewayProcess;

constexpr char kInGrid1[] = "lat=37.505&long=121.405";

// The test city, with water asking a required "kind" and an optional multi-value "parts".
pb::CityConfig Open311HttpCity() {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  for (pb::Category& c : *config.mutable_categories()) {
    if (c.code() != "water") continue;
    pb::ServiceAttribute* kind = c.add_attributes();
    kind->set_code("kind");
    kind->set_datatype(pb::ServiceAttribute::DATATYPE_SINGLEVALUELIST);
    kind->set_required(true);
    kind->set_description("What is wrong?");
    for (const char* k : {"leak", "burst"}) kind->add_values()->set_key(k);
    pb::ServiceAttribute* parts = c.add_attributes();
    parts->set_code("parts");
    parts->set_datatype(pb::ServiceAttribute::DATATYPE_MULTIVALUELIST);
    for (const char* k : {"pipe", "valve"}) parts->add_values()->set_key(k);
  }
  return config;
}

struct Open311World {
  explicit Open311World(uint32_t max_body_bytes = 4096)
      : gateway(Open311HttpCity(), dispatcher.front(), dispatcher.bus(), "http://127.0.0.1:9/unused", max_body_bytes) {}
  DispatcherProcess dispatcher{Open311HttpCity()};
  GatewayProcess gateway;
  zmq::context_t context;
  Client agent{context, dispatcher.front()};

  json GetJson(const std::string& path, int expect = 200) {
    auto res = gateway.Http().Get(path);
    REQUIRE_MESSAGE(res, "no answer to GET " << path);
    CHECK_MESSAGE(res->status == expect, path << " -> " << res->status << " " << res->body);
    CHECK(res->get_header_value("Content-Type").starts_with("application/json"));
    json doc = json::parse(res->body, nullptr, false);
    REQUIRE_MESSAGE(!doc.is_discarded(), res->body);
    return doc;
  }
  std::string GetXml(const std::string& path, int expect = 200) {
    auto res = gateway.Http().Get(path);
    REQUIRE(res);
    CHECK_MESSAGE(res->status == expect, path << " -> " << res->status);
    CHECK(res->get_header_value("Content-Type").starts_with("text/xml"));
    return res->body;
  }
  httplib::Result Post(const std::string& path, const std::string& form) {
    return gateway.Http().Post(path, form, "application/x-www-form-urlencoded");
  }
  // Posts a water leak in grid 1 as app-1 and returns the answer's only element.
  json PostLeak(const std::string& extra = "") {
    auto res = Post("/open311/v2/requests.json",
                    fmt::format("api_key={}&service_code=water&{}&attribute[kind]=leak&description=Pipe+leaks"
                                "&first_name=Fang&last_name=Wang&phone=13800000000&email=wf%40example.cn{}",
                                testing::kApp1Key, kInGrid1, extra));
    REQUIRE(res);
    REQUIRE_MESSAGE(res->status == 201, res->body);
    json doc = json::parse(res->body);
    REQUIRE(doc.is_array());
    REQUIRE(doc.size() == 1);
    return doc[0];
  }
  uint64_t LastSeq() {
    pb::Request r;
    r.mutable_log()->set_max_records(1);
    r.mutable_log()->set_after_seq(UINT64_MAX - 1);
    auto answer = agent.Call(r);
    REQUIRE(answer.ok());
    return answer->log().last_seq();
  }
  pb::Response Command(pb::Request r) {
    auto answer = agent.Call(std::move(r));
    REQUIRE(answer.ok());
    REQUIRE_MESSAGE(answer->code() == pb::STATUS_OK, answer->message());
    return *answer;
  }
};

TEST_CASE("discovery, services and service definitions, in JSON and XML") {
  Open311World w;
  json discovery = w.GetJson("/open311/v2/discovery.json");
  REQUIRE(discovery["endpoints"].is_array());
  CHECK(discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2");
  CHECK(w.GetXml("/open311/v2/discovery.xml").find("<discovery>") != std::string::npos);

  json services = w.GetJson("/open311/v2/services.json");
  REQUIRE(services.is_array());
  REQUIRE(services.size() == 2);
  std::set<std::string> codes;
  for (const json& s : services) codes.insert(s["service_code"].get<std::string>());
  CHECK(codes == std::set<std::string>{"water", "noise"});
  std::string xml = w.GetXml("/open311/v2/services.xml");
  CHECK(xml.find("<services><service>") != std::string::npos);
  CHECK(xml.find("<service_code>water</service_code>") != std::string::npos);

  json water = w.GetJson("/open311/v2/services/water.json");
  CHECK(water["service_code"] == "water");
  REQUIRE(water["attributes"].size() == 2);
  CHECK(water["attributes"][0]["code"] == "kind");
  CHECK(water["attributes"][0]["datatype"] == "singlevaluelist");
  CHECK(water["attributes"][0]["required"] == true);
  CHECK(w.GetXml("/open311/v2/services/water.xml").find("<service_definition>") != std::string::npos);

  json missing = w.GetJson("/open311/v2/services/fireworks.json", 404);
  REQUIRE(missing.is_array());
  CHECK(missing[0]["code"] == 404);
  CHECK(w.GetXml("/open311/v2/services/fireworks.xml", 404).find("<errors><error>") != std::string::npos);
  json nowhere = w.GetJson("/open311/v2/nowhere.json", 404);
  CHECK(nowhere[0]["description"].get<std::string>().find("no endpoint") != std::string::npos);
}

TEST_CASE("a request is posted, found by id and token, and its status follows the agent's work") {
  Open311World w;
  json posted = w.PostLeak("&account_id=acct-9");
  std::string id = posted["service_request_id"];
  std::string token = posted["token"];
  CHECK(!id.empty());
  CHECK(posted["account_id"] == "acct-9");

  json by_token = w.GetJson("/open311/v2/tokens/" + token + ".json");
  CHECK(by_token[0]["service_request_id"] == id);
  CHECK(by_token[0]["token"] == token);
  w.GetJson("/open311/v2/tokens/nosuchtoken.json", 404);

  json open = w.GetJson("/open311/v2/requests/" + id + ".json");
  REQUIRE(open.size() == 1);
  CHECK(open[0]["status"] == "open");
  CHECK(open[0]["service_code"] == "water");
  CHECK(open[0]["service_request_id"] == id);
  CHECK(open[0]["requested_datetime"].get<std::string>().ends_with("+08:00"));
  // Personal data is stored, never shown.
  std::string json_body = open.dump();
  std::string xml_body = w.GetXml("/open311/v2/requests/" + id + ".xml");
  for (const std::string& body : {json_body, xml_body}) {
    for (const char* personal : {"13800000000", "example.cn", "Fang", "Wang", "acct-9"}) {
      CHECK_MESSAGE(body.find(personal) == std::string::npos, personal << " leaked: " << body);
    }
  }
  CHECK(xml_body.find("<service_requests><request>") != std::string::npos);

  // An agent claims, works and resolves it; Open311 sees each step.
  uint64_t event = std::stoull(id);
  pb::Request claim;
  claim.mutable_claim()->set_event_id(event);
  claim.mutable_claim()->set_department("c1-water-unit");
  uint64_t n = w.Command(claim).event().event().claim_number();
  pb::Request resolve;
  resolve.mutable_resolve()->set_event_id(event);
  resolve.mutable_resolve()->set_claim_number(n);
  resolve.mutable_resolve()->set_note("valve replaced");
  w.Command(resolve);
  json resolved = w.GetJson("/open311/v2/requests/" + id + ".json");
  CHECK(resolved[0]["status"] == "closed");
  CHECK(resolved[0]["status_notes"].get<std::string>().find("valve replaced") != std::string::npos);

  json updates = w.GetJson("/open311/v2/servicerequestupdates.json");
  std::vector<std::string> statuses;
  for (const json& u : updates) {
    if (u["service_request_id"] == id) statuses.push_back(u["status"]);
  }
  CHECK(std::find(statuses.begin(), statuses.end(), "INVESTIGATING") != statuses.end());
  CHECK(std::find(statuses.begin(), statuses.end(), "FIXED") != statuses.end());
  CHECK(w.GetXml("/open311/v2/servicerequestupdates.xml").find("<request_update>") != std::string::npos);
}

TEST_CASE("GET requests filters by id, service, status and dates, and pages") {
  Open311World w;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(w.PostLeak()["service_request_id"]);
  auto noise = w.Post("/open311/v2/requests.json",
                      fmt::format("api_key={}&service_code=noise&{}", testing::kApp2Key, kInGrid1));
  REQUIRE(noise);
  REQUIRE_MESSAGE(noise->status == 201, noise->body);
  std::string noise_id = json::parse(noise->body)[0]["service_request_id"];
  pb::Request cancel;
  cancel.mutable_cancel()->set_event_id(std::stoull(ids[0]));
  cancel.mutable_cancel()->set_reason("duplicate call");
  w.Command(cancel);

  auto ids_of = [](const json& doc) {
    std::vector<std::string> out;
    for (const json& r : doc) out.push_back(r["service_request_id"]);
    return out;
  };
  CHECK(ids_of(w.GetJson("/open311/v2/requests.json")) ==
        std::vector<std::string>{noise_id, ids[2], ids[1], ids[0]});
  CHECK(ids_of(w.GetJson("/open311/v2/requests.json?service_code=water&status=open")) ==
        std::vector<std::string>{ids[2], ids[1]});
  CHECK(ids_of(w.GetJson("/open311/v2/requests.json?status=closed")) == std::vector<std::string>{ids[0]});
  // Empty parameters are absent parameters.
  CHECK(ids_of(w.GetJson("/open311/v2/requests.json?service_code=&status=&start_date=&end_date=")).size() == 4);
  // service_request_id overrides every other filter; unknown ids are left out.
  CHECK(ids_of(w.GetJson(fmt::format("/open311/v2/requests.json?service_request_id={},{},999999&service_code=noise",
                                     ids[0], ids[2]))) == std::vector<std::string>{ids[0], ids[2]});
  // Dates: everything was made within the last minute.
  std::string future = FormatIso8601(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                             .count() + 3600 * 1000,
                                     480);
  std::string encoded = future;
  encoded.replace(encoded.find('+'), 1, "%2B");
  CHECK(w.GetJson("/open311/v2/requests.json?start_date=" + encoded).empty());
  CHECK(w.GetJson("/open311/v2/requests.json?end_date=" + encoded).size() == 4);
  CHECK(w.GetJson("/open311/v2/requests.json?start_date=" + encoded + "&end_date=2026-01-01", 400)[0]["description"] ==
        "start_date is after end_date");
  // A start_date alone searches the 90 days from it, not every day since.
  CHECK(w.GetJson("/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z").empty());
  std::string hour_ago = FormatIso8601(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                               .count() - 3600 * 1000,
                                       480);
  hour_ago.replace(hour_ago.find('+'), 1, "%2B");
  CHECK(w.GetJson("/open311/v2/requests.json?start_date=" + hour_ago).size() == 4);
  // Paging.
  CHECK(ids_of(w.GetJson("/open311/v2/requests.json?page_size=3&page=1")) ==
        std::vector<std::string>{noise_id, ids[2], ids[1]});
  CHECK(ids_of(w.GetJson("/open311/v2/requests.json?page_size=3&page=2")) == std::vector<std::string>{ids[0]});
  CHECK(w.GetJson("/open311/v2/requests.json?page_size=3&page=3").empty());
  // Paging stops 10,000 results deep: past that, the dates must narrow the search.
  CHECK(w.GetJson("/open311/v2/requests.json?page_size=1000&page=11").empty());
  json deep = w.GetJson("/open311/v2/requests.json?page_size=1000&page=12", 400);
  CHECK(deep[0]["description"].get<std::string>().find("narrow the search with start_date and end_date") !=
        std::string::npos);
  CHECK(w.GetJson("/open311/v2/requests.json?page=1000000&start_date=2000-01-01", 400)[0]["code"] == 400);
  // Filters that make no sense are 400s.
  for (const char* bad : {"status=pending", "service_code=fireworks", "start_date=yesterday",
                          "service_request_id=abc", "page=0", "page_size=1001"}) {
    CAPTURE(bad);
    json error = w.GetJson(std::string("/open311/v2/requests.json?") + bad, 400);
    CHECK(error[0]["code"] == 400);
  }
  CHECK(w.GetXml("/open311/v2/requests.xml?status=pending", 400).find("<errors>") != std::string::npos);
}

TEST_CASE("a form over cpp-httplib's own 8 KiB is taken up to the gateway's body limit") {
  Open311World w(64 << 10);
  // 1,000 Chinese characters: 3,000 bytes of UTF-8, 9,000 percent-encoded.
  std::string text, encoded;
  for (int i = 0; i < 1000; ++i) text += "水";
  for (unsigned char byte : text) encoded += fmt::format("%{:02X}", byte);
  const std::string form = fmt::format("api_key={}&service_code=water&{}&attribute[kind]=leak&description={}",
                                       testing::kApp1Key, kInGrid1, encoded);
  REQUIRE(form.size() > 8192);
  auto res = w.Post("/open311/v2/requests.json", form);
  REQUIRE(res);
  REQUIRE_MESSAGE(res->status == 201, res->body);
  const std::string id = json::parse(res->body)[0]["service_request_id"];
  pb::Request get;
  get.mutable_get()->set_event_id(std::stoull(id));
  CHECK(w.Command(get).event().event().report().description() == text);
  // Over the gateway's own limit, still refused.
  auto over = w.Post("/open311/v2/requests.json", form + "&media_url=" + std::string(64 << 10, 'x'));
  REQUIRE(over);
  CHECK(over->status == 413);
}

TEST_CASE("every bad POST gets its 4xx and creates nothing") {
  Open311World w;
  uint64_t before = w.LastSeq();
  struct Case {
    std::string form;
    int status;
    const char* says;
  };
  const std::string ok_tail = fmt::format("service_code=water&{}&attribute[kind]=leak", kInGrid1);
  std::vector<Case> cases = {
      {ok_tail, 403, "api_key"},
      {"api_key=wrong-key-0123456789&" + ok_tail, 403, "api_key"},
      {fmt::format("api_key={}&{}", testing::kHotlineKey, ok_tail), 403, "api_key"},
      {fmt::format("api_key={}&{}&attribute[kind]=leak", testing::kApp1Key, kInGrid1), 400, "service_code"},
      {fmt::format("api_key={}&service_code=fireworks&{}", testing::kApp1Key, kInGrid1), 400, "fireworks"},
      {fmt::format("api_key={}&service_code=water&attribute[kind]=leak", testing::kApp1Key), 400, "lat"},
      {fmt::format("api_key={}&service_code=water&lat=30.0&long=120.0&attribute[kind]=leak", testing::kApp1Key),
       400, "outside"},
      {fmt::format("api_key={}&service_code=water&lat=north&long=121.405&attribute[kind]=leak", testing::kApp1Key),
       400, "lat"},
      {fmt::format("api_key={}&service_code=water&{}", testing::kApp1Key, kInGrid1), 400, "kind"},
      {fmt::format("api_key={}&service_code=water&{}&attribute[kind]=flood", testing::kApp1Key, kInGrid1), 400,
       "flood"},
      {fmt::format("api_key={}&service_code=water&{}&attribute[kind]=leak&jurisdiction_id=elsewhere",
                   testing::kApp1Key, kInGrid1),
       404, "jurisdiction"},
      {fmt::format("api_key={}&service_code=water&address_string=somewhere&attribute[kind]=leak",
                   testing::kApp1Key),
       400, "address"},
      {fmt::format("api_key={}&service_code=water&{}&attribute[kind]=leak&description={}", testing::kApp1Key,
                   kInGrid1, std::string(5000, 'x')),
       413, "over the limit"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.form.substr(0, 200));
    auto res = w.Post("/open311/v2/requests.json", c.form);
    REQUIRE(res);
    CHECK(res->status == c.status);
    json doc = json::parse(res->body, nullptr, false);
    REQUIRE_MESSAGE(doc.is_array(), res->body);
    CHECK(doc[0]["code"] == c.status);
    CHECK_MESSAGE(doc[0]["description"].get<std::string>().find(c.says) != std::string::npos, res->body);
  }
  auto xml = w.Post("/open311/v2/requests.xml", ok_tail);
  REQUIRE(xml);
  CHECK(xml->status == 403);
  CHECK(xml->body.find("<errors><error><code>403</code>") != std::string::npos);
  CHECK(w.LastSeq() == before);
  // And it keeps serving.
  w.PostLeak();
  CHECK(w.LastSeq() > before);
}

}  // namespace
}  // namespace whistle
