// The test city (tests/testing/test_city.h) dressed for Open311: "water" and "noise" gain the
// service fields and attributes a GeoReport client sees, and a few departments and grids get
// names that differ from their ids, so tests can tell a name from an id.
//
//   water: description, group "infrastructure", keywords leak, pipe;
//          attributes kind (singlevaluelist, required, order 2: leak/burst),
//                     households (number, optional, order 1)
//   noise: attributes sources (multivaluelist: traffic/music/building), since (datetime)
//   departments: s-office is "Street Office", k-bureau "County Bureau"
//   grids: kGrid2 is named "东山网格"
#pragma once

#include <memory>
#include <utility>

#include "dispatcher/city.h"
#include "tests/testing/test_city.h"

namespace whistle::testing {

inline pb::ServiceAttribute* AddAttribute(pb::Category* c, const char* code,
                                          pb::ServiceAttribute::Datatype type, bool required,
                                          int order) {
  pb::ServiceAttribute* a = c->add_attributes();
  a->set_code(code);
  a->set_datatype(type);
  a->set_required(required);
  a->set_order(order);
  a->set_description(std::string("question ") + code);
  return a;
}

inline void AddValue(pb::ServiceAttribute* a, const char* key, const char* name) {
  pb::AttributeValue* v = a->add_values();
  v->set_key(key);
  v->set_name(name);
}

inline pb::CityConfig Open311CityConfig() {
  using A = pb::ServiceAttribute;
  pb::CityConfig config = TestCityConfig();
  for (pb::Category& c : *config.mutable_categories()) {
    if (c.code() == "water") {
      c.set_name_en("Water supply");
      c.set_description("leaks and bursts");
      c.set_group("infrastructure");
      c.add_keywords("leak");
      c.add_keywords("pipe");
      A* kind = AddAttribute(&c, "kind", A::DATATYPE_SINGLEVALUELIST, true, 2);
      kind->set_datatype_description("pick one");
      AddValue(kind, "leak", "漏水");
      AddValue(kind, "burst", "爆管");
      AddAttribute(&c, "households", A::DATATYPE_NUMBER, false, 1);
    } else if (c.code() == "noise") {
      A* sources = AddAttribute(&c, "sources", A::DATATYPE_MULTIVALUELIST, false, 1);
      AddValue(sources, "traffic", "交通");
      AddValue(sources, "music", "音乐");
      AddValue(sources, "building", "施工");
      AddAttribute(&c, "since", A::DATATYPE_DATETIME, false, 2);
    }
  }
  for (pb::Department& d : *config.mutable_departments()) {
    if (d.id() == "s-office") d.set_name("Street Office");
    if (d.id() == "k-bureau") d.set_name("County Bureau");
  }
  for (pb::Region& r : *config.mutable_regions()) {
    if (r.code() == kGrid2) r.set_name("东山网格");
  }
  return config;
}

// REQUIRES: `config` is valid (the test would be meaningless otherwise).
inline std::shared_ptr<const City> BuildOpen311City(pb::CityConfig config = Open311CityConfig()) {
  auto city = City::Build(std::move(config));
  WHISTLE_CHECK(city.ok(), "test city: %s", city.status().ToString().c_str());
  return *city;
}

}  // namespace whistle::testing
