// whistlectl's logic, without sockets: a command line becomes one pb::Request, and the
// dispatcher's pb::Response becomes text for an operator (or one line of JSON for a script).
//
//   whistlectl [--front=ENDPOINT] [--key=FILE] [--json] [--timeout-ms=N] [--attempts=N]
//              [--config=FILE] COMMAND [command flags]
//
// ctl_main.cc only wires these to a Client and picks the exit status: 0 answered OK, 1 the
// dispatcher refused (its message on stderr), 2 a usage error (CtlUsage() on stderr), 3 no answer.
// Everything here is pure, so the unit tests cover it all without a dispatcher.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dispatcher/city.h"
#include "tools/flags.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

inline constexpr char kCtlDefaultFront[] = "tcp://127.0.0.1:5570";
// Local time for deadlines when no --config gives the city's offset: +08:00 (China).
inline constexpr int32_t kCtlDefaultUtcOffsetMinutes = 8 * 60;

// The usage text: the global flags and every command with its flags.
std::string_view CtlUsage();

// The command line split into the global options, the command word and the command's flags.
struct CtlCommandLine {
  std::string front = kCtlDefaultFront;
  std::string key_path;  // --key: this client's CURVE key file; "" = none (--dev-no-auth)
  bool json = false;
  int64_t timeout_ms = 2000;  // per attempt (ClientOptions::timeout)
  int64_t attempts = 5;
  std::string config_path;
  bool help = false;    // --help or the command "help": print CtlUsage() and exit 0
  std::string command;  // empty only when help
  Flags flags;          // the command's own flags, for BuildRequest
};

// Global flags come before the command word; for convenience they are also accepted after it
// (`whistlectl get --id=3 --json`), since no command has a flag of the same name.
// BAD_REQUEST for a malformed or unknown global flag, or a missing command.
Result<CtlCommandLine> ParseCtlCommandLine(int argc, const char* const* argv);

// The request for `command`, taking every flag it knows from `flags`. BAD_REQUEST naming the
// flag when a required one is missing or a value is malformed or not one of the choices, and for
// an unknown command or a flag the command does not take. Leaves request_id empty unless
// --request-id is given (the Client then picks a fresh one).
Result<pb::Request> BuildRequest(std::string_view command, Flags& flags);

// True for the commands that change state (their retries need the same request id).
bool CtlCommandWrites(std::string_view command);

// The response as text ending in a newline: the event as an aligned block (and its history), a
// list as a table, statistics as counters and the three rates. An error response reads
// "NOT_FOUND: no event 17". With `json`, the whole response as one line of protobuf JSON with the
// .proto field names. `city` may be nullptr: ids instead of names, local time at +08:00.
std::string FormatResponse(std::string_view command, const pb::Response& response, const City* city,
                           bool json);

}  // namespace whistle
