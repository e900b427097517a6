#pragma once
// (being written)
#include "agents/registry.hpp"

namespace defisim::agents {

AgentType perp_lp_type();

}  // namespace defisim::agents
