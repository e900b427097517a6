#pragma once
// The closed set of market mechanisms. Adding a mechanism means adding its
// class here and its execution in engine/settlement; researchers add agents
// (an open set) far more often than mechanisms.
#include <limits>
#include <variant>

#include "markets/cpmm.hpp"
#include "markets/lending.hpp"
#include "markets/perp_gmx.hpp"
#include "markets/perp_gtrade.hpp"
#include "markets/perp_vamm.hpp"
#include "markets/twamm.hpp"

namespace defisim::markets {

using MarketParams = std::variant<CpmmParams, TwammParams, LendingParams, GmxParams, GtradeParams, VammParams>;
using Market = std::variant<Cpmm, Twamm, Lending, GmxPool, GtradeVault, Vamm>;

// A perpetual pool (gmx_glp, gtrade_vault, vamm)?
inline bool is_perp(const MarketParams& params) {
  return std::holds_alternative<GmxParams>(params) || std::holds_alternative<GtradeParams>(params) ||
         std::holds_alternative<VammParams>(params);
}
inline bool is_perp(const Market& market) {
  return std::holds_alternative<GmxPool>(market) || std::holds_alternative<GtradeVault>(market) ||
         std::holds_alternative<Vamm>(market);
}

// The constant-product pool a market trades through, if it has one: a cpmm is
// one, a twamm embeds one, a lending market or a perpetual pool has none. Swappers, arbitrageurs,
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
// A gmx pool: its pool amounts, fee reserves and shorts' collateral; a gtrade
// vault: the vault's assets and the open trades' collateral (its protocol
// fees leave it); a vamm: the margins, the insurance fund and the toll pool.
inline double holdings_of(const Market& market, core::AssetIndex asset) {
  if (const auto* twamm = std::get_if<Twamm>(&market)) return twamm->holdings_of(asset);
  if (const auto* lending = std::get_if<Lending>(&market)) return lending->holdings_of(asset);
  if (const auto* gmx = std::get_if<GmxPool>(&market)) return gmx->holdings(asset);
  if (const auto* gtrade = std::get_if<GtradeVault>(&market)) {
    return asset == gtrade->params().collateral_asset ? gtrade->vault_assets() + gtrade->collateral_held() : 0.0;
  }
  if (const auto* vamm = std::get_if<Vamm>(&market)) {
    return asset == vamm->params().quote_asset ? vamm->holdings() : 0.0;
  }
  return std::get<Cpmm>(market).reserve_of(asset);
}

// The LP shares a market has issued (a pool's, a gmx pool's GLP, a gtrade
// vault's), or NaN for a market without them (lending, vamm).
inline double total_lp_shares(const Market& market) {
  if (const Cpmm* pool = constant_product_pool_if(market)) return pool->total_shares();
  if (const auto* gmx = std::get_if<GmxPool>(&market)) return gmx->total_supply();
  if (const auto* gtrade = std::get_if<GtradeVault>(&market)) return gtrade->total_shares();
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace defisim::markets
