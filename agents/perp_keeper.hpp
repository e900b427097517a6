#pragma once
// (being written)
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_keeper_type();

}  // namespace defisim::agents
