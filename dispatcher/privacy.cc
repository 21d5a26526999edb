#include "dispatcher/privacy.h"

#include <string>
#include <utility>

namespace whistle {

void StripPersonalData(pb::Record* record) {
  if (record->has_submitted()) StripPersonalData(record->mutable_submitted()->mutable_report());
  if (record->has_principal_created()) {
    pb::Principal* p = record->mutable_principal_created()->mutable_principal();
    std::string name = std::move(*p->mutable_name());
    p->Clear();
    p->set_name(std::move(name));
  }
  if (record->has_principal_revoked()) record->mutable_principal_revoked()->clear_reason();
}

void StripPersonalData(pb::Report* report) {
  report->clear_contact_name();
  report->clear_contact_phone();
  report->clear_contact_email();
  report->clear_device_id();
  report->clear_account_id();
}

void StripPersonalData(pb::Response* response) {
  switch (response->result_case()) {
    case pb::Response::kEvent:
      StripPersonalData(response->mutable_event()->mutable_event()->mutable_report());
      for (pb::Record& r : *response->mutable_event()->mutable_history()) StripPersonalData(&r);
      break;
    case pb::Response::kList:
      for (pb::Event& e : *response->mutable_list()->mutable_events()) {
        StripPersonalData(e.mutable_report());
      }
      break;
    case pb::Response::kLog:
      for (pb::Record& r : *response->mutable_log()->mutable_records()) StripPersonalData(&r);
      break;
    default:
      break;  // nothing else carries a report
  }
}

bool MaySeePersonalData(const pb::Actor& actor) {
  // Never through the console, even for an admin logged in to it: its pages show no contacts.
  if (!actor.via().empty()) return false;
  return actor.role() == pb::ROLE_ADMIN || actor.role() == pb::ROLE_DEV;
}

}  // namespace whistle
