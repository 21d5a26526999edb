// Console tickets (dispatcher/tickets.h): issued and checked by the dispatcher's key alone.
#include <doctest/doctest.h>

#include "dispatcher/tickets.h"

namespace whistle {
namespace {

constexpr int64_t kNow = 1'795'395'600'000;

TEST_CASE("a ticket names its principal until it expires, and only for the key that made it") {
  TicketSigner signer = TicketSigner::FromSecret("server secret key z85 forty characters..");
  std::string ticket = signer.Issue({"sup.east-1", 1234, kNow + 1000});
  auto claims = signer.Verify(ticket, kNow);
  REQUIRE_MESSAGE(claims.ok(), claims.status().ToString());
  CHECK(claims->principal == "sup.east-1");  // dots in names survive the dotted format
  CHECK(claims->principal_created_at_ms == 1234);
  CHECK(claims->expires_at_ms == kNow + 1000);

  // The same secret gives the same key (tickets outlive a restart); another secret does not.
  CHECK(TicketSigner::FromSecret("server secret key z85 forty characters..").Verify(ticket, kNow).ok());
  auto other = TicketSigner::FromSecret("another server's secret key...........").Verify(ticket, kNow);
  CHECK(other.status().code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(other.status().message() == "the console ticket was not issued by this dispatcher (or its key changed)");
  CHECK_FALSE(TicketSigner::Random().Verify(ticket, kNow).ok());

  auto expired = signer.Verify(ticket, kNow + 1000);
  CHECK(expired.status().code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(expired.status().message() == "the console ticket has expired: ask for a new one");
}

TEST_CASE("a changed, cut or made-up ticket is refused") {
  TicketSigner signer = TicketSigner::Random();
  std::string ticket = signer.Issue({"sup-1", 1, kNow + 60'000});
  REQUIRE(signer.Verify(ticket, kNow).ok());
  std::string later = ticket;
  later.replace(later.find(std::to_string(kNow + 60'000)), 13, std::to_string(kNow + 99'000'000));
  std::string renamed = ticket;
  renamed.replace(3, 5, "admin");
  std::string flipped = ticket;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  for (const std::string& bad : {later, renamed, flipped, ticket.substr(0, ticket.size() - 1), std::string(),
                                 std::string("v1"), std::string("v1...."), std::string("v2.sup-1.1.2.ab"),
                                 ticket + "00"}) {
    CAPTURE(bad);
    auto verified = signer.Verify(bad, kNow);
    CHECK(verified.status().code() == pb::STATUS_UNAUTHENTICATED);
  }
}

}  // namespace
}  // namespace whistle
