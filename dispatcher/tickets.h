// Console tickets: how a person logs in to the operations console as a principal of the bus.
//
// A principal asks the dispatcher for a ticket over its own CURVE connection (whistlectl
// console-ticket); it pastes the ticket into the console's login form; the console, a principal
// of role console, sends it along with every request it makes for that person
// (Request.acting_ticket). The dispatcher checks the ticket on every such request and the
// request then acts as the ticket's principal, authorized by that principal's role and scope.
// So the console never holds anyone's secret key, cannot act for anyone who did not log in,
// and a revoked principal's tickets stop working at once.
//
// A ticket is "v1.<principal>.<principal created_at_ms>.<expires_at_ms>.<mac>", the MAC an
// HMAC-SHA-256 (libsodium) over everything before it, hex. The key is derived from the
// dispatcher's CURVE secret key, so tickets outlive a restart and die with a new key; a
// --dev-no-auth dispatcher uses a random key per run. Naming the principal's creation time means
// a principal revoked and created again under the same name does not inherit old tickets.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "whistle/status.h"

namespace whistle {

struct TicketClaims {
  std::string principal;
  int64_t principal_created_at_ms = 0;
  int64_t expires_at_ms = 0;
};

class TicketSigner {
 public:
  static constexpr size_t kKeyBytes = 32;

  // A signer whose key is derived from `secret` (the dispatcher's CURVE secret key).
  static TicketSigner FromSecret(std::string_view secret);
  // A signer with a random key (a --dev-no-auth dispatcher).
  static TicketSigner Random();

  std::string Issue(const TicketClaims& claims) const;
  // The claims of a ticket this signer issued, if it has not expired at `now_ms`.
  // UNAUTHENTICATED saying why otherwise.
  Result<TicketClaims> Verify(std::string_view ticket, int64_t now_ms) const;

 private:
  std::array<unsigned char, kKeyBytes> key_{};
};

}  // namespace whistle
