#include "agents/perp_keeper.hpp"

namespace defisim::agents {

AgentType perp_keeper_type() {
  return {"perp_keeper", "(being written)", {}, [](const config::ConfigNode& node, const WorldNames&) -> std::shared_ptr<const AgentParams> {
            node.fail("perp_keeper is not built yet");
          }};
}

}  // namespace defisim::agents
