#include "agents/perp_arbitrageur.hpp"

namespace defisim::agents {

AgentType perp_arbitrageur_type() {
  return {"perp_arbitrageur", "(being written)", {}, [](const config::ConfigNode& node, const WorldNames&) -> std::shared_ptr<const AgentParams> {
            node.fail("perp_arbitrageur is not built yet");
          }};
}

}  // namespace defisim::agents
