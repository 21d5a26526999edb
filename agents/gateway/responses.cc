#include "agents/gateway/responses.h"

#include "agents/gateway/gateway.h"
#include "agents/gateway/open311.h"

namespace whistle::gateway {

bool WantsJson(const httplib::Request& req) { return req.path.ends_with(".json"); }

void WriteOpen311(const httplib::Request& req, httplib::Response& res, int status,
                  const open311::Json& doc, std::string_view xml_root) {
  res.status = status;
  open311::Format format = WantsJson(req) ? open311::Format::kJson : open311::Format::kXml;
  res.set_content(open311::Render(doc, format, xml_root), std::string(open311::ContentType(format)));
}

void WriteJson(httplib::Response& res, int status, const nlohmann::json& doc) {
  res.status = status;
  // Replace invalid UTF-8 rather than throw: a stored text is never worth a 500.
  res.set_content(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void WriteError(const httplib::Request& req, httplib::Response& res, int status,
                std::string_view message) {
  if (status == 503) res.set_header("Retry-After", "1");
  if (req.path.starts_with("/open311/")) {
    WriteOpen311(req, res, status, open311::ErrorDocument(status, message), open311::kErrorsRoot);
  } else {
    WriteJson(res, status, {{"error", {{"code", status}, {"message", message}}}});
  }
}

Result<pb::Response> ExpectOk(Result<pb::Response> answer) {
  if (!answer.ok()) return answer.status();
  if (answer->code() != pb::STATUS_OK) return Status(answer->code(), answer->message());
  return answer;
}

void WriteStatus(const httplib::Request& req, httplib::Response& res, const Status& status) {
  WriteError(req, res, HttpStatusFor(status.code()), status.message());
}

}  // namespace whistle::gateway
