#include "dispatcher/tickets.h"

#include <charconv>
#include <vector>

#include <fmt/format.h>
#include <sodium.h>

#include "whistle/check.h"

namespace whistle {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr std::string_view kDerivationContext = "whistle console ticket key v1";

void InitSodium() { WHISTLE_CHECK(sodium_init() >= 0, "libsodium failed to initialise"); }

std::string Mac(const std::array<unsigned char, TicketSigner::kKeyBytes>& key, std::string_view text) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(text.data()), text.size(), key.data());
  char hex[sizeof(mac) * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  return std::string(hex, sizeof(mac) * 2);
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

TicketSigner TicketSigner::FromSecret(std::string_view secret) {
  InitSodium();
  TicketSigner t;
  // BLAKE2b keyed with the secret over a fixed context: the ticket key reveals nothing of it.
  int derived = crypto_generichash(t.key_.data(), t.key_.size(),
                                   reinterpret_cast<const unsigned char*>(kDerivationContext.data()),
                                   kDerivationContext.size(), reinterpret_cast<const unsigned char*>(secret.data()),
                                   std::min<size_t>(secret.size(), crypto_generichash_KEYBYTES_MAX));
  WHISTLE_CHECK(derived == 0, "deriving the ticket key failed");
  return t;
}

TicketSigner TicketSigner::Random() {
  InitSodium();
  TicketSigner t;
  randombytes_buf(t.key_.data(), t.key_.size());
  return t;
}

std::string TicketSigner::Issue(const TicketClaims& c) const {
  std::string text = fmt::format("{}.{}.{}.{}", kVersion, c.principal, c.principal_created_at_ms, c.expires_at_ms);
  return text + "." + Mac(key_, text);
}

Result<TicketClaims> TicketSigner::Verify(std::string_view ticket, int64_t now_ms) const {
  // Principal names are [a-z0-9._-]: split from the right, where the fields are numbers.
  size_t mac_dot = ticket.rfind('.');
  if (!ticket.starts_with("v1.") || mac_dot == std::string_view::npos) {
    return Unauthenticated("the console ticket is not a whistle ticket");
  }
  std::string_view text = ticket.substr(0, mac_dot);
  std::string expected = Mac(key_, text);
  std::string_view mac = ticket.substr(mac_dot + 1);
  if (mac.size() != expected.size() || sodium_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return Unauthenticated("the console ticket was not issued by this dispatcher (or its key changed)");
  }
  // Issued by us, so well formed: v1.<name>.<created>.<expires>.
  size_t expires_dot = text.rfind('.');
  size_t created_dot = text.rfind('.', expires_dot - 1);
  TicketClaims c;
  c.principal = std::string(text.substr(3, created_dot - 3));
  if (!ParseInt(text.substr(created_dot + 1, expires_dot - created_dot - 1), &c.principal_created_at_ms) ||
      !ParseInt(text.substr(expires_dot + 1), &c.expires_at_ms)) {
    return Unauthenticated("the console ticket is malformed");
  }
  if (now_ms >= c.expires_at_ms) return Unauthenticated("the console ticket has expired: ask for a new one");
  return c;
}

}  // namespace whistle
