#pragma once
// The closed set of market mechanisms. Adding a mechanism means adding its
// class here and its execution in engine/settlement; researchers add agents
// (an open set) far more often than mechanisms.
#include <variant>

#include "markets/cpmm.hpp"

namespace defisim::markets {

using MarketParams = std::variant<CpmmParams>;
using Market = std::variant<Cpmm>;

}  // namespace defisim::markets
