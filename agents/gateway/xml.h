// XML rendering of a JSON document, the way Open311 GeoReport v2 shapes its XML.
//
// Open311 serves every resource as XML (required) and JSON (optional). The gateway builds each
// document once as JSON (open311.h) and renders XML from it by fixed rules, so the two formats
// cannot drift apart:
//
//   object under name N        <N><k1>...</k1><k2>...</k2></N>     (children in key order)
//   array under name N         <N><s>...</s><s>...</s></N>          (s = SingularOf(N))
//   string                     <N>escaped text</N>
//   number                     <N>42</N>, <N>37.505</N>             (the same text as in JSON)
//   boolean                    <N>true</N> / <N>false</N>
//   null                       <N/>
//
// The whole document is `<?xml version="1.0" encoding="utf-8"?>` followed by the document
// rendered under the name `root`: `ToXml([{..}], "services")` gives <services><service>...
//
// Text is made safe for XML 1.0 rather than refused: & < > " ' become entities; a carriage return
// becomes &#13; (so a parser's line-end normalisation does not eat it); characters XML 1.0 forbids
// (control characters other than tab, line feed and carriage return, U+FFFE, U+FFFF) are
// dropped; bytes that are not UTF-8 become U+FFFD, as nlohmann's error_handler_t::replace does for
// JSON. Element names are the documents' own keys; a character not allowed in an XML name
// becomes '_' so that no key can break the markup.
//
// Pure functions: thread-safe, no exceptions.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace whistle::open311 {

// Every Open311 document is an ordered_json: members keep the order they were added in, so the
// XML and JSON bodies list fields in the order the specification does.
using Json = nlohmann::ordered_json;

// The element name of one item of an array named `plural`: services -> service,
// attributes -> attribute, values -> value, endpoints -> endpoint, formats -> format,
// service_requests -> request, errors -> error, service_request_updates -> request_update.
// Any other name gives "item".
std::string_view SingularOf(std::string_view plural);

// The XML declaration and `doc` rendered under the element name `root` (rules above).
std::string ToXml(const Json& doc, std::string_view root);

// The number of code points in `text`, or nullopt when it is not well-formed UTF-8 (overlong
// forms and surrogates included). Open311 counts characters, and requires UTF-8 everywhere.
std::optional<size_t> Utf8Length(std::string_view text);

}  // namespace whistle::open311
