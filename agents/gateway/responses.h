// Writing answers: Open311 documents in the format the path asks for (".xml" or ".json"), the
// hotline's JSON, and error documents in the shape each API's clients expect.
#pragma once

#include <string_view>

#include <httplib.h>

#include "agents/gateway/open311.h"
#include "whistle/status.h"

namespace whistle::gateway {

// An Open311 path ends in ".json"; anything else is answered in XML, the standard's required
// format.
bool WantsJson(const httplib::Request& req);

// `doc` as JSON or as XML under `xml_root`, with `status`.
void WriteOpen311(const httplib::Request& req, httplib::Response& res, int status,
                  const open311::Json& doc, std::string_view xml_root);

// A JSON body with `status`.
void WriteJson(httplib::Response& res, int status, const nlohmann::json& doc);

// An error with `status` and `message`: on /open311/ paths the standard's error array
// ([{"code": status, "description": message}], XML root "errors"); elsewhere
// {"error": {"code": status, "message": message}}. A 503 carries Retry-After.
void WriteError(const httplib::Request& req, httplib::Response& res, int status,
                std::string_view message);

// The dispatcher's answer, with a non-OK code turned into an error Status.
Result<pb::Response> ExpectOk(Result<pb::Response> answer);

// The dispatcher's rejection as an HTTP error (HttpStatusFor).
void WriteStatus(const httplib::Request& req, httplib::Response& res, const Status& status);

}  // namespace whistle::gateway
