#include "agents/perp_lp.hpp"

namespace defisim::agents {

AgentType perp_lp_type() {
  return {"perp_lp", "(being written)", {}, [](const config::ConfigNode& node, const WorldNames&) -> std::shared_ptr<const AgentParams> {
            node.fail("perp_lp is not built yet");
          }};
}

}  // namespace defisim::agents
