#pragma once
// The closed set of market mechanisms. Adding a mechanism means adding its
// class here and its execution in engine/settlement; researchers add agents
// (an open set) far more often than mechanisms.
#include <variant>

#include "markets/cpmm.hpp"
#include "markets/lending.hpp"
#include "markets/twamm.hpp"

namespace defisim::markets {

using MarketParams = std::variant<CpmmParams, TwammParams, LendingParams>;
using Market = std::variant<Cpmm, Twamm, Lending>;

// The constant-product pool a market trades through, if it has one: a cpmm is
// one, a twamm embeds one, a lending market has none. Swappers, arbitrageurs,
// searchers and LPs read and trade it.
inline const Cpmm* constant_product_pool_if(const Market& market) {
  if (const auto* twamm = std::get_if<Twamm>(&market)) return &twamm->pool();
  return std::get_if<Cpmm>(&market);
}
inline Cpmm* constant_product_pool_if(Market& market) {
  if (auto* twamm = std::get_if<Twamm>(&market)) return &twamm->pool();
  return std::get_if<Cpmm>(&market);
}
// The pool of a market known to have one (resolved when the world is built).
inline const Cpmm& constant_product_pool(const Market& market) {
  if (const auto* twamm = std::get_if<Twamm>(&market)) return twamm->pool();
  return std::get<Cpmm>(market);
}
inline Cpmm& constant_product_pool(Market& market) {
  if (auto* twamm = std::get_if<Twamm>(&market)) return twamm->pool();
  return std::get<Cpmm>(market);
}
// Its parameters, or nullptr for a market without a pool.
inline const CpmmParams* constant_product_params(const MarketParams& params) {
  if (const auto* twamm = std::get_if<TwammParams>(&params)) return &twamm->pool;
  return std::get_if<CpmmParams>(&params);
}

// Does the market move by itself from block to block (a twamm whose
// long-term orders are selling or will start)? Then its state changes every
// block without a transaction: the engine cannot skip such blocks, and an
// agent watching it would be woken every block anyway. (A lending market's
// interest accrues with time too, but its state is read through projections
// to the current time; its auctions are reset by the engine each block.)
inline bool moves_between_blocks(const Market& market) {
  const auto* twamm = std::get_if<Twamm>(&market);
  return twamm != nullptr && twamm->has_active_orders();
}

// Every token of `asset` the market holds: a cpmm's reserve; a twamm's
// reserve plus its order pools' unsold input and unwithdrawn proceeds; a
// lending market's cash plus collateral in auctions or kept by the protocol.
// What the conservation check sums.
inline double holdings_of(const Market& market, core::AssetIndex asset) {
  if (const auto* twamm = std::get_if<Twamm>(&market)) return twamm->holdings_of(asset);
  if (const auto* lending = std::get_if<Lending>(&market)) return lending->holdings_of(asset);
  return std::get<Cpmm>(market).reserve_of(asset);
}

}  // namespace defisim::markets
