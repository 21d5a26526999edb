// whistlectl: the operator's command line client of a running whistle-dispatcher.
//
//   whistlectl [--front=ENDPOINT] [--json] [--timeout-ms=N] [--attempts=N] [--config=FILE]
//              COMMAND [command flags]          (whistlectl help lists the commands)
//
// One command, one request (tools/ctl.h builds it and formats the answer). Exit status: 0 done,
// 1 refused by the dispatcher ("whistlectl: NOT_FOUND: no event 17" on stderr), 2 usage error,
// 3 no answer. After no answer the outcome is unknown; a command that changes state is sent with
// a request id, printed then, so repeating it with --request-id applies it at most once.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <zmq.hpp>

#include "agents/client.h"
#include "agents/principals.h"
#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "tools/ctl.h"
#include "whistle/curve_keys.h"

namespace {

int UsageError(const whistle::Status& s) {
  std::cerr << "whistlectl: " << s.message() << "\n\n" << whistle::CtlUsage();
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace whistle;
  auto line = ParseCtlCommandLine(argc, argv);
  if (!line.ok()) return UsageError(line.status());
  if (line->help) return std::cout << CtlUsage(), 0;
  // principal-create --out=FILE: the new principal's key pair is made here and only its public
  // half is sent; the key file is written first and removed if the dispatcher refuses.
  std::string out_path = line->command == "principal-create" ? line->flags.TakeString("out") : "";
  auto request = BuildRequest(line->command, line->flags);
  if (!request.ok()) return UsageError(request.status());
  auto credentials = ReadCredentials(line->key_path);
  if (!credentials.ok()) return std::cerr << "whistlectl: " << credentials.status().ToString() << "\n", 2;
  if (line->command == "principal-create") {
    pb::Principal* p = request->mutable_create_principal()->mutable_principal();
    if (p->public_key().empty() == out_path.empty()) {
      return UsageError(BadRequest("principal-create takes --out=FILE (a new key pair) or "
                                   "--public-key=Z85 (a key made elsewhere), not both"));
    }
    if (!out_path.empty() && !*credentials) {
      return UsageError(BadRequest("--out needs --key: the new key file names the server's public "
                                   "key from it"));
    }
  }
  // Names and local time come from the city configuration when given; ids and +08:00 otherwise.
  std::shared_ptr<const City> city;
  if (!line->config_path.empty()) {
    auto config = ReadCityConfigFile(line->config_path);
    if (!config.ok()) return std::cerr << "whistlectl: " << config.status().ToString() << "\n", 2;
    auto built = City::Build(std::move(config).value());
    if (!built.ok()) return std::cerr << "whistlectl: " << built.status().ToString() << "\n", 2;
    city = std::move(built).value();
  }

  // A fixed request id, so that the Client's retries and the operator's repeat are one command.
  if (request->request_id().empty()) request->set_request_id(Client::NewRequestId());
  zmq::context_t context(1);
  ClientOptions options;
  options.timeout = std::chrono::milliseconds(line->timeout_ms);
  options.attempts = static_cast<int>(line->attempts);
  options.credentials = *credentials;
  Client client(context, line->front, options);
  if (!out_path.empty()) {  // the key file first: one already there is never replaced
    auto prepared = WithNewKeyFile(*request, (*credentials)->server_public_key(), out_path);
    if (!prepared.ok()) {
      std::cerr << "whistlectl: " << prepared.status().ToString() << "\nwhistlectl: nothing was sent\n";
      return 1;
    }
    *request = std::move(prepared).value();
  }
  auto response = out_path.empty() ? client.Call(*request) : SendPrincipalCreate(client, *request, out_path);
  const CallOutcome outcome = OutcomeOf(response);
  if (outcome == CallOutcome::kUnknown) {
    std::cerr << "whistlectl: " << StatusOf(response).ToString() << "\n";
    if (!out_path.empty()) {
      std::cerr << "whistlectl: the key file " << out_path << " is kept: repeat with the same "
                   "--request-id and --public-key from it\n";
    }
    if (CtlCommandWrites(line->command)) {
      std::cerr << "whistlectl: the outcome is unknown; repeat the command with --request-id="
                << request->request_id() << " to apply it at most once\n";
    }
    return 3;
  }

  bool ok = outcome == CallOutcome::kDone;
  if (ok && !out_path.empty()) {
    std::cerr << "whistlectl: wrote the new principal's key file " << out_path << " (keep it secret)\n";
  }
  if (response.ok() && (ok || line->json)) {
    std::cout << FormatResponse(line->command, *response, city.get(), line->json);
  }
  if (!ok) {
    std::cerr << "whistlectl: " << StatusOf(response).ToString() << "\n";
    return 1;
  }
  return 0;
}
