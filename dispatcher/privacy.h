// Personal data in a report: the reporter's contact details and device and account ids. The
// store keeps them (the hotline may need to call back); nothing published or answered to a third
// party carries them.
#pragma once

#include "whistle/event.pb.h"

namespace whistle {

// Clears every personal field of `report`: contact name, phone and email, device and account id.
void StripPersonalData(pb::Report* report);

}  // namespace whistle
