// Personal data in a report: the reporter's contact details and device and account ids. The
// store keeps them (the hotline may need to call back); nothing published or answered to a third
// party carries them. Only admins (and a --dev-no-auth dispatcher's clients) are answered them.
// The same goes for the principal directory: a PrincipalCreated or PrincipalRevoked record, in the
// log or on the bus, carries only the principal's name for anyone else (its role, departments,
// region, key, creator and note, and why it was revoked, are for ListPrincipals, which is admin's).
#pragma once

#include "whistle/event.pb.h"
#include "whistle/wire.pb.h"

namespace whistle {

// Clears every personal field of `report`: contact name, phone and email, device and account id.
void StripPersonalData(pb::Report* report);
// Clears them from the report a record carries (a Submitted record's), and a principal record's
// body down to the principal's name.
void StripPersonalData(pb::Record* record);
// Clears them from every report in a response: event views, their history, lists, the log.
void StripPersonalData(pb::Response* response);
// Whether answers to this actor may carry personal data.
bool MaySeePersonalData(const pb::Actor& actor);

}  // namespace whistle
