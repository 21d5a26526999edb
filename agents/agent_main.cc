// whistle-agent: the duty desk of one or many departments.
//
//   whistle-agent --front=ENDPOINT --bus=ENDPOINT (--departments=ID,ID,... | --all-departments
//                 [--level=community|street|county|city] [--config=FILE])
//                 [--key=FILE] [--name=NAME] [--duration-s=60] [--time-scale=1] [--seed=N]
//                 [--lapse-share=0.1] [--return-share=0.03] [--whistle-share=0.03]
//                 [--unresolved-share=0.05] [--claim-only] [--eager] [--until-claims=N]
//
// --key is the desk's CURVE key file: a principal of role agent acting for the departments.
// --eager acts at once (claim, progress, resolve without waiting); the shares still apply.
//
// Prints one line of counts when it ends (after --duration-s, or once --until-claims claims
// were decided, won or lost).
#include <iostream>

#include <fmt/format.h>

#include "agents/agent.h"
#include "dispatcher/city_loader.h"
#include "tools/flags.h"

int main(int argc, char** argv) {
  using namespace whistle;
  auto usage = [](std::string_view problem) {
    std::cerr << "whistle-agent: " << problem << "\nsee the header of agents/agent_main.cc for flags\n";
    return 2;
  };
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return usage(flags.status().message());
  std::string front = flags->TakeString("front", "tcp://127.0.0.1:5570");
  std::string bus = flags->TakeString("bus", "tcp://127.0.0.1:5571");
  std::string list = flags->TakeString("departments");
  std::string level_name = flags->TakeString("level");
  std::string config = flags->TakeString("config");
  std::string name = flags->TakeString("name", "agent");
  std::string key_file = flags->TakeString("key");
  auto all = flags->TakeBool("all-departments");
  auto duration = flags->TakeDouble("duration-s", 60, 0, 1e7);
  AgentBehaviour b;
  auto scale = flags->TakeDouble("time-scale", 1, 1e-3, 1e6);
  auto seed = flags->TakeInt("seed", 1, 0, INT64_MAX);
  auto lapse = flags->TakeDouble("lapse-share", b.lapse_share, 0, 1);
  auto ret = flags->TakeDouble("return-share", b.return_share, 0, 1);
  auto whistle = flags->TakeDouble("whistle-share", b.whistle_share, 0, 1);
  auto unresolved = flags->TakeDouble("unresolved-share", b.unresolved_share, 0, 1);
  auto claim_only = flags->TakeBool("claim-only");
  auto eager = flags->TakeBool("eager");
  auto until_claims = flags->TakeInt("until-claims", 0, 0, INT64_MAX);
  for (const Status& s : {all.status(), duration.status(), scale.status(), seed.status(), lapse.status(),
                          ret.status(), whistle.status(), unresolved.status(), claim_only.status(), eager.status(),
                          until_claims.status(), flags->CheckAllTaken()}) {
    if (!s.ok()) return usage(s.message());
  }
  b.time_scale = *scale;
  b.seed = static_cast<uint64_t>(*seed);
  b.lapse_share = *lapse;
  b.return_share = *ret;
  b.whistle_share = *whistle;
  b.unresolved_share = *unresolved;
  b.claim_only = *claim_only;
  b.eager = *eager;

  auto credentials = ReadCredentials(key_file);
  if (!credentials.ok()) return usage(credentials.status().ToString());
  b.credentials = std::move(credentials).value();
  std::vector<std::string> listed = SplitCommaList(list);
  std::set<std::string> departments(listed.begin(), listed.end());
  if (*all) {
    auto city = LoadCity(config);
    if (!city.ok()) return std::cerr << "whistle-agent: " << city.status().ToString() << "\n", 1;
    for (const auto& d : (*city)->config().departments()) {
      if (level_name.empty() || LevelName(d.level()) == level_name) departments.insert(d.id());
    }
  }
  if (departments.empty()) return usage("no departments: give --departments or --all-departments");

  zmq::context_t context;
  Agent agent(context, front, bus, name, departments, b);
  if (Status s = agent.Start(); !s.ok()) return std::cerr << "whistle-agent: " << s.ToString() << "\n", 1;
  std::cout << "agent " << name << " ready" << std::endl;  // following the bus from here on
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(*duration * 1000));
  uint64_t target = static_cast<uint64_t>(*until_claims);
  Status s = agent.RunUntil(until, [&](const AgentCounts& c) {
    return target > 0 && c.claims_won + c.claims_lost >= target;
  });
  const AgentCounts& c = agent.counts();
  std::cout << fmt::format("agent {}: departments {} offers {} won {} lost {} returns {} whistles {} "
                           "resolves {} refused {}\n",
                           name, departments.size(), c.offers, c.claims_won, c.claims_lost, c.returns,
                           c.whistles, c.resolves, c.refused);
  for (const auto& [message, n] : c.lost_to) std::cout << fmt::format("  lost {}: {}\n", n, message);
  if (!s.ok()) return std::cerr << "whistle-agent: " << s.ToString() << "\n", 1;
  return 0;
}
