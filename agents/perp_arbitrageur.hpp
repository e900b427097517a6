#pragma once
// (being written)
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_arbitrageur_type();

}  // namespace defisim::agents
