#include "agents/gateway/xml.h"

#include <array>
#include <utility>

#include "whistle/check.h"

namespace whistle::open311 {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Decodes the code point at *pos and moves past it. An ill-formed sequence (a stray continuation
// byte, a truncated sequence, an overlong form, a surrogate, a value above U+10FFFF) gives
// nullopt and moves one byte on, so each bad byte is reported once.
std::optional<char32_t> NextCodePoint(std::string_view s, size_t* pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(*pos);
  if (lead < 0x80) {
    ++*pos;
    return lead;
  }
  size_t length = 0;
  char32_t cp = 0, smallest = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, smallest = 0x10000;
  } else {
    ++*pos;
    return std::nullopt;
  }
  if (*pos + length > s.size()) {
    ++*pos;
    return std::nullopt;
  }
  for (size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(*pos + i);
    if ((next & 0xC0) != 0x80) {
      ++*pos;
      return std::nullopt;
    }
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*pos;
    return std::nullopt;
  }
  *pos += length;
  return cp;
}

// XML 1.0 section 2.2, production [2] Char.
bool IsXmlChar(char32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

void AppendEscaped(std::string_view text, std::string* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const std::optional<char32_t> cp = NextCodePoint(text, &pos);
    if (!cp) {
      out->append(kReplacementCharacter);
      continue;
    }
    switch (*cp) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&apos;");
        break;
      case '\r':
        out->append("&#13;");
        break;
      default:
        if (IsXmlChar(*cp)) out->append(text.substr(start, pos - start));
    }
  }
}

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

// A key made into an XML name (ASCII letters, digits, '_', '-', '.'; not starting with a digit,
// '-' or '.'). Our own keys pass unchanged; anything else cannot inject markup.
std::string ElementName(std::string_view key) {
  std::string name;
  name.reserve(key.size() + 1);
  for (char c : key) name.push_back(IsNameChar(c) ? c : '_');
  if (name.empty() || !IsNameStart(name.front())) name.insert(name.begin(), '_');
  return name;
}

void AppendElement(const std::string& name, const Json& value, std::string* out) {
  if (value.is_null()) {
    out->append("<").append(name).append("/>");
    return;
  }
  out->append("<").append(name).append(">");
  switch (value.type()) {
    case Json::value_t::object:
      for (auto it = value.begin(); it != value.end(); ++it) {
        AppendElement(ElementName(it.key()), it.value(), out);
      }
      break;
    case Json::value_t::array: {
      const std::string item(SingularOf(name));
      for (const Json& element : value) AppendElement(item, element, out);
      break;
    }
    case Json::value_t::string:
      AppendEscaped(value.get_ref<const std::string&>(), out);
      break;
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      out->append(value.dump());
      break;
    default:
      // Binary and discarded values come only from parsing CBOR and friends or from a parser
      // callback; no Open311 document is built that way.
      WHISTLE_CHECK(false, "cannot render a JSON value of type %s as XML", value.type_name());
  }
  out->append("</").append(name).append(">");
}

}  // namespace

std::string_view SingularOf(std::string_view plural) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kSingular = {{
      {"services", "service"},
      {"attributes", "attribute"},
      {"values", "value"},
      {"endpoints", "endpoint"},
      {"formats", "format"},
      {"service_requests", "request"},
      {"errors", "error"},
      {"service_request_updates", "request_update"},
  }};
  for (const auto& [p, s] : kSingular) {
    if (p == plural) return s;
  }
  return "item";
}

std::string ToXml(const Json& doc, std::string_view root) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  AppendElement(ElementName(root), doc, &out);
  out.push_back('\n');
  return out;
}

std::optional<size_t> Utf8Length(std::string_view text) {
  size_t pos = 0, count = 0;
  while (pos < text.size()) {
    if (!NextCodePoint(text, &pos)) return std::nullopt;
    ++count;
  }
  return count;
}

}  // namespace whistle::open311
