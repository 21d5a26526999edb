#include "agents/gateway/xml.h"

#include <doctest/doctest.h>

namespace whistle::open311 {
namespace {

constexpr char kDeclaration[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

// The body after the declaration, without the final newline.
std::string Body(const Json& doc, std::string_view root) {
  std::string xml = ToXml(doc, root);
  REQUIRE(xml.rfind(kDeclaration, 0) == 0);
  REQUIRE(xml.back() == '\n');
  return xml.substr(sizeof(kDeclaration) - 1, xml.size() - sizeof(kDeclaration));
}

TEST_CASE("xml starts with the utf-8 declaration and ends with a newline") {
  CHECK(ToXml(Json::object(), "discovery") ==
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<discovery></discovery>\n");
}

TEST_CASE("xml object members become child elements in key order") {
  Json doc = {{"zeta", "1"}, {"alpha", "2"}, {"mid", {{"inner", "3"}}}};
  CHECK(Body(doc, "root") ==
        "<root><zeta>1</zeta><alpha>2</alpha><mid><inner>3</inner></mid></root>");
}

TEST_CASE("xml array items take the singular of the array's name") {
  Json doc = {{"service_code", "water"},
              {"attributes",
               Json::array({{{"code", "kind"}, {"values", Json::array({{{"key", "leak"}}})}}})}};
  CHECK(Body(doc, "service_definition") ==
        "<service_definition><service_code>water</service_code><attributes><attribute>"
        "<code>kind</code><values><value><key>leak</key></value></values></attribute>"
        "</attributes></service_definition>");
}

TEST_CASE("xml top-level array is wrapped in the root with singular items") {
  Json doc = Json::array({{{"code", 400}}, {{"code", 404}}});
  CHECK(Body(doc, "errors") ==
        "<errors><error><code>400</code></error><error><code>404</code></error></errors>");
}

TEST_CASE("xml singular table covers every open311 list") {
  CHECK(SingularOf("services") == "service");
  CHECK(SingularOf("attributes") == "attribute");
  CHECK(SingularOf("values") == "value");
  CHECK(SingularOf("endpoints") == "endpoint");
  CHECK(SingularOf("formats") == "format");
  CHECK(SingularOf("service_requests") == "request");
  CHECK(SingularOf("errors") == "error");
  CHECK(SingularOf("service_request_updates") == "request_update");
}

TEST_CASE("xml array of an unknown name uses item elements") {
  CHECK(SingularOf("keywords") == "item");
  CHECK(Body(Json{{"things", {1, 2}}}, "r") ==
        "<r><things><item>1</item><item>2</item></things></r>");
}

TEST_CASE("xml renders booleans as true and false") {
  CHECK(Body(Json{{"metadata", true}, {"required", false}}, "r") ==
        "<r><metadata>true</metadata><required>false</required></r>");
}

TEST_CASE("xml renders null as an empty element") {
  CHECK(Body(Json{{"account_id", nullptr}}, "r") == "<r><account_id/></r>");
  CHECK(Body(Json(nullptr), "r") == "<r/>");
}

TEST_CASE("xml renders numbers as their json text") {
  Json doc = {{"order", 3},
              {"negative", -7},
              {"big", 18446744073709551615ULL},
              {"lat", 37.505},
              {"long", 121.4}};
  CHECK(Body(doc, "r") ==
        "<r><order>3</order><negative>-7</negative><big>18446744073709551615</big>"
        "<lat>37.505</lat><long>121.4</long></r>");
}

TEST_CASE("xml renders an empty string and an empty array as open and close tags") {
  CHECK(Body(Json{{"zipcode", ""}, {"services", Json::array()}}, "r") ==
        "<r><zipcode></zipcode><services></services></r>");
}

TEST_CASE("xml escapes the five markup characters") {
  CHECK(Body(Json{{"d", "a & b < c > d \" e ' f"}}, "r") ==
        "<r><d>a &amp; b &lt; c &gt; d &quot; e &apos; f</d></r>");
}

TEST_CASE("xml cannot be broken out of by text") {
  CHECK(Body(Json{{"d", "</d><evil/>]]>"}}, "r") == "<r><d>&lt;/d&gt;&lt;evil/&gt;]]&gt;</d></r>");
}

TEST_CASE("xml keeps tab and newline and encodes carriage return") {
  CHECK(Body(Json{{"d", "a\tb\nc\rd"}}, "r") == "<r><d>a\tb\nc&#13;d</d></r>");
}

TEST_CASE("xml drops control characters that xml 1.0 forbids") {
  std::string text = "a";
  text.push_back('\0');
  text +=
      "\x01\x08\x0B\x0C\x1F\x7F"
      "b";
  // U+007F (DEL) is allowed by XML 1.0 and kept; C0 controls other than tab, LF and CR are not.
  CHECK(Body(Json{{"d", text}}, "r") ==
        "<r><d>a\x7F"
        "b</d></r>");
}

TEST_CASE("xml drops the noncharacters U+FFFE and U+FFFF") {
  CHECK(Body(Json{{"d",
                   "a\xEF\xBF\xBE\xEF\xBF\xBF"
                   "b"}},
             "r") == "<r><d>ab</d></r>");
}

TEST_CASE("xml keeps multibyte utf-8 text") {
  CHECK(Body(Json{{"name", "供排水 – ok 😀"}}, "r") == "<r><name>供排水 – ok 😀</name></r>");
}

TEST_CASE("xml replaces bytes that are not utf-8 with U+FFFD") {
  // A stray continuation byte, a truncated sequence, an overlong '/' and an encoded surrogate.
  CHECK(Body(Json{{"d",
                   "a\x80"
                   "b"}},
             "r") ==
        "<r><d>a\xEF\xBF\xBD"
        "b</d></r>");
  CHECK(Body(Json{{"d", "a\xE4\xBE"}}, "r") == "<r><d>a\xEF\xBF\xBD\xEF\xBF\xBD</d></r>");
  CHECK(Body(Json{{"d", "\xC0\xAF"}}, "r") == "<r><d>\xEF\xBF\xBD\xEF\xBF\xBD</d></r>");
  CHECK(Body(Json{{"d", "\xED\xA0\x80"}}, "r") ==
        "<r><d>\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD</d></r>");
}

TEST_CASE("xml turns characters a name cannot hold into underscores") {
  CHECK(Body(Json{{"a b<c>", 1}, {"9lives", 2}, {"", 3}, {"ok-name.v_2", 4}}, "r") ==
        "<r><a_b_c_>1</a_b_c_><_9lives>2</_9lives><_>3</_><ok-name.v_2>4</ok-name.v_2></r>");
}

TEST_CASE("utf8 length counts code points and refuses malformed text") {
  CHECK(Utf8Length("") == 0u);
  CHECK(Utf8Length("abc") == 3u);
  CHECK(Utf8Length("供排水😀") == 4u);
  CHECK_FALSE(Utf8Length("a\xFF").has_value());
  CHECK_FALSE(Utf8Length("\xC0\xAF").has_value());          // overlong
  CHECK_FALSE(Utf8Length("\xED\xA0\x80").has_value());      // surrogate
  CHECK_FALSE(Utf8Length("\xF4\x90\x80\x80").has_value());  // above U+10FFFF
  CHECK_FALSE(Utf8Length("\xE4\xBE").has_value());          // truncated
}

}  // namespace
}  // namespace whistle::open311
