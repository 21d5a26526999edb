#include "dispatcher/privacy.h"

namespace whistle {

void StripPersonalData(pb::Report* report) {
  report->clear_contact_name();
  report->clear_contact_phone();
  report->clear_contact_email();
  report->clear_device_id();
  report->clear_account_id();
}

}  // namespace whistle
