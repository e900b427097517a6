#include "agents/perp_trader.hpp"

namespace defisim::agents {

AgentType perp_trader_type() {
  return {"perp_trader", "(being written)", {}, [](const config::ConfigNode& node, const WorldNames&) -> std::shared_ptr<const AgentParams> {
            node.fail("perp_trader is not built yet");
          }};
}

}  // namespace defisim::agents
