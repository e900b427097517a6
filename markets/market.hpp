#pragma once
// The closed set of market mechanisms. Adding a mechanism means adding its
// class here and its execution in engine/settlement; researchers add agents
// (an open set) far more often than mechanisms.
#include <variant>

#include "markets/cpmm.hpp"

namespace defisim::markets {

using MarketParams = std::variant<CpmmParams>;
using Market = std::variant<Cpmm>;

// The constant-product pool a market trades through: a cpmm is one.
// Swappers, arbitrageurs, searchers and LPs read and trade it.
inline const Cpmm& constant_product_pool(const Market& market) { return std::get<Cpmm>(market); }
inline Cpmm& constant_product_pool(Market& market) { return std::get<Cpmm>(market); }
// Its parameters, or nullptr if the market has no constant-product pool.
inline const CpmmParams* constant_product_params(const MarketParams& params) {
  return std::get_if<CpmmParams>(&params);
}

}  // namespace defisim::markets
